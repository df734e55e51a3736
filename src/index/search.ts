/**
 * @file Search: a query (text, image, an indexed image, and combinations of them) becomes one
 * normalized vector, and LanceDB finds its nearest rows (flat, exact search by default; the
 * IVF-PQ index when the table has one), with SQL filters on the metadata.
 */
import type { ClipModel, ImageInput } from "../clip/model.js";
import { normalizeRows } from "../util/vector.js";
import { UserError } from "../errors.js";
import { checkSameModel, type IdentifiedModel, modelIdentity } from "./identity.js";
import { META_COLUMNS, metaFromRecord, type ImageMeta } from "./schema.js";
import type { ClipIndex } from "./store.js";

/**
 * What to look for. The query vector is the sum of the normalized embeddings of `text`, `image`,
 * `like` and each `and`, minus those of each `not` (times `notWeight`), normalized again.
 */
export interface SearchQuery {
  /** Describe the images to find. */
  text?: string;
  /** Find images like this one (a path, encoded bytes or RGB pixels); embedded with the model. */
  image?: ImageInput;
  /** Find images like an indexed one, by row id or path, from its stored embedding (no model needed). */
  like?: string;
  /** More texts to add to the query. */
  and?: string[];
  /** Texts to move away from. */
  not?: string[];
  /** Weight of each `not` term (default 1). */
  notWeight?: number;
  /** Results wanted (default 10). */
  k?: number;
  /** Drop results whose cosine similarity is below this. */
  minScore?: number;
  /** A LanceDB SQL filter on the metadata columns, e.g. `folder = 'trips/2023' AND width >= 1000`. */
  where?: string;
  /** Scan every row even when an IVF-PQ index exists. */
  exact?: boolean;
  /** IVF partitions to probe (ANN only; default 40). */
  nprobes?: number;
  /**
   * Re-rank refineFactor * k ANN candidates with the full vectors (ANN only; default 50: at 4,
   * recall@10 was 0.54 on noisy copies of real embeddings, at 50 it was 1.0; bench/README.md).
   */
  refineFactor?: number;
}

/** One result: the row's metadata and its cosine similarity to the query. */
export interface SearchHit extends ImageMeta {
  score: number;
}

/** Results best first, and how they were found. */
export interface SearchResponse {
  results: SearchHit[];
  /** "exact" (a flat scan in LanceDB) or the ANN index type used ("IvfPq"). */
  method: string;
}

/** What a search needs from a model: `ClipModel` and `ThreadedClipModel` both have it. */
export type SearchModel = IdentifiedModel & Pick<ClipModel, "embedTexts" | "embedImages">;

const checked = new WeakMap<SearchModel, string>();

/** Throws a UserError unless `model` is the one the index was built with (checked once per model and index). */
export async function checkModel(index: ClipIndex, model: SearchModel): Promise<void> {
  const rec = index.identity;
  if (!rec || checked.get(model) === rec.fingerprint) return;
  checkSameModel(rec, await modelIdentity(model, rec), index.uri);
  checked.set(model, rec.fingerprint);
}

/** The normalized query vector of `q` (see SearchQuery). `model` is needed for texts and images. */
export async function queryVector(index: ClipIndex, model: SearchModel | undefined, q: SearchQuery): Promise<Float32Array> {
  const texts = [...(q.text !== undefined ? [q.text] : []), ...(q.and ?? [])];
  const nots = q.not ?? [];
  const terms: { v: Float32Array; w: number }[] = [];
  if (texts.length || nots.length || q.image !== undefined) {
    if (!model) throw new UserError("this query needs the model (texts and images are embedded): pass one");
    await checkModel(index, model);
    if (texts.length || nots.length) {
      const e = await model.embedTexts([...texts, ...nots]);
      const d = e.dims[1];
      for (let i = 0; i < texts.length + nots.length; i++) terms.push({ v: e.data.subarray(i * d, (i + 1) * d), w: i < texts.length ? 1 : -(q.notWeight ?? 1) });
    }
    if (q.image !== undefined) terms.push({ v: (await model.embedImages([q.image])).data, w: 1 });
  }
  if (q.like !== undefined) {
    const row = await index.find(q.like);
    if (!row) throw new UserError(`--like ${q.like}: no indexed image has this id or path in ${index.uri}`);
    terms.push({ v: row.vector, w: 1 });
  }
  if (!terms.length) throw new UserError("empty query: give a text, an image or an indexed image to search like");
  if (!terms.some((t) => t.w > 0)) throw new UserError("a query of only --not terms has nothing to look for: add a text, an image or --like");
  const dim = index.identity!.embed_dim;
  const v = new Float32Array(dim);
  for (const t of terms) {
    if (t.v.length !== dim) throw new UserError(`query embedding has ${t.v.length} dimensions, the index ${dim}`);
    for (let j = 0; j < dim; j++) v[j] += t.w * t.v[j]!;
  }
  return normalizeRows(v, dim);
}

/** The useful part of a LanceDB filter error (the parser's complaint, without the Rust source locations). */
function sqlProblem(message: string): string {
  const m = /\((sql parser error: [^)]*)\)/.exec(message) ?? /(No field named .*?)(?:, \/|$)/m.exec(message);
  return m ? m[1]! : message.split(/, \/|\n/)[0]!.slice(0, 300);
}

/**
 * The nearest rows to a normalized vector, searched in LanceDB. Rows and query are normalized, so
 * LanceDB's dot distance (1 - dot) gives the cosine similarity as 1 - distance, without the norm
 * computations its "cosine" distance adds to a flat scan; an ANN index is queried with the cosine
 * distance it was built for.
 */
export async function searchVector(index: ClipIndex, vector: Float32Array, q: Omit<SearchQuery, "text" | "image" | "like" | "and" | "not"> = {}): Promise<SearchResponse> {
  const k = q.k ?? 10;
  const ann = q.exact ? undefined : await index.annIndex();
  let query = index.table.query().nearestTo(vector).distanceType(ann ? "cosine" : "dot").limit(k).select([...META_COLUMNS, "_distance"]);
  if (q.where) query = query.where(q.where);
  if (ann) query = query.nprobes(q.nprobes ?? 40).refineFactor(q.refineFactor ?? 50);
  else query = query.bypassVectorIndex();
  let rows: Record<string, unknown>[];
  try {
    rows = (await query.toArray()) as Record<string, unknown>[];
  } catch (e) {
    if (q.where) throw new UserError(`--where ${q.where}: ${sqlProblem((e as Error).message)}`);
    throw e;
  }
  const results = rows
    .map((r) => ({ ...metaFromRecord(r), score: 1 - Number(r._distance) }))
    .filter((h) => q.minScore === undefined || h.score >= q.minScore);
  return { results, method: ann ?? "exact" };
}

/**
 * Searches the index: builds the query vector (see SearchQuery) and finds its nearest rows in
 * LanceDB, best first, with cosine similarity as `score`.
 *
 * ```ts
 * const index = await openIndex("photos.lance");
 * const model = await ClipModel.load(index.identity!.model_path);
 * const { results } = await search(index, model, { text: "a dog on a beach", k: 5 });
 * ```
 */
export async function search(index: ClipIndex, model: SearchModel | undefined, q: SearchQuery): Promise<SearchResponse> {
  if (!index.exists) throw new UserError(`${index.uri}: no index here yet (run clip index --db ${index.uri} ... first)`);
  return searchVector(index, await queryVector(index, model, q), q);
}
