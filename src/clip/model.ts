/** @file ClipModel: a loaded checkpoint with compiled image and text sessions, implementing Embedder. */
import os from "node:os";
import path from "node:path";
import { UserError } from "../errors.js";
import { imageConfig, type RGBImage } from "../image/config.js";
import { ImagePool } from "../image/pool.node.js";
import type * as T from "../ir/tensor.js";
import type { CompiledGraph, ExecutionProvider, HostTensor, SessionCache } from "../runtime/session.js";
import type { ClipTokenizer, TruncatePolicy } from "../tokenizer/index.js";
import { collectGarbage } from "../util/gc.node.js";
import { dot, normalizeRows } from "../util/vector.js";
import type { PullProgress } from "../weights/hub/pull.js";
import type { FileStamp, LoadedCheckpoint } from "../weights/checkpoint.js";
import type { ClipConfig, PreprocessCfg, StateDict } from "../models/clip/config.js";
import type { EncodeOptions, Embedder, Embeddings, PartialEmbeddings } from "./embedder.js";
import { embedEncoded, isEncoded, mixedPixels } from "./images.node.js";
import { tokenIds } from "./tokens.js";
import { INT8_SCALE_SUFFIX, type Int8Tensor, int8Keys, type Precision, quantizeLinear } from "../models/clip/int8.js";

export { imageConfig };

/** Options of `ClipModel.load`. */
export interface ModelOptions {
  /** Intra-op threads of the sessions and image workers (default: all cores). */
  threads?: number;
  executionProvider?: ExecutionProvider;
  /** Rows per session run (default 32). */
  batchSize?: number;
  /** What to do with texts beyond the context length (default "warn"). */
  truncate?: TruncatePolicy;
  /** Receives warnings (default: stderr); a truncation warning comes with the number of texts cut. */
  onWarning?: (message: string, truncatedTexts?: number) => void;
  /** Hand the weights to ORT as a mapped file whatever their size (automatic beyond 64 MiB). */
  mapWeights?: boolean;
  /**
   * "fp32" (default), or "int8": every linear layer's weight in int8 with per-output-channel scales
   * (a quantized checkpoint's own, or quantized at load), activations quantized per run.
   */
  precision?: Precision;
  /**
   * Where ONNX Runtime's optimized model of each tower is kept between processes, so that a later
   * load of the same checkpoint skips reading that tower's weights, emitting its graph and ORT's
   * graph optimizations: a directory (every tower is cached), or false (none). Default:
   * `$CLIP_CACHE_DIR/sessions`, else `$XDG_CACHE_HOME/clip-ts/sessions`, else
   * `~/.cache/clip-ts/sessions`, for towers of more than 64 MiB of weights; the environment
   * variable `CLIP_NO_SESSION_CACHE=1` turns the default off. Entries are keyed by the weights
   * files' paths, sizes and mtimes, the tower's graph, precision, threads, ORT version and CPU.
   */
  sessionCache?: string | false;
}

/** Towers with fewer bytes of weights are not cached by default (their sessions build in a blink). */
const DEFAULT_CACHE_MIN_BYTES = 64 * 2 ** 20;

/** The session cache of `opts` (see ModelOptions.sessionCache): its directory and size threshold, or undefined for none. */
function sessionCacheOf(opts: ModelOptions): { dir: string; minWeightBytes: number } | undefined {
  if (opts.sessionCache === false) return undefined;
  if (typeof opts.sessionCache === "string") return { dir: opts.sessionCache, minWeightBytes: 0 };
  const env = process.env;
  if (env.CLIP_NO_SESSION_CACHE && env.CLIP_NO_SESSION_CACHE !== "0") return undefined;
  const root = env.CLIP_CACHE_DIR || (env.XDG_CACHE_HOME ? path.join(env.XDG_CACHE_HOME, "clip-ts") : path.join(os.homedir(), ".cache", "clip-ts"));
  return { dir: path.join(root, "sessions"), minWeightBytes: DEFAULT_CACHE_MIN_BYTES };
}

