/**
 * @file ImagePool: worker threads that decode and preprocess batches straight into one shared
 * [B, 3, N, N] Float32Array. Work is handed out in small chunks so a slow image does not hold
 * a whole thread's share back.
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { startWorker } from "../util/builtins.node.js";
import { InternalError, UserError } from "../errors.js";
import type { PreprocessConfig } from "./config.js";
import { DEFAULT_MAX_PIXELS } from "./decode.js";
import { AUG_RATIO, AUG_SCALE } from "./transform.js";
import type { DecodedImage, WorkerItem, WorkerJob, WorkerReply } from "./worker.node.js";

export interface ImagePoolOptions {
  /** Worker threads (default: all cores). */
  threads?: number;
  /** Apply EXIF orientation (the reference does not; default false). */
  applyExif?: boolean;
  /** Refuse images with more pixels (default Pillow's 89,478,485). */
  maxPixels?: number;
  /** Images per message to a worker (default 8). */
  chunk?: number;
  /**
   * Bytes of decoded images to keep between augmented batches (default 0: none). An input with a
   * key (BatchOptions.keys) that was decoded before is cropped from its kept RGB instead of decoded
   * again: the same pixels, so the same batches. Images are kept first come until the budget is
   * spent; only plain RGB images are kept (no alpha, 16-bit or CMYK).
   */
  decodedCache?: number;
}

export interface BatchOptions {
  /**
   * Random resized crop seeded per (seed, index), identical for any thread count; default off.
   * `scale` (area fraction) and `ratio` (aspect) ranges default to open_clip's [0.9, 1] and [3/4, 4/3];
   * `hflip` is the probability of a horizontal flip (default 0, as open_clip's own transform),
   * `gray` the probability of turning the image gray after it (default 0).
   */
  augment?: { seed: number; scale?: [number, number]; ratio?: [number, number]; hflip?: number; gray?: number } | false;
  /** Bad images become zero tensors counted in `errors` instead of failing the batch. */
  skipBad?: boolean;
  /** Names for error messages, one per input (default: the path, or "<bytes #i>"). */
  names?: string[];
  /** With ImagePoolOptions.decodedCache and `augment`: a key per input naming the image for the cache. */
  keys?: string[];
  /**
   * Write into this array (backed by a SharedArrayBuffer, at least B * 3 * N * N long) instead of
   * a new one: a loop that reuses its batch buffer saves the page faults of fresh memory.
   */
  out?: Float32Array;
}

export interface BatchResult {
  /** [B, 3, N, N] normalized pixels (backed by a SharedArrayBuffer). */
  pixels: Float32Array;
  /** Per input: whether it was decoded; skipped ones are all zeros. */
  ok: boolean[];
  /** One message per skipped input, naming the file. */
  errors: string[];
}

interface Pending {
  resolve: (r: WorkerReply) => void;
  reject: (e: Error) => void;
  worker: number;
}

interface Queued {
  job: WorkerJob;
  transfer: ArrayBuffer[];
  resolve: (r: WorkerReply) => void;
  reject: (e: Error) => void;
}

/** Chunks a worker holds at once: one running, one queued so it never waits for the main thread. */
const MAX_INFLIGHT = 2;

/** Worker threads that decode and preprocess batches of images (paths or encoded bytes) into one shared [B, 3, N, N] Float32Array. Node only. */
export class ImagePool {
  readonly cfg: PreprocessConfig;
  readonly threads: number;
  private readonly opts: ImagePoolOptions;
  private workers: (Worker | null)[];
  /** Chunks sent to each worker and not answered yet. */
  private inflight: number[];
  private pending = new Map<number, Pending>();
  /** Chunks waiting for a worker: handed out as workers finish, so a slow thread gets fewer. */
  private queue: Queued[] = [];
  private nextId = 1;
  private closed = false;
  /** Decoded images kept by key (ImagePoolOptions.decodedCache) and their bytes. */
  private readonly decoded = new Map<string, DecodedImage>();
  private decodedBytes = 0;
  private decodedHits = 0;

