/**
 * @file ImagePool: worker threads that decode and preprocess batches straight into one shared
 * [B, 3, N, N] Float32Array. Work is handed out in small chunks so a slow image does not hold
 * a whole thread's share back.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { InternalError, UserError } from "../errors.js";
import type { PreprocessConfig } from "./config.js";
import { DEFAULT_MAX_PIXELS } from "./decode.js";
import type { WorkerItem, WorkerJob, WorkerReply } from "./worker.js";

export interface ImagePoolOptions {
  /** Worker threads (default: all cores). */
  threads?: number;
  /** Apply EXIF orientation (the reference does not; default false). */
  applyExif?: boolean;
  /** Refuse images with more pixels (default Pillow's 89,478,485). */
  maxPixels?: number;
  /** Images per message to a worker (default 8). */
  chunk?: number;
}

export interface BatchOptions {
  /** Random resized crop seeded per (seed, index), identical for any thread count; default off. */
  augment?: { seed: number } | false;
  /** Bad images become zero tensors counted in `errors` instead of failing the batch. */
  skipBad?: boolean;
  /** Names for error messages, one per input (default: the path, or "<bytes #i>"). */
  names?: string[];
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

export class ImagePool {
  readonly cfg: PreprocessConfig;
  readonly threads: number;
  private readonly opts: ImagePoolOptions;
  private workers: (Worker | null)[];
  private load: number[];
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(cfg: PreprocessConfig, opts: ImagePoolOptions = {}) {
    this.cfg = { ...cfg };
    this.opts = opts;
    this.threads = Math.max(1, Math.floor(opts.threads ?? availableParallelism()));
    this.workers = new Array(this.threads).fill(null);
    this.load = new Array(this.threads).fill(0);
  }

  private worker(i: number): Worker {
    let w = this.workers[i];
    if (w) return w;
    w = new Worker(new URL("./worker.js", import.meta.url));
    w.unref();
    w.on("message", (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      p.resolve(reply);
    });
    const fail = (err: Error) => {
      // the thread is gone: fail its jobs and start a fresh one on next use
      this.workers[i] = null;
      this.load[i] = 0;
      for (const [id, p] of this.pending) {
        if (p.worker === i) {
          this.pending.delete(id);
          p.reject(new InternalError(`image worker died: ${err.message}`));
        }
      }
    };
    w.on("error", fail);
    w.on("exit", (code) => {
      if (this.workers[i] === w) fail(new Error(`exit code ${code}`));
    });
    this.workers[i] = w;
    return w;
  }

  private send(job: WorkerJob, transfer: ArrayBuffer[]): Promise<WorkerReply> {
    // least-loaded worker
    let best = 0;
    for (let i = 1; i < this.threads; i++) if (this.load[i]! < this.load[best]!) best = i;
    const w = this.worker(best);
    this.load[best]! += job.items.length;
    const n = job.items.length;
    return new Promise<WorkerReply>((resolve, reject) => {
      this.pending.set(job.id, {
        resolve: (r) => {
          this.load[best]! -= n;
          resolve(r);
        },
        reject,
        worker: best,
      });
      w.ref();
      w.postMessage(job, transfer);
    }).finally(() => {
      if (![...this.pending.values()].some((p) => p.worker === best)) this.workers[best]?.unref();
    });
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
    const chunk = Math.max(1, this.opts.chunk ?? 8);
    // postMessage clones a view's whole ArrayBuffer: send a copy of the bytes in view, moved
    // (transferred) rather than cloned a second time
    const own = new Set<WorkerItem>();
    const items: WorkerItem[] = inputs.map((input, index) => {
      const name = opts.names?.[index] ?? (typeof input === "string" ? input : `<bytes #${index}>`);
      if (typeof input !== "string" && input.byteLength !== input.buffer.byteLength) {
        const item = { index, input: input.slice(), name };
        own.add(item);
        return item;
      }
      return { index, input, name };
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
    const ws = this.workers.filter((w): w is Worker => w !== null);
    this.workers.fill(null);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new InternalError("ImagePool closed while a batch was running"));
    }
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
