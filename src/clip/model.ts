/** @file ClipModel: a loaded checkpoint with compiled image and text sessions, implementing Embedder. */
import { UserError } from "../errors.js";
import { ImagePool, preprocessRGB, type BatchResult, type PreprocessConfig, type RGBImage } from "../image/index.js";
import * as T from "../ir/tensor.js";
import { CompiledGraph, type ExecutionProvider, type HostTensor } from "../runtime/session.js";
import { ClipTokenizer, type TruncatePolicy } from "../tokenizer/index.js";
import { collectGarbage } from "../util/gc.js";
import { loadCheckpoint, type LoadedCheckpoint } from "../weights/checkpoint.js";
import type { ClipConfig, PreprocessCfg, StateDict } from "../models/clip/config.js";
import type { EncodeOptions, Embedder, Embeddings } from "./embedder.js";
import { encodeImage, encodeText, paramLeaves } from "../models/clip/towers.js";

export interface ModelOptions {
  /** Intra-op threads of the sessions and image workers (default: all cores). */
  threads?: number;
  executionProvider?: ExecutionProvider;
  /** Rows per session run (default 32). */
  batchSize?: number;
  /** What to do with texts beyond the context length (default "warn"). */
  truncate?: TruncatePolicy;
  /** Receives warnings (default: stderr). */
  onWarning?: (message: string) => void;
  /** Hand the weights to ORT as a mapped file whatever their size (automatic beyond 64 MiB). */
  mapWeights?: boolean;
}

/** The image preprocessing a checkpoint's preprocess_cfg asks for. */
export function imageConfig(p: PreprocessCfg): PreprocessConfig {
  if (p.interpolation !== "bicubic" && p.interpolation !== "bilinear") {
    throw new UserError(`preprocess_cfg.interpolation "${p.interpolation}" is not supported (bicubic or bilinear)`);
  }
  return { size: p.size, mean: p.mean, std: p.std, interpolation: p.interpolation, resizeMode: p.resize_mode, fillColor: p.fill_color };
}

/** L2-normalizes each row of [n, dim] in place. */
export function normalizeRows(data: Float32Array, dim: number): Float32Array {
  for (let o = 0; o < data.length; o += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[o + j] * data[o + j];
    const r = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) data[o + j] *= r;
  }
  return data;
}

/** A row-major float32 matrix: `dims` = [rows, columns]. Embeddings, similarities and logits all take this form. */
export interface Matrix {
  data: Float32Array;
  dims: [number, number];
}

/** An image to embed: a file path, the bytes of an encoded file (JPEG, PNG, GIF, BMP, WebP, ...), or decoded RGB pixels. */
export type ImageInput = string | Uint8Array | RGBImage;

/** Options of `embedImages` / `embedTexts`. */
export interface EmbedOptions {
  /** L2-normalize each row (default true); false gives the towers' raw features. */
  normalize?: boolean;
  /** Called after each batch with the number of inputs done so far. */
  onProgress?: (done: number, total: number) => void;
}

const isEncoded = (x: ImageInput): x is string | Uint8Array => typeof x === "string" || x instanceof Uint8Array;

/**
 * A CLIP checkpoint ready to embed: its weights, tokenizer, image preprocessing and one ONNX Runtime
 * session per tower (each built on first use, so a text-only caller never pays for the image tower).
 *
 * ```ts
 * const model = await ClipModel.load("path/to/checkpoint");
 * const images = await model.embedImages(["cat.jpg"]);
 * const texts = await model.embedTexts(["a photo of a cat", "a photo of a dog"]);
 * const logits = model.logits(images, texts); // [1, 2]: logitScale * cosine
 * await model.dispose();
 * ```
 */
export class ClipModel implements Embedder {
  readonly embedDim: number;
  readonly imageSize: number;
  readonly logitScale: number;
  readonly contextLength: number;
  /** The weights file `load` read (a sharded checkpoint's *.index.json); undefined for a model built in memory. */
  weightsFile?: string;
  private imageGraph?: Promise<CompiledGraph>;
  private textGraph?: Promise<CompiledGraph>;
  private pool?: ImagePool;
  /** Weights not yet handed to a session: a tower's entries go once ORT holds them (the caller's map is untouched). */
  private readonly pending: StateDict;