  constructor(cfg: PreprocessConfig, opts: ImagePoolOptions = {}) {
    this.cfg = { ...cfg };
    this.opts = opts;
    this.threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
    this.workers = new Array(this.threads).fill(null);
    this.inflight = new Array(this.threads).fill(0);
  }

  private worker(i: number): Worker {
    let w = this.workers[i];
    if (w) return w;
    w = startWorker(new URL("./worker.node.js", import.meta.url));
    w.unref();
    w.on("message", (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      this.inflight[i]!--;
      if (this.inflight[i] === 0) this.workers[i]?.unref(); // idle threads do not keep the process alive
      p.resolve(reply);
      this.pump();
    });
    const fail = (err: Error) => {
      // the thread is gone: fail its jobs and start a fresh one on next use
      this.workers[i] = null;
      this.inflight[i] = 0;
      for (const [id, p] of this.pending) {
        if (p.worker === i) {
          this.pending.delete(id);
          p.reject(new InternalError(`image worker died: ${err.message}`));
        }
      }
      if (!this.closed) this.pump();
    };
    w.on("error", fail);
    w.on("exit", (code) => {
      if (this.workers[i] === w) fail(new Error(`exit code ${code}`));
    });
    this.workers[i] = w;
    return w;
  }

  private send(job: WorkerJob, transfer: ArrayBuffer[]): Promise<WorkerReply> {
    return new Promise<WorkerReply>((resolve, reject) => {
      this.queue.push({ job, transfer, resolve, reject });
      this.pump();
    });
  }

  /** Hands queued chunks to the workers with the fewest in flight, up to MAX_INFLIGHT each. */
  private pump(): void {
    while (this.queue.length > 0) {
      let best = -1;
      for (let i = 0; i < this.threads; i++) {
        if (this.inflight[i]! < MAX_INFLIGHT && (best < 0 || this.inflight[i]! < this.inflight[best]!)) best = i;
      }
      if (best < 0) return;
      const q = this.queue.shift()!;
      const w = this.worker(best);
      this.inflight[best]!++;
      this.pending.set(q.job.id, { resolve: q.resolve, reject: q.reject, worker: best });
      w.ref();
      w.postMessage(q.job, q.transfer);
    }
  }

  /**
   * A [batch, 3, N, N] buffer on shared memory for BatchOptions.out. Reusing one (or a pair, with
   * two batches in flight) instead of letting each call allocate saves the first-touch page
   * faults of fresh memory, which on a VM cost as much as decoding the images.
   */
  allocBatch(batch: number): Float32Array {
    const n = this.cfg.size;
    return new Float32Array(new SharedArrayBuffer(batch * 3 * n * n * 4));
  }

  /** The decoded-image cache: images kept, their bytes, and inputs cropped from it instead of decoded. */
  cacheStats(): { images: number; bytes: number; hits: number } {
    return { images: this.decoded.size, bytes: this.decodedBytes, hits: this.decodedHits };
  }