/** Where `ClipModel.load` finds a checkpoint that is not a local path. */
export interface HubOptions {
  /** An open_clip pretrained tag for a model name: `ClipModel.load("ViT-B-32", { pretrained: "openai" })`. */
  pretrained?: string;
  /** Branch, tag or commit of a hub repository (default "main"). */
  revision?: string;
  /** Use the Hugging Face cache only (default: $HF_HUB_OFFLINE). */
  offline?: boolean;
  /** Download progress, per file (nothing is printed by default). */
  onDownload?: (p: PullProgress) => void;
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


/** Checkpoint keys of neither tower (read at load; the towers' own keys are read on first use). */
const isSharedKey = (k: string): boolean => k === "logit_scale" || k === "logit_bias";
/** Whether a checkpoint key belongs to the tower ("visual." keys to the image tower, the others but the shared ones to the text tower). */
const inTower = (k: string, visual: boolean): boolean => !isSharedKey(k) && k.startsWith("visual.") === visual;

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
  /** int8 weights not yet handed to a session (precision "int8"), by checkpoint key. */
  private readonly int8 = new Map<string, Int8Array>();
  /** A checkpoint read in part by `load`: each tower's tensors are read from it when that tower is first compiled. */
  private unread?: { ck: Pick<LoadedCheckpoint, "weightsFile" | "stamps">; text: boolean; visual: boolean };
  private checkpointReader?: typeof import("../weights/checkpoint.js");
  /** The weights files as `load` found them: the key of the session cache. */
  private stamps?: FileStamp[];

  constructor(
    readonly config: ClipConfig,
    readonly preprocess: PreprocessCfg,
    state: StateDict,
    /** The tokenizer, or why there is none (images can still be encoded). */
    private readonly tok: ClipTokenizer | UserError,
    private readonly opts: ModelOptions = {},
    readonly source = "<memory>",
    /** Weights already in int8 (a quantized checkpoint), used as they are by precision "int8". */
    quantized: ReadonlyMap<string, Int8Tensor> = new Map(),
  ) {
    this.embedDim = config.embed_dim;
    this.imageSize = config.vision_cfg.image_size;
    this.contextLength = config.text_cfg.context_length;
    this.pending = new Map(state);
    if (opts.precision === "int8") {
      for (const k of int8Keys(config)) {
        const q = quantized.get(k);
        if (!q) continue;
        this.int8.set(k, q.q);
        this.pending.set(`${k}${INT8_SCALE_SUFFIX}`, { shape: [q.scale.length], data: q.scale });
        this.pending.delete(k); // the dequantized float copy
      }
    }
    const ls = state.get("logit_scale");
    this.logitScale = ls ? Math.exp(ls.data[0]) : 100;
    if (!(tok instanceof UserError) && tok.vocabSize > config.text_cfg.vocab_size) {
      throw new UserError(`${source}: the tokenizer has ${tok.vocabSize} tokens but the model's token_embedding has ${config.text_cfg.vocab_size} rows`);
    }
  }

