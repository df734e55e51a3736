/**
 * @file ThreadedClipModel: a ClipModel whose ONNX Runtime sessions live in a worker thread. ORT's
 * Node binding runs `session.run` synchronously on the calling thread; here that thread is the
 * worker's, so the caller's event loop keeps working (tokenizing, decoding images, answering HTTP
 * requests) while a batch runs. Tokenization and image decoding stay on the caller's side (the
 * images in an ImagePool), so the worker only runs the towers.
 */
import type { Worker } from "node:worker_threads";
import { InternalError, UserError } from "../errors.js";
import { imageConfig, type PreprocessConfig } from "../image/config.js";
import { ImagePool } from "../image/pool.node.js";
import type { ClipConfig, PreprocessCfg } from "../models/clip/config.js";
import { ClipTokenizer } from "../tokenizer/index.js";
import { startWorker } from "../util/builtins.node.js";
import { normalizeRows } from "../util/vector.js";
import type { EncodeOptions, Embedder, Embeddings } from "./embedder.js";
import type { EmbedOptions, HubOptions, ImageInput, Matrix, ModelOptions } from "./model.js";
import type { WorkerFailure, WorkerInit, WorkerMessage, WorkerReady, WorkerRequest, WorkerRun } from "./model_worker.node.js";
import { embedEncoded, isEncoded, mixedPixels } from "./images.node.js";
import { tokenIds } from "./tokens.js";

/** Options of `ThreadedClipModel.load`: ClipModel's, but for the download progress callback (the worker loads). */
export type ThreadedModelOptions = ModelOptions & Omit<HubOptions, "onDownload">;

/** How long close() waits for the worker to finish its queued runs and end by itself. */
const CLOSE_GRACE_MS = 60_000;


const asError = (f: WorkerFailure): Error => (f.user ? new UserError(f.message) : new InternalError(`model worker: ${f.message}`));

/**
 * The same embeddings as `ClipModel` (the worker holds one), computed off the calling thread:
 * use it where the caller has other work to do while the model runs, as `clip serve` does.
 *
 * ```ts
 * const model = await ThreadedClipModel.load("path/to/checkpoint");
 * const texts = await model.embedTexts(["a photo of a cat"]); // the event loop stays free meanwhile
 * await model.close(); // ends the worker thread
 * ```
 *
 * Runs are queued in the worker and executed one at a time, in the order they were called.
 */
export class ThreadedClipModel implements Embedder {
  readonly embedDim: number;
  readonly imageSize: number;
  readonly contextLength: number;
  readonly logitScale: number;
  readonly config: ClipConfig;
  readonly preprocess: PreprocessCfg;
  readonly source: string;
  /** The weights file the worker read (see ClipModel.weightsFile). */
  readonly weightsFile?: string;
  private readonly tok: ClipTokenizer | UserError;
  private readonly cfg: PreprocessConfig;
  private pool?: ImagePool;
  private readonly pending = new Map<number, { resolve: (d: Float32Array) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed?: Promise<void>;
  private dead?: Error;

  private constructor(
    private readonly worker: Worker,
    ready: WorkerReady,
    private readonly opts: ThreadedModelOptions,
  ) {
    this.config = ready.config;
    this.preprocess = ready.preprocess;
    this.source = ready.source;
    this.weightsFile = ready.weightsFile;
    this.logitScale = ready.logitScale;
    this.embedDim = ready.config.embed_dim;
    this.imageSize = ready.config.vision_cfg.image_size;
    this.contextLength = ready.config.text_cfg.context_length;
    this.cfg = imageConfig(ready.preprocess);
    const v = ready.vocabulary;
    this.tok = "error" in v ? new UserError(v.error) : new ClipTokenizer(v, { contextLength: this.contextLength });
    worker.on("message", (m: WorkerMessage) => this.onMessage(m));
    worker.on("error", (e) => this.fail(new InternalError(`model worker died: ${e.message}`)));
    worker.on("exit", (code) => this.fail(new InternalError(`model worker exited (code ${code})`)));
    worker.unref();
  }

  /** Loads a checkpoint (anything `ClipModel.load` takes) in a new worker thread. */
  static async load(ref: string, opts: ThreadedModelOptions = {}): Promise<ThreadedClipModel> {
    const { onWarning, ...rest } = opts;
    const warn = onWarning ?? ((s: string) => process.stderr.write(`clip: warning: ${s}\n`));
    const init: WorkerInit = { ref, opts: rest };
    const worker = startWorker(new URL("./model_worker.node.js", import.meta.url), { workerData: init });
    const ready = await new Promise<WorkerReady>((resolve, reject) => {
      const onMessage = (m: WorkerMessage): void => {
        if (m.type === "warning") warn(m.message);
        else if (m.type === "ready" || m.type === "loadError") {
          worker.off("message", onMessage).off("error", reject).off("exit", onExit);
          if (m.type === "ready") resolve(m);
          else reject(asError(m.error));
        }
      };
      const onExit = (code: number): void => reject(new InternalError(`model worker exited while loading (code ${code})`));
      worker.on("message", onMessage).on("error", reject).on("exit", onExit);
    }).catch(async (e: unknown) => {
      await worker.terminate();
      throw e;
    });
    return new ThreadedClipModel(worker, ready, { ...opts, onWarning: warn });
  }

  private onMessage(m: WorkerMessage): void {
    if (m.type === "warning") this.opts.onWarning?.(m.message);
    if (m.type !== "result" && m.type !== "runError") return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0 && !this.closed) this.worker.unref(); // an idle worker does not keep the process alive
    if (m.type === "result") p.resolve(m.data);
    else p.reject(asError(m.error));
  }

