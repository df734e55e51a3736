/** @file Datasets over a list of items known up front (CSV rows, image files, synth scenes): shuffle, epochs, workers, resume. */
import { UserError } from "../errors.js";
import { checkFingerprint, fingerprint, type Options } from "./options.js";
import { hashSeed, permutation } from "../util/rng.js";
import type { Built } from "./sample.js";
import { StatsCounter } from "./stats.js";
import type { DataPosition, Dataset, DataStats, IndexedPosition, Sample } from "./types.js";

/** A random-access source: `load(i)` never rejects (failures come back as a skip). */
export interface ItemSource {
  layout: string;
  /** Names identifying the data for resume fingerprints (the file, or parameters). */
  names: string[];
  size: number;
  classnames?: string[];
  templates?: string[];
  classPrompts?: string[][];
  load(i: number): Promise<Built>;
  /** Loads to keep in flight ahead of the consumer. */
  prefetch: number;
}

export class IndexedDataset implements Dataset {
  readonly layout: string;
  readonly classnames?: string[];
  readonly templates?: string[];
  readonly classPrompts?: string[][];
  private readonly stats_: StatsCounter;
  private readonly fp: string;
  private epoch = 0;
  private next = 0;
  private running = false;
  private perm: { epoch: number; order: Uint32Array | number[] } | null = null;

  constructor(
    private readonly src: ItemSource,
    private readonly o: Options,
  ) {
    this.layout = src.layout;
    if (src.classnames) this.classnames = src.classnames;
    if (src.templates) this.templates = src.templates;
    if (src.classPrompts) this.classPrompts = src.classPrompts;
    this.stats_ = new StatsCounter(o.onBad);
    this.fp = fingerprint(src.layout, src.names, o);
  }

  restore(p: DataPosition): void {
    if (p.kind !== "indexed") throw new UserError(`the saved data position is for WebDataset shards, not a ${this.layout} dataset`);
    checkFingerprint(p.fingerprint, this.fp);
    this.epoch = p.epoch;
    this.next = p.next;
    this.stats_.restore(p.stats);
  }

  position(): IndexedPosition {
    return { kind: "indexed", fingerprint: this.fp, epoch: this.epoch, next: this.next, stats: this.stats_.snapshot() };
  }

  stats(): DataStats {
    return this.stats_.snapshot();
  }

  /** Items per epoch for this worker (resampled: undefined, the stream is endless). */
  count(): number | undefined {
    if (this.o.resampled) return undefined;
    return this.workerCount();
  }

  reportBad(sample: Sample, reason: string, detail?: string): void {
    this.stats_.samples--;
    this.stats_.skip(reason, `${sample.shard}: ${sample.key}: ${detail ?? reason}`, sample.shard, sample.key);
  }

  async ready(): Promise<void> {}

  [Symbol.asyncIterator](): AsyncIterator<Sample> {
    return this.run();
  }

  private workerCount(): number {
    const { index, count } = this.o.worker;
    const n = this.src.size;
    return n > index ? Math.floor((n - index - 1) / count) + 1 : 0;
  }

  /** The item at step j of epoch e for this worker. */
  private itemAt(e: number, j: number): number {
    const { index, count } = this.o.worker;
    const n = this.src.size;
    if (this.o.resampled) return Math.floor((hashSeed(this.o.seed, "resample", index, j) / 4294967296) * n);
    const k = j * count + index;
    if (!this.o.shuffle) return k;
    if (!this.perm || this.perm.epoch !== e) {
      const order = permutation(n, this.o.seed, "items", e);
      this.perm = { epoch: e, order: n > 1 << 20 ? Uint32Array.from(order) : order };
    }
    return this.perm.order[k]!;
  }

  private async *run(): AsyncGenerator<Sample> {
    if (this.running) throw new UserError("a dataset can be iterated by one loop at a time");
    this.running = true;
    const inflight = new Map<number, Promise<Built>>();
    try {
      while (this.o.resampled || this.epoch < this.o.epochs) {
        const e = this.epoch;
        const steps = this.o.resampled ? Infinity : this.workerCount();
        const fetch = (j: number): Promise<Built> => {
          let p = inflight.get(j);
          if (!p) {
            p = this.src.load(this.itemAt(e, j));
            inflight.set(j, p);
          }
          return p;
        };
        while (this.next < steps) {
          const j = this.next;
          for (let k = j; k < Math.min(steps, j + this.src.prefetch); k++) void fetch(k);
          const built = await fetch(j);
          inflight.delete(j);
          this.next = j + 1;
          if (!built.ok) {
            this.stats_.skip(built.reason, built.message, built.source, built.key);
            continue;
          }
          this.stats_.dropCaptions(built.dropped);
          this.stats_.samples++;
          yield built.sample;
        }
        inflight.clear();
        this.epoch++;
        this.next = 0;
      }
    } finally {
      this.running = false;
      // loads still in flight settle on their own (they never reject)
      inflight.clear();
    }
  }
}