  /**
   * Loads a checkpoint with its tokenizer: a local directory or weights file (open_clip, Hugging
   * Face or PyTorch layout; a local path always wins), `hf-hub:ORG/NAME` or `ORG/NAME` (a hub
   * repository in either layout, downloaded into the Hugging Face cache on first use), or an
   * open_clip model name with `{ pretrained: TAG }`.
   */
  static async load(ref: string, opts: ModelOptions & HubOptions = {}): Promise<ClipModel> {
    // the checkpoint readers, hub client, tokenizer and runtime load on first use: importing the library stays cheap
    const [{ loadCheckpoint }, { ClipTokenizer }, { pretrainedRepo }, { parseModelRef, resolveModel, resolveTokenizerDir }] = await Promise.all([
      import("../weights/checkpoint.js"),
      import("../tokenizer/index.js"),
      import("../weights/hub/names.js"),
      import("../weights/hub/resolve.js"),
    ]);
    const warn = opts.onWarning ?? ((s: string) => process.stderr.write(`clip: warning: ${s}\n`));
    const hub = { revision: opts.revision, offline: opts.offline, onProgress: opts.onDownload, onWarning: warn };
    const fromHub = parseModelRef(ref, opts).kind === "hub";
    const dir = await resolveModel(ref, { ...hub, pretrained: opts.pretrained });
    // weights without a config (a bare OpenAI state dict): QuickGELU as the pretrained tag says
    const quickGelu = opts.pretrained ? pretrainedRepo(ref, opts.pretrained).quickGelu : undefined;
    // only the shared scalars now: a tower's weights are read when it is first needed (safetensors)
    const ck = loadCheckpoint(dir, { quickGelu, only: isSharedKey });
    let tokenizer: ClipTokenizer | UserError;
    try {
      const vocabSize = ck.config.text_cfg.vocab_size;
      const tokDir = await resolveTokenizerDir(ck.dir, { ...hub, revision: undefined, fromHub, vocabSize });
      tokenizer = await ClipTokenizer.fromDir(tokDir ?? ck.dir, { vocabSize, contextLength: ck.config.text_cfg.context_length });
    } catch (e) {
      // a checkpoint without vocabulary files still embeds images; texts say what is missing
      if (!(e instanceof UserError)) throw e;
      tokenizer = e;
    }
    const model = new ClipModel(ck.config, ck.preprocess, ck.state, tokenizer, opts, fromHub ? ref : dir, ck.int8);
    model.weightsFile = ck.weightsFile;
    model.stamps = ck.stamps;
    if (ck.partial) model.unread = { ck, text: true, visual: true };
    return model;
  }

  /** A tower's weights by checkpoint key; the first call reads them (a checkpoint loaded in part) and quantizes them (int8). */
  private towerWeights(visual: boolean): (name: string) => Float32Array | Int8Array | undefined {
    let ready = false;
    return (n) => {
      if (!ready) {
        ready = true;
        this.readTower(visual);
        this.quantizeTower(visual);
      }
      return this.int8.get(n) ?? this.pending.get(n)?.data;
    };
  }

  /** The session cache entry of a tower: a checkpoint loaded from files, keyed by their stamps and the precision. */
  private cacheFor(visual: boolean): SessionCache | undefined {
    const c = this.stamps && sessionCacheOf(this.opts);
    if (!c || !this.stamps) return undefined;
    const tower = visual ? "visual" : "text";
    const key = JSON.stringify({ weights: this.stamps, tower, precision: this.opts.precision ?? "fp32" });
    return { ...c, key, group: JSON.stringify({ weights: this.stamps[0]!.path, tower, precision: this.opts.precision ?? "fp32" }) };
  }

  /** Reads a tower's tensors from a checkpoint `load` read in part (once). */
  private readTower(visual: boolean): void {
    const u = this.unread;
    if (!u || !(visual ? u.visual : u.text)) return;
    const { readCheckpointTensors } = this.checkpointReader!;
    for (const [k, t] of readCheckpointTensors(u.ck, (k) => inTower(k, visual))) this.pending.set(k, t);
    if (visual) u.visual = false;
    else u.text = false;
  }

  /** The keys whose layers run in int8: all of int8Keys at precision "int8", none otherwise. */
  private int8Set(): Set<string> {
    return new Set(this.opts.precision === "int8" ? int8Keys(this.config) : []);
  }

  /** At precision "int8", quantizes a tower's linear weights that are not int8 yet (dropping their float copies). */
  private quantizeTower(visual: boolean): void {
    if (this.opts.precision !== "int8") return;
    for (const k of int8Keys(this.config)) {
      const t = this.pending.get(k);
      if (k.startsWith("visual.") !== visual || this.int8.has(k) || !t) continue;
      const q = quantizeLinear(t);
      this.int8.set(k, q.q);
      this.pending.set(`${k}${INT8_SCALE_SUFFIX}`, { shape: [q.scale.length], data: q.scale });
      this.pending.delete(k);
    }
  }