  /** Decodes and preprocesses `inputs` (paths or encoded bytes) into one [B, 3, N, N] batch. */
  async preprocessBatch(inputs: (string | Uint8Array)[], opts: BatchOptions = {}): Promise<BatchResult> {
    if (this.closed) throw new InternalError("ImagePool used after close()");
    const n = this.cfg.size;
    const B = inputs.length;
    let pixels: Float32Array;
    if (opts.out) {
      if (!(opts.out.buffer instanceof SharedArrayBuffer) || opts.out.length < B * 3 * n * n) {
        throw new RangeError(`out: expected a SharedArrayBuffer-backed Float32Array of at least ${B * 3 * n * n} floats`);
      }
      pixels = opts.out.subarray(0, B * 3 * n * n);
    } else {
      pixels = new Float32Array(new SharedArrayBuffer(B * 3 * n * n * 4));
    }
    const sab = pixels.buffer as SharedArrayBuffer;
    const base = pixels.byteOffset / 4;
    const seed = opts.augment ? opts.augment.seed : null;
    const scale = opts.augment ? opts.augment.scale ?? AUG_SCALE : AUG_SCALE;
    const ratio = opts.augment ? opts.augment.ratio ?? AUG_RATIO : AUG_RATIO;
    const hflip = opts.augment ? opts.augment.hflip ?? 0 : 0;
    const gray = opts.augment ? opts.augment.gray ?? 0 : 0;
    const chunk = Math.max(1, this.opts.chunk ?? 8);
    // postMessage clones a view's whole ArrayBuffer: send a copy of the bytes in view, moved
    // (transferred) rather than cloned a second time
    const own = new Set<WorkerItem>();
    const caching = opts.augment && opts.keys && (this.opts.decodedCache ?? 0) > 0;
    const items: WorkerItem[] = inputs.map((input, index) => {
      const name = opts.names?.[index] ?? (typeof input === "string" ? input : `<bytes #${index}>`);
      if (caching) {
        const hit = this.decoded.get(opts.keys![index]!);
        if (hit) {
          this.decodedHits++;
          return { index, input: "", name, decoded: hit };
        }
      }
      const keep = caching && this.decodedBytes < this.opts.decodedCache! ? { keep: true } : {};
      if (typeof input !== "string" && input.byteLength !== input.buffer.byteLength) {
        const item = { index, input: input.slice(), name, ...keep };
        own.add(item);
        return item;
      }
      return { index, input, name, ...keep };
    });
    const jobs: Promise<WorkerReply>[] = [];
    const jobItems: WorkerItem[][] = [];
    for (let s = 0; s < B; s += chunk) {
      const part = items.slice(s, s + chunk);
      jobItems.push(part);
      const transfer = part.filter((it) => own.has(it)).map((it) => (it.input as Uint8Array).buffer as ArrayBuffer);
      jobs.push(
        this.send({
          id: this.nextId++,
          cfg: this.cfg,
          pixels: sab,
          base,
          items: part,
          seed,
          scale,
          ratio,
          hflip,
          gray,
          applyExif: this.opts.applyExif ?? false,
          maxPixels: this.opts.maxPixels ?? DEFAULT_MAX_PIXELS,
        }, transfer),
      );
    }
    const replies = await Promise.all(jobs);
    const ok = new Array<boolean>(B).fill(true);
    const errors: string[] = [];
    let firstInternal: string | null = null;
    replies.forEach((r, j) => {
      r.decoded.forEach((d, k) => {
        const key = opts.keys?.[jobItems[j]![k]!.index];
        if (!d || key === undefined || this.decoded.has(key) || this.decodedBytes + d.rgb.byteLength > this.opts.decodedCache!) return;
        this.decoded.set(key, d);
        this.decodedBytes += d.rgb.byteLength;
      });
      r.errors.forEach((msg, k) => {
        if (msg === null) return;
        const item = jobItems[j]![k]!;
        ok[item.index] = false;
        pixels.fill(0, item.index * 3 * n * n, (item.index + 1) * 3 * n * n);
        if (!r.userErrors[k] && firstInternal === null) firstInternal = msg;
        errors.push(msg);
      });
    });
    if (firstInternal !== null) throw new InternalError(`image worker: ${firstInternal}`);
    if (errors.length > 0 && !opts.skipBad) throw new UserError(errors[0]!);
    return { pixels, ok, errors };
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    this.closed = true;
    this.decoded.clear();
    this.decodedBytes = 0;
    const ws = this.workers.filter((w): w is Worker => w !== null);
    this.workers.fill(null);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new InternalError("ImagePool closed while a batch was running"));
    }
    for (const q of this.queue.splice(0)) q.reject(new InternalError("ImagePool closed while a batch was running"));
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
