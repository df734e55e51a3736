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
  /** Already preprocessed pixels, [n, 3, imageSize, imageSize] row-major. */
  encodePixels(pixels: Float32Array, n: number, opts?: EncodeOptions): Promise<Embeddings>;
}