  /** Compiles a tower with the pending weights, letting go of that tower's JS copy once ORT has it. */
  private async compileTower(features: T.Tensor, visual: boolean): Promise<CompiledGraph> {
    const { CompiledGraph } = await import("../runtime/session.js");
    if (this.unread) this.checkpointReader ??= await import("../weights/checkpoint.js");
    const onWeightsCopied = (): void => {
      let dropped = false;
      for (const k of [...this.pending.keys()]) if (inTower(k, visual)) dropped = this.pending.delete(k);
      for (const k of [...this.int8.keys()]) if (k.startsWith("visual.") === visual) dropped = this.int8.delete(k);
      // a full collection costs ~0.1 s: only when there is something to give back (not after a cache hit of an unread tower)
      if (dropped) collectGarbage();
    };
    return CompiledGraph.compile({ features }, { weights: this.towerWeights(visual), cache: this.cacheFor(visual), threads: this.opts.threads, executionProvider: this.opts.executionProvider, externalData: this.opts.mapWeights, onWeightsCopied });
  }

  private images(): Promise<CompiledGraph> {
    this.imageGraph ??= (async () => {
      const { imageTowerGraph } = await import("./graphs.js");
      return this.compileTower(imageTowerGraph(this.config, this.imageSize, this.int8Set()), true);
    })();
    return this.imageGraph;
  }