  constructor(
    readonly config: ClipConfig,
    readonly preprocess: PreprocessCfg,
    state: StateDict,
    /** The tokenizer, or why there is none (images can still be encoded). */
    private readonly tok: ClipTokenizer | UserError,
    private readonly opts: ModelOptions = {},
    readonly source = "<memory>",
  ) {
    this.embedDim = config.embed_dim;
    this.imageSize = config.vision_cfg.image_size;
    this.contextLength = config.text_cfg.context_length;
    this.pending = new Map(state);
    const ls = state.get("logit_scale");
    this.logitScale = ls ? Math.exp(ls.data[0]) : 100;
    if (tok instanceof ClipTokenizer && tok.vocabSize > config.text_cfg.vocab_size) {
      throw new UserError(`${source}: the tokenizer has ${tok.vocabSize} tokens but the model's token_embedding has ${config.text_cfg.vocab_size} rows`);
    }
  }

  /** Loads a checkpoint directory (open_clip, Hugging Face or PyTorch layout) with its tokenizer. */
  static async load(dir: string, opts: ModelOptions = {}): Promise<ClipModel> {
    const ck: LoadedCheckpoint = loadCheckpoint(dir);
    let tokenizer: ClipTokenizer | UserError;
    try {
      tokenizer = await ClipTokenizer.fromDir(ck.dir, { vocabSize: ck.config.text_cfg.vocab_size, contextLength: ck.config.text_cfg.context_length });
    } catch (e) {
      // a checkpoint without vocabulary files still embeds images; texts say what is missing
      if (!(e instanceof UserError)) throw e;
      tokenizer = e;
    }
    const model = new ClipModel(ck.config, ck.preprocess, ck.state, tokenizer, opts, dir);
    model.weightsFile = ck.weightsFile;
    return model;
  }

  private weights(): (name: string) => Float32Array | undefined {
    return (n) => this.pending.get(n)?.data;
  }

  /** Compiles a tower with the pending weights, letting go of that tower's JS copy once ORT has it. */
  private compileTower(features: T.Tensor, visual: boolean): Promise<CompiledGraph> {
    const onWeightsCopied = (): void => {
      for (const k of [...this.pending.keys()]) if (k.startsWith("visual.") === visual && k !== "logit_scale" && k !== "logit_bias") this.pending.delete(k);
      collectGarbage();
    };
    return CompiledGraph.compile({ features }, { weights: this.weights(), threads: this.opts.threads, executionProvider: this.opts.executionProvider, externalData: this.opts.mapWeights, onWeightsCopied });
  }

  private images(): Promise<CompiledGraph> {
    this.imageGraph ??= (() => {
      const S = this.imageSize;
      const pixels = T.input("pixels", "float32", ["B", 3, S, S]);
      return this.compileTower(encodeImage(this.config, pixels, paramLeaves(this.config)), true);
    })();
    return this.imageGraph;
  }

  private texts(): Promise<CompiledGraph> {
    this.textGraph ??= (() => {
      const tokens = T.input("tokens", "int64", ["B", this.contextLength]);
      return this.compileTower(encodeText(this.config, tokens, paramLeaves(this.config)), false);
    })();
    return this.textGraph;
  }

  /** Runs a graph over rows in batches; `slice(i, n)` gives the feed of rows [i, i + n). */
  private async batched(graph: CompiledGraph, total: number, slice: (start: number, n: number) => Record<string, HostTensor>, opts: EncodeOptions): Promise<Embeddings> {
    const bs = this.opts.batchSize ?? 32;
    const out = new Float32Array(total * this.embedDim);
    for (let i = 0; i < total; i += bs) {
      const n = Math.min(bs, total - i);
      const r = await graph.run(slice(i, n));
      out.set(r.features.data as Float32Array, i * this.embedDim);
      opts.onProgress?.(i + n, total);
    }
    if (opts.normalize !== false) normalizeRows(out, this.embedDim);
    return { data: out, n: total, dim: this.embedDim };
  }

  /** The checkpoint's tokenizer; a UserError naming the missing files when it has none. */
  get tokenizer(): ClipTokenizer {
    if (this.tok instanceof UserError) throw this.tok;
    return this.tok;
  }

