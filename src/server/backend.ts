/**
 * @file SearchBackend: what `/v1/search` and `/v1/images/:id` need from a vector index. The server
 * is generic over it; `clip serve --db PATH` wires it to the LanceDB index (src/index/), tests to
 * an in-memory one. Nothing a client sends is ever used as a file path: images are fetched by id.
 */

/** A search as `clip search` takes it. At least one of text, image and like is set. */
export interface SearchQuery {
  /** Query text (`q`). */
  text?: string;
  /** Encoded image file bytes (its headers already checked against the pixel limit). */
  image?: Uint8Array;
  /** Id of an indexed image: "more like this". */
  like?: string;
  /** Texts added to the query vector. */
  and?: string[];
  /** Texts subtracted from the query vector. */
  not?: string[];
  /** Results wanted (1..maxK). */
  k: number;
  /** Drop results scoring below this cosine similarity. */
  minScore?: number;
  /** A filter over the index's columns, passed to the backend as given. */
  where?: string;
}

/** One hit, best first. Backends may add fields (path, caption, width, ...): they are returned as given. */
export interface SearchResult {
  id: string;
  score: number;
  path?: string;
  [field: string]: unknown;
}

/** What /health reports about the index. */
export interface SearchInfo {
  /** Indexed images. */
  images: number;
  [field: string]: unknown;
}

/** An indexed image's file, looked up by id. */
export interface StoredImage {
  bytes: Uint8Array;
  contentType: string;
}

/**
 * The index behind the search routes. Backends throw UserError for a query they refuse (unknown
 * `like` id, bad filter): the server answers 400 with its message.
 */
export interface SearchBackend {
  search(query: SearchQuery): Promise<SearchResult[]>;
  /** The image stored for `id`, or null when there is none. */
  imageById(id: string): Promise<StoredImage | null>;
  info(): Promise<SearchInfo>;
}

/** Ids the routes accept (path segment of /v1/images/:id, `like`): no dots, slashes or escapes. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