  private texts(): Promise<CompiledGraph> {
    // one graph for every length: each batch runs only up to its last end-of-text token (see encodeTokens)
    this.textGraph ??= (async () => {
      const { textTowerGraph } = await import("./graphs.js");
      return this.compileTower(textTowerGraph(this.config, this.int8Set()), false);
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
    return tokenIds(this.tokenizer, texts, this.contextLength, this.opts);
  }

  async encodeTexts(texts: string[], opts: EncodeOptions = {}): Promise<Embeddings> {
    const ids = this.tokenize(texts);
    return this.encodeTokens(ids, texts.length, opts);
  }

  /**
   * Encodes token ids [n, context_length]. Each batch runs at the length of its longest text (up
   * to its last end-of-text token): the tower is causal and pools there, so the features equal
   * the full context's.
   */
  async encodeTokens(ids: BigInt64Array, n: number, opts: EncodeOptions = {}): Promise<Embeddings> {
    const ctx = this.contextLength;
    if (ids.length !== n * ctx) throw new UserError(`encodeTokens: ${ids.length} ids for ${n} texts of ${ctx}`);
    const g = await this.texts();
    return this.batched(g, n, (i, k) => {
      const rows = ids.subarray(i * ctx, (i + k) * ctx);
      const L = pooledLength(rows, k, ctx);
      const tokens = L === ctx ? rows : new BigInt64Array(k * L);
      if (tokens !== rows) for (let r = 0; r < k; r++) tokens.set(rows.subarray(r * ctx, r * ctx + L), r * L); // [k, ctx] -> [k, L]
      const positions = new BigInt64Array(L);
      for (let p = 0; p < L; p++) positions[p] = BigInt(p);
      return { tokens: { data: tokens, shape: [k, L] }, positions: { data: positions, shape: [L] } };
    }, opts);
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
    const pool = (this.pool ??= new ImagePool(imageConfig(this.preprocess), { threads: this.opts.threads }));
    const S = this.imageSize;
    const graph = await this.images();
    return embedEncoded(pool, images, this.opts.batchSize ?? 32, this.embedDim, async (pixels, n) => (await graph.run({ pixels: { data: pixels, shape: [n, 3, S, S] } })).features.data as Float32Array, opts);
  }


  /**
   * encodeImages for inputs that may be bad (the hostile-data policy): a file that cannot be read
   * or decoded is left out, with `errors[i]` naming it (by `names[i]`, default its path or
   * "<bytes #i>"), and the rest are encoded. Rows come only for `ok` inputs, in input order.
   */
  async encodeImagesSkipping(images: (string | Uint8Array)[], opts: EncodeOptions & { names?: string[] } = {}): Promise<PartialEmbeddings> {
    const pool = (this.pool ??= new ImagePool(imageConfig(this.preprocess), { threads: this.opts.threads }));
    const bs = this.opts.batchSize ?? 32;
    const per = 3 * this.imageSize * this.imageSize;
    const ok: boolean[] = [];
    const errors: (string | null)[] = [];
    const rows: Float32Array[] = [];
    const namesOf = (i: number): string[] => images.slice(i, i + bs).map((x, j) => opts.names?.[i + j] ?? (typeof x === "string" ? x : `<bytes #${i + j}>`));
    // the next batch is decoded while the model runs on this one
    const prepare = (i: number) => {
      if (i >= images.length) return undefined;
      const p = pool.preprocessBatch(images.slice(i, i + bs), { skipBad: true, names: namesOf(i) });
      p.catch(() => undefined); // reported when awaited
      return p;
    };
    let next = prepare(0);
    for (let i = 0; i < images.length; i += bs) {
      const r = await next!;
      next = prepare(i + bs);
      const names = namesOf(i);
      // r.errors holds one message per failed input, in input order
      let failed = 0;
      const good: number[] = [];
      r.ok.forEach((isOk, j) => {
        ok.push(isOk);
        errors.push(isOk ? null : (r.errors[failed++] ?? `${names[j]}: cannot decode image`));
        if (isOk) good.push(j);
      });
      if (good.length === 0) continue;
      const pixels = good.length === r.ok.length ? r.pixels : new Float32Array(good.length * per);
      if (pixels !== r.pixels) good.forEach((j, k) => pixels.set(r.pixels.subarray(j * per, (j + 1) * per), k * per));
      rows.push((await this.encodePixels(pixels, good.length, { normalize: opts.normalize })).data);
      opts.onProgress?.(Math.min(i + bs, images.length), images.length);
    }
    const n = ok.filter(Boolean).length;
    const data = new Float32Array(n * this.embedDim);
    let o = 0;
    for (const r of rows) {
      data.set(r, o);
      o += r.length;
    }
    return { embeddings: { data, n, dim: this.embedDim }, ok, errors };
  }

  /**
   * Embeds images: [n, embedDim] rows, L2-normalized unless `{ normalize: false }`. Paths and
   * encoded bytes are decoded and preprocessed in worker threads (the next batch while the model
   * runs on this one); decoded pixels are preprocessed on this thread.
   */
  async embedImages(inputs: ImageInput[], opts: EmbedOptions = {}): Promise<Matrix> {
    const cfg = imageConfig(this.preprocess);
    const e = inputs.every(isEncoded)
      ? await this.encodeImages(inputs, opts)
      : await this.encodePixels(await mixedPixels(inputs, cfg, () => (this.pool ??= new ImagePool(cfg, { threads: this.opts.threads }))), inputs.length, opts);
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

  async close(): Promise<void> {
    // a tower that failed to compile has nothing to release
    const gs = await Promise.all([this.imageGraph, this.textGraph].map((g) => g?.catch(() => undefined)));
    await Promise.all(gs.map((g) => g?.release()));
    await this.pool?.close();
    this.imageGraph = this.textGraph = undefined;
    this.pool = undefined;
  }
}

/** 1 + the last position any of `k` rows [k, ctx] pools at (each row's first largest id, as the graph's argmax). */
function pooledLength(rows: BigInt64Array, k: number, ctx: number): number {
  let L = 1;
  for (let r = 0; r < k; r++) {
    let at = 0;
    for (let p = 1; p < ctx; p++) if (rows[r * ctx + p]! > rows[r * ctx + at]!) at = p;
    L = Math.max(L, at + 1);
  }
  return L;
}

/** scale * a @ b^T for row-major [n, d] and [m, d]. */
function matmulT(a: Matrix, b: Matrix, scale: number): Matrix {
  const [n, d] = a.dims;
  const [m, d2] = b.dims;
  if (d !== d2) throw new UserError(`similarity: embeddings of width ${d} and ${d2} (from different models?)`);
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      out[i * m + j] = scale * dot(a.data, i * d, b.data, j * d, d);
    }
  }
  return { data: out, dims: [n, m] };
}