  /** Token ids [n, context_length] for texts, with the truncation policy. */
  tokenize(texts: string[]): BigInt64Array {
    const { data } = this.tokenizer.tokenizeTensor(texts, {
      contextLength: this.contextLength,
      truncate: this.opts.truncate ?? "warn",
      onWarning: (m) => (this.opts.onWarning ?? ((s: string) => process.stderr.write(`clip: warning: ${s}\n`)))(m),
    });
    const ids = new BigInt64Array(data.length);
    for (let i = 0; i < data.length; i++) ids[i] = BigInt(data[i]);
    return ids;
  }

  async encodeTexts(texts: string[], opts: EncodeOptions = {}): Promise<Embeddings> {
    const ids = this.tokenize(texts);
    return this.encodeTokens(ids, texts.length, opts);
  }

  async encodeTokens(ids: BigInt64Array, n: number, opts: EncodeOptions = {}): Promise<Embeddings> {
    const L = this.contextLength;
    const g = await this.texts();
    return this.batched(g, n, (i, k) => ({ tokens: { data: ids.subarray(i * L, (i + k) * L), shape: [k, L] } }), opts);
  }

  async encodePixels(pixels: Float32Array, n: number, opts: EncodeOptions = {}): Promise<Embeddings> {
    const S = this.imageSize;
    const per = 3 * S * S;
    if (pixels.length !== n * per) throw new UserError(`encodePixels: ${pixels.length} values for ${n} images of [3,${S},${S}] (${n * per} expected)`);
    const g = await this.images();
    return this.batched(g, n, (i, k) => ({ pixels: { data: pixels.subarray(i * per, (i + k) * per), shape: [k, 3, S, S] } }), opts);
  }

  /**
   * Decodes and preprocesses with the checkpoint's preprocess_cfg in worker threads, then encodes;
   * the next batch is preprocessed while the model runs on the current one.
   */
  async encodeImages(images: (string | Uint8Array)[], opts: EncodeOptions = {}): Promise<Embeddings> {
    const out = new Float32Array(images.length * this.embedDim);
    await this.encodeImageBatches(images, { skipBad: false }, (start, rows) => out.set(rows, start * this.embedDim), opts.onProgress);
    if (opts.normalize !== false) normalizeRows(out, this.embedDim);
    return { data: out, n: images.length, dim: this.embedDim };
  }

  /**
   * Embeds many images without giving up on bad ones, handing each batch's rows over as soon as
   * the model has them (so a caller can store them while the next batch runs). An input that
   * cannot be read or decoded gets `ok[i] = false`, a zero row and a message naming it (from
   * `names`, else the path); the others are L2-normalized unless `{ normalize: false }`.
   */
  async embedImageBatches(
    inputs: (string | Uint8Array)[],
    opts: EmbedOptions & { names?: string[] },
    onBatch: (start: number, rows: Matrix, ok: boolean[], errors: string[]) => void | Promise<void>,
  ): Promise<void> {
    await this.encodeImageBatches(inputs, { skipBad: true, names: opts.names }, async (start, rows, ok, errors) => {
      if (opts.normalize !== false) normalizeRows(rows, this.embedDim);
      await onBatch(start, { data: rows, dims: [ok.length, this.embedDim] }, ok, errors);
    }, opts.onProgress);
  }

  /** The batched image loop: workers preprocess batch i + 1 while the model runs batch i. */
  private async encodeImageBatches(
    images: (string | Uint8Array)[],
    bo: { skipBad: boolean; names?: string[] },
    onBatch: (start: number, rows: Float32Array, ok: boolean[], errors: string[]) => void | Promise<void>,
    onProgress?: (done: number, total: number) => void,
  ): Promise<void> {
    const pool = (this.pool ??= new ImagePool(imageConfig(this.preprocess), { threads: this.opts.threads }));
    const bs = this.opts.batchSize ?? 32;
    const S = this.imageSize;
    const graph = await this.images();
    // two reused batch buffers: one being filled by the workers while the model reads the other
    const buffers = [pool.allocBatch(Math.min(bs, images.length)), pool.allocBatch(Math.min(bs, images.length))];
    const prepare = (i: number): Promise<BatchResult> | undefined => {
      if (i >= images.length) return undefined;
      const names = bo.names?.slice(i, i + bs);
      const p = pool.preprocessBatch(images.slice(i, i + bs), { out: buffers[(i / bs) % 2], skipBad: bo.skipBad, names });
      p.catch(() => undefined); // reported when awaited
      return p;
    };
    let next = prepare(0);
    for (let i = 0; i < images.length; i += bs) {
      const n = Math.min(bs, images.length - i);
      const { pixels, ok, errors } = await next!;
      next = prepare(i + bs);
      const r = await graph.run({ pixels: { data: pixels.subarray(0, n * 3 * S * S), shape: [n, 3, S, S] } });
      const rows = Float32Array.from(r.features.data as Float32Array);
      ok.forEach((good, j) => good || rows.fill(0, j * this.embedDim, (j + 1) * this.embedDim));
      await onBatch(i, rows, ok, errors);
      onProgress?.(i + n, images.length);
    }
  }