  /** The worker is gone: every waiting run fails with `e`, and so does every later one. */
  private fail(e: Error): void {
    this.dead ??= e;
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }

  /** Sends a run to the worker; resolves with its raw [n, embedDim] rows. */
  private send(req: WorkerRun, transfer: ArrayBuffer[]): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new UserError("ThreadedClipModel used after close()"));
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<Float32Array>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ ...req, id } as WorkerRequest, transfer);
    });
  }

  private finish(data: Float32Array, n: number, opts: EncodeOptions): Embeddings {
    if (data.length !== n * this.embedDim) throw new InternalError(`model worker returned ${data.length} values for ${n} rows of ${this.embedDim}`);
    if (opts.normalize !== false) normalizeRows(data, this.embedDim);
    return { data, n, dim: this.embedDim };
  }

  /** The checkpoint's tokenizer (a copy of the worker's); a UserError naming the missing files when it has none. */
  get tokenizer(): ClipTokenizer {
    if (this.tok instanceof UserError) throw this.tok;
    return this.tok;
  }

  /** Token ids [n, context_length] for texts, with the truncation policy (as ClipModel.tokenize). */
  tokenize(texts: string[]): BigInt64Array {
    return tokenIds(this.tokenizer, texts, this.contextLength, this.opts);
  }

  async encodeTexts(texts: string[], opts: EncodeOptions = {}): Promise<Embeddings> {
    return this.encodeTokens(this.tokenize(texts), texts.length, opts);
  }

  /** Runs token ids [n, context_length] through the text tower in the worker. */
  async encodeTokens(ids: BigInt64Array, n: number, opts: EncodeOptions = {}): Promise<Embeddings> {
    if (ids.length !== n * this.contextLength) throw new UserError(`encodeTokens: ${ids.length} ids for ${n} texts of ${this.contextLength}`);
    const own = ids.slice(); // moved to the worker: the caller's array stays usable
    const data = await this.send({ op: "tokens", ids: own, n }, [own.buffer as ArrayBuffer]);
    opts.onProgress?.(n, n);
    return this.finish(data, n, opts);
  }

  async encodePixels(pixels: Float32Array, n: number, opts: EncodeOptions = {}): Promise<Embeddings> {
    const per = 3 * this.imageSize * this.imageSize;
    if (pixels.length !== n * per) throw new UserError(`encodePixels: ${pixels.length} values for ${n} images of [3,${this.imageSize},${this.imageSize}] (${n * per} expected)`);
    // shared memory (ImagePool output) is read by the worker in place; plain memory is copied by postMessage
    const data = await this.send({ op: "pixels", pixels, n }, []);
    opts.onProgress?.(n, n);
    return this.finish(data, n, opts);
  }

  /**
   * Decodes and preprocesses in an ImagePool on this side, then encodes in the worker, batch by
   * batch (`batchSize`), the next batch decoded while the worker runs this one.
   */
  async encodeImages(images: (string | Uint8Array)[], opts: EncodeOptions = {}): Promise<Embeddings> {
    const pool = (this.pool ??= new ImagePool(this.cfg, { threads: this.opts.threads }));
    const run = async (pixels: Float32Array, n: number): Promise<Float32Array> => this.finish(await this.send({ op: "pixels", pixels, n }, []), n, { normalize: false }).data;
    return embedEncoded(pool, images, this.opts.batchSize ?? 32, this.embedDim, run, opts);
  }


  /** As ClipModel.embedImages: [n, embedDim] rows, L2-normalized unless `{ normalize: false }`. */
  async embedImages(inputs: ImageInput[], opts: EmbedOptions = {}): Promise<Matrix> {
    const e = inputs.every(isEncoded)
      ? await this.encodeImages(inputs, opts)
      : await this.encodePixels(await mixedPixels(inputs, this.cfg, () => (this.pool ??= new ImagePool(this.cfg, { threads: this.opts.threads }))), inputs.length, opts);
    return { data: e.data, dims: [e.n, e.dim] };
  }


  /** As ClipModel.embedTexts: [n, embedDim] rows, L2-normalized unless `{ normalize: false }`. */
  async embedTexts(texts: string[], opts: EmbedOptions = {}): Promise<Matrix> {
    const e = await this.encodeTexts(texts, opts);
    return { data: e.data, dims: [e.n, e.dim] };
  }

  /** Lets the runs already sent finish (the worker takes them in order), then releases the sessions and ends the worker thread and the image pool. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.worker.ref();
      await this.pool?.close();
      this.pool = undefined;
      if (this.dead) return;
      const exited = new Promise<void>((r) => this.worker.once("exit", () => r()));
      this.worker.postMessage({ op: "close" });
      // the worker answers what it was sent, releases the sessions and ends; a stuck one is ended after a grace period
      const grace = setTimeout(() => void this.worker.terminate(), CLOSE_GRACE_MS);
      await exited;
      clearTimeout(grace);
    })();
    return this.closed;
  }

  /** Same as close(). */
  dispose(): Promise<void> {
    return this.close();
  }
}
