/** @file The contract between a loaded CLIP model and the workflows (eval, index, server). */

/** Row-major [n, dim] float32 embeddings. */
export interface Embeddings {
  data: Float32Array;
  n: number;
  dim: number;
}

/** Options of the lower-level `encodeTexts` / `encodeImages` / `encodePixels`. */
export interface EncodeOptions {
  /** L2-normalize each row (default true). */
  normalize?: boolean;
  /** Called after each batch with the number of items done so far. */
  onProgress?: (done: number, total: number) => void;
}

/** Images encoded with bad inputs left out: rows for the inputs with `ok[i]`, in input order. */
export interface PartialEmbeddings {
  /** [count of ok, dim] rows, in input order. */
  embeddings: Embeddings;
  /** Per input: whether it was read and decoded. */
  ok: boolean[];
  /** Per input: null, or one line naming the input and why it could not be used. */
  errors: (string | null)[];
}

/** What workflows need from a model; `ClipModel` implements it. */
export interface Embedder {
  readonly embedDim: number;
  /** exp(logit_scale) as stored in the checkpoint. */
  readonly logitScale: number;
  /** Image side length the model expects. */
  readonly imageSize: number;
  encodeTexts(texts: string[], opts?: EncodeOptions): Promise<Embeddings>;
  /** Images as file paths or encoded bytes; decoded and preprocessed with the checkpoint's preprocess_cfg. */
  encodeImages(images: (string | Uint8Array)[], opts?: EncodeOptions): Promise<Embeddings>;
  /**
   * Like encodeImages, but an input that cannot be read or decoded is left out and reported
   * instead of failing the call. Optional: workflows fall back to encodeImages without it.
   */
  encodeImagesSkipping?(images: (string | Uint8Array)[], opts?: EncodeOptions & { names?: string[] }): Promise<PartialEmbeddings>;
  /** Already preprocessed pixels, [n, 3, imageSize, imageSize] row-major. */
  encodePixels(pixels: Float32Array, n: number, opts?: EncodeOptions): Promise<Embeddings>;
}