  /**
   * Embeds images: [n, embedDim] rows, L2-normalized unless `{ normalize: false }`. Paths and
   * encoded bytes are decoded and preprocessed in worker threads (the next batch while the model
   * runs on this one); decoded pixels are preprocessed on this thread.
   */
  async embedImages(inputs: ImageInput[], opts: EmbedOptions = {}): Promise<Matrix> {
    let e: Embeddings;
    if (inputs.every(isEncoded)) e = await this.encodeImages(inputs, opts);
    else {
      const per = 3 * this.imageSize * this.imageSize;
      const pixels = new Float32Array(inputs.length * per);
      const cfg = imageConfig(this.preprocess);
      const encoded = inputs.flatMap((x, i) => (isEncoded(x) ? [i] : []));
      if (encoded.length) {
        const pool = (this.pool ??= new ImagePool(cfg, { threads: this.opts.threads }));
        const r = await pool.preprocessBatch(encoded.map((i) => inputs[i] as string | Uint8Array));
        encoded.forEach((i, j) => pixels.set(r.pixels.subarray(j * per, (j + 1) * per), i * per));
      }
      inputs.forEach((x, i) => {
        if (!isEncoded(x)) preprocessRGB(x, cfg, pixels, i * per);
      });
      e = await this.encodePixels(pixels, inputs.length, opts);
    }
    return { data: e.data, dims: [e.n, e.dim] };
  }

  /** Embeds texts (tokenized as `clip.tokenize` does): [n, embedDim] rows, L2-normalized unless `{ normalize: false }`. */
  async embedTexts(texts: string[], opts: EmbedOptions = {}): Promise<Matrix> {
    const e = await this.encodeTexts(texts, opts);
    return { data: e.data, dims: [e.n, e.dim] };
  }

  /** Cosine similarity [a rows, b rows] of two sets of normalized embeddings. */
  similarity(a: Matrix, b: Matrix): Matrix {
    return matmulT(a, b, 1);
  }

  /** `logitScale * cosine`, [images, texts]: the reference's `logits_per_image` (inputs normalized). */
  logits(images: Matrix, texts: Matrix): Matrix {
    return matmulT(images, texts, this.logitScale);
  }

  /** Releases the sessions and worker threads; the model cannot be used afterwards. */
  async dispose(): Promise<void> {
    await this.close();
  }

  /** exp(logit_scale) * cosine similarity, [images, texts]. Inputs must be normalized. */
  logitRows(images: Embeddings, texts: Embeddings): number[][] {
    const out: number[][] = [];
    for (let i = 0; i < images.n; i++) {
      const row: number[] = [];
      for (let j = 0; j < texts.n; j++) {
        let s = 0;
        for (let k = 0; k < this.embedDim; k++) s += images.data[i * this.embedDim + k] * texts.data[j * this.embedDim + k];
        row.push(this.logitScale * s);
      }
      out.push(row);
    }
    return out;
  }

  async close(): Promise<void> {
    const gs = await Promise.all([this.imageGraph, this.textGraph]);
    await Promise.all(gs.map((g) => g?.release()));
    await this.pool?.close();
    this.imageGraph = this.textGraph = undefined;
    this.pool = undefined;
  }
}

/** scale * a @ b^T for row-major [n, d] and [m, d]. */
function matmulT(a: Matrix, b: Matrix, scale: number): Matrix {
  const [n, d] = a.dims;
  const [m, d2] = b.dims;
  if (d !== d2) throw new UserError(`similarity: embeddings of width ${d} and ${d2} (from different models?)`);
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += a.data[i * d + k] * b.data[j * d + k];
      out[i * m + j] = scale * s;
    }
  }
  return { data: out, dims: [n, m] };
}
