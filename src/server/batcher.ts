/**
 * @file Dynamic batching: concurrent requests' items are coalesced into one model call (up to
 * `maxBatch` items; a job waits at most `maxWaitMs` for company, longer only while the model is
 * busy, and whatever queued during a call goes together in the next). With `maxInFlight` 2, a
 * full batch starts while the previous call still runs, so its preparation (image decoding)
 * overlaps the model. The queue is bounded (503 when full) and every job has a deadline (504).
 * Each caller gets back exactly the rows of its own items.
 */
import { UserError } from "../errors.js";
import { HttpError } from "./http_error.js";

export interface BatcherOptions {
  /** Items per model call (a single larger job runs alone). */
  maxBatch: number;
  /** How long an idle batcher waits for more jobs before calling the model. */
  maxWaitMs: number;
  /** Jobs allowed to wait; one more is refused with 503. */
  maxQueue: number;
  /** A job not answered within this many ms is refused with 504. */
  timeoutMs: number;
  /**
   * Calls running at once (default 1). Beyond the first, a call starts only with a full batch:
   * `run` prepares its inputs while the previous call computes, and a model that runs one call at
   * a time (ThreadedClipModel's worker) queues it.
   */
  maxInFlight?: number;
}

/** Observers for metrics. */
export interface BatcherHooks {
  onBatch?: (items: number, jobs: number, seconds: number) => void;
  onReject?: (reason: "queue_full" | "timeout") => void;
}

interface Job<I, O> {
  items: I[];
  /** performance.now() at submit. */
  t0: number;
  resolve: (rows: O[]) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  settled: boolean;
}

/** Runs `run` over batches of items from many callers; up to `maxInFlight` calls at a time. */
export class Batcher<I, O> {
  private queue: Job<I, O>[] = [];
  /** Calls started and not finished. */
  private running = 0;
  private waitTimer?: NodeJS.Timeout;
  private closed = false;
  private idle: (() => void)[] = [];

  constructor(
    readonly name: string,
    private readonly run: (items: I[]) => Promise<O[]>,
    readonly opts: BatcherOptions,
    private readonly hooks: BatcherHooks = {},
  ) {}

  /** Jobs waiting for a model call. */
  get depth(): number {
    return this.queue.length;
  }

  /** Queues `items`; resolves with one output per item, in order. */
  submit(items: I[]): Promise<O[]> {
    if (this.closed) return Promise.reject(new HttpError(503, "the server is shutting down"));
    if (items.length === 0) return Promise.resolve([]);
    if (this.queue.length >= this.opts.maxQueue) {
      this.hooks.onReject?.("queue_full");
      return Promise.reject(new HttpError(503, `${this.name} queue is full (${this.opts.maxQueue} requests waiting); retry later`));
    }
    return new Promise<O[]>((resolve, reject) => {
      const job: Job<I, O> = { items, t0: performance.now(), resolve, reject, settled: false, timer: undefined as unknown as NodeJS.Timeout };
      job.timer = setTimeout(() => {
        const at = this.queue.indexOf(job);
        if (at >= 0) this.queue.splice(at, 1);
        this.hooks.onReject?.("timeout");
        this.settle(job, new HttpError(504, `${this.name}: no answer within ${this.opts.timeoutMs} ms (server busy)`));
        this.checkIdle();
      }, this.opts.timeoutMs);
      this.queue.push(job);
      this.schedule();
    });
  }

  /** Refuses new jobs and resolves once every queued and running job is answered. */
  close(): Promise<void> {
    this.closed = true;
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  private queuedItems(): number {
    let n = 0;
    for (const j of this.queue) n += j.items.length;
    return n;
  }

  /**
   * Calls the model now when a full batch waits (or on close), else when the oldest waiting job
   * has waited maxWaitMs: no job waits longer than that for company. While a call runs, only a
   * full batch starts another (up to maxInFlight); the rest waits for the model to be free.
   */
  private schedule(): void {
    if (this.running >= (this.opts.maxInFlight ?? 1) || this.queue.length === 0) return;
    const full = this.queuedItems() >= this.opts.maxBatch;
    if (this.running > 0 && !full) return;
    const wait = this.queue[0]!.t0 + this.opts.maxWaitMs - performance.now();
    if (full || wait <= 0 || this.closed) {
      clearTimeout(this.waitTimer);
      this.waitTimer = undefined;
      this.running++;
      // setImmediate: jobs submitted in this same turn still join
      setImmediate(() => void this.flush());
      return;
    }
    this.waitTimer ??= setTimeout(() => {
      this.waitTimer = undefined;
      this.schedule();
    }, wait);
  }

  /** Takes whole jobs up to maxBatch items (at least one job) and runs them as one call. */
  private async flush(): Promise<void> {
    const jobs: Job<I, O>[] = [];
    let n = 0;
    while (this.queue.length > 0 && (jobs.length === 0 || n + this.queue[0]!.items.length <= this.opts.maxBatch)) {
      const j = this.queue.shift()!;
      jobs.push(j);
      n += j.items.length;
    }
    try {
      if (jobs.length > 0) await this.runJobs(jobs);
    } finally {
      this.running--;
      if (this.queue.length > 0) this.schedule();
      else this.checkIdle();
    }
  }

  private checkIdle(): void {
    if (this.closed && this.running === 0 && this.queue.length === 0) for (const r of this.idle.splice(0)) r();
  }

  private async runJobs(jobs: Job<I, O>[]): Promise<void> {
    const items = jobs.flatMap((j) => j.items);
    const t0 = performance.now();
    let rows: O[];
    try {
      rows = await this.run(items);
    } catch (e) {
      this.hooks.onBatch?.(items.length, jobs.length, (performance.now() - t0) / 1000);
      // one bad input (a truncated image past valid headers) must not fail its neighbours: run each job alone
      if (e instanceof UserError && jobs.length > 1) {
        for (const j of jobs) await this.runJobs([j]);
        return;
      }
      for (const j of jobs) this.settle(j, e as Error);
      return;
    }
    this.hooks.onBatch?.(items.length, jobs.length, (performance.now() - t0) / 1000);
    let at = 0;
    for (const j of jobs) {
      this.settle(j, rows.slice(at, at + j.items.length));
      at += j.items.length;
    }
  }

  private settle(job: Job<I, O>, r: O[] | Error): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    if (r instanceof Error) job.reject(r);
    else job.resolve(r);
  }
}
