/** @file WebDataset shard streams: grouping by key, shard order and worker split, shuffle buffer, epochs, exact resume. */
import { UserError } from "../errors.js";
import { buildSample, splitKey } from "./sample.js";
import { checkFingerprint, fingerprint, type Options } from "./options.js";
import { hashSeed, permutation, Rng } from "../util/rng.js";
import { parseLines, parseSizes, type ShardSpec } from "./spec.js";
import { fetchText, ShardReadError, shardBytes } from "./sources.js";
import { StatsCounter } from "./stats.js";
import { readTar, TarError } from "./tar.js";
import type { DataPosition, Dataset, DataStats, Sample, SampleRef, ShardPosition } from "./types.js";

/** The files of one key, as they sit next to each other in a shard. */
export interface Group {
  key: string;
  members: Map<string, Uint8Array>;
  start: number;
  end: number;
  /** An extension seen twice under this key (the group is then unusable). */
  duplicate?: string;
}

/** Groups consecutive tar entries by key. `pending.key` names the group being read when an error ends the stream. */
export async function* groupEntries(
  shard: string,
  offset: number,
  pending: { key?: string } = {},
): AsyncGenerator<Group> {
  let cur: Group | null = null;
  try {
    for await (const e of readTar(shardBytes(shard, offset), offset)) {
      const split = splitKey(e.name);
      if (!split) {
        if (cur) cur.end = e.end; // a file without extension: not part of any sample
        continue;
      }
      const [key, ext] = split;
      if (cur && cur.key !== key) {
        pending.key = undefined;
        yield cur;
        cur = null;
      }
      if (!cur) {
        cur = { key, members: new Map(), start: e.start, end: e.end };
        pending.key = key;
      }
      if (cur.members.has(ext)) cur.duplicate = ext;
      else cur.members.set(ext, e.data);
      cur.end = e.end;
    }
  } catch (e) {
    // cut inside the first file of the next key: the group before it is known to be complete
    const next = e instanceof TarError && e.entry !== undefined ? splitKey(e.entry) : null;
    if (cur && next && next[0] !== cur.key) {
      const done: Group = cur;
      cur = null;
      pending.key = undefined;
      yield done;
      pending.key = next[0];
    }
    throw e;
  }
  if (cur) {
    pending.key = undefined;
    yield cur;
  }
}

interface Buffered {
  sample: Sample;
  ref: SampleRef;
}

const RETRIES = 3;

export class ShardDataset implements Dataset {
  readonly layout = "webdataset";
  classnames?: string[];
  templates?: string[];
  private readonly stats_: StatsCounter;
  private readonly fp: string;
  private readonly sampleSplit: boolean;
  private epoch = 0;
  private shardCursor = 0;
  private open: { shard: number; offset: number; group: number } | null = null;
  private readonly rng: Rng;
  private buffer: Buffered[] = [];
  private pendingRefs: SampleRef[] | null = null;
  private readyDone = false;
  private running = false;

  constructor(
    private readonly spec: ShardSpec,
    private readonly o: Options,
  ) {
    if (spec.shards.length === 0) throw new UserError("no shards to read");
    if (spec.classnames) this.classnames = spec.classnames;
    if (spec.templates) this.templates = spec.templates;
    this.stats_ = new StatsCounter(o.onBad);
    this.fp = fingerprint("webdataset", spec.shards, o);
    // fewer shards than workers: every worker reads every shard and keeps every count-th sample
    this.sampleSplit = !o.resampled && spec.shards.length < o.worker.count;
    this.rng = Rng.from(o.seed, "shuffle-buffer", o.worker.index);
  }

  restore(p: DataPosition): void {
    if (p.kind !== "shards") throw new UserError(`the saved data position is for a ${p.kind} dataset, not WebDataset shards`);
    checkFingerprint(p.fingerprint, this.fp);
    this.epoch = p.epoch;
    this.shardCursor = p.shardCursor;
    this.open = p.open ? { ...p.open } : null;
    this.rng.setState(p.rng);
    this.pendingRefs = p.buffer.map((r) => [...r] as SampleRef);
    this.buffer = [];
    this.stats_.restore(p.stats);
  }

  position(): ShardPosition {
    return {
      kind: "shards",
      fingerprint: this.fp,
      epoch: this.epoch,
      shardCursor: this.shardCursor,
      open: this.open ? { ...this.open } : null,
      rng: this.rng.state(),
      buffer: this.pendingRefs ? this.pendingRefs.map((r) => [...r] as SampleRef) : this.buffer.map((b) => [...b.ref] as SampleRef),
      stats: this.stats_.snapshot(),
    };
  }

  stats(): DataStats {
    return this.stats_.snapshot();
  }

  count(): number | undefined {
    const sizes = this.spec.sizes;
    if (!sizes || this.o.resampled) return undefined;
    const { index, count } = this.o.worker;
    if (this.sampleSplit) return sizes.reduce((a, n) => a + (n > index ? Math.floor((n - index - 1) / count) + 1 : 0), 0);
    return this.epochOrder(this.epoch).reduce((a, s) => a + sizes[s]!, 0);
  }

  reportBad(sample: Sample, reason: string, detail?: string): void {
    this.stats_.samples--;
    this.stats_.skip(reason, `${sample.shard}: ${sample.key}: ${detail ?? reason}`, sample.shard, sample.key);
  }

  async ready(): Promise<void> {
    if (this.readyDone) return;
    this.readyDone = true;
    for (const dir of this.spec.remoteDirs) {
      if (!this.classnames) {
        const t = await fetchText(dir + "classnames.txt");
        if (t !== undefined) this.classnames = parseLines(t);
      }
      if (!this.templates) {
        const t = await fetchText(dir + "zeroshot_classification_templates.txt");
        if (t !== undefined) this.templates = parseLines(t);
      }
      if (!this.spec.sizes && dir === this.spec.remoteDirs[0]) {
        const t = await fetchText(dir + "sizes.json");
        const sizes = t === undefined ? undefined : parseSizes(t, this.spec.shards);
        if (sizes) this.spec.sizes = sizes;
      }
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Sample> {
    return this.run();
  }

  /** Shard indices this worker reads in epoch e, in order. */
  private epochOrder(e: number): number[] {
    const n = this.spec.shards.length;
    const order = this.o.shuffle ? permutation(n, this.o.seed, "shards", e) : Array.from({ length: n }, (_, i) => i);
    if (this.sampleSplit) return order;
    const { index, count } = this.o.worker;
    return order.filter((_, j) => j % count === index);
  }

  private async *run(): AsyncGenerator<Sample> {
    if (this.running) throw new UserError("a dataset can be iterated by one loop at a time");
    this.running = true;
    try {
      await this.ready();
      if (this.pendingRefs) await this.refill(this.pendingRefs);
      if (this.o.resampled) {
        const n = this.spec.shards.length;
        while (true) {
          if (!this.open) {
            const shard = Math.floor((hashSeed(this.o.seed, "resample", this.o.worker.index, this.shardCursor) / 4294967296) * n);
            this.open = { shard, offset: 0, group: 0 };
          }
          yield* this.readOpenShard();
          this.open = null;
          this.shardCursor++;
        }
      }
      while (this.epoch < this.o.epochs) {
        const order = this.epochOrder(this.epoch);
        while (this.shardCursor < order.length) {
          if (!this.open) this.open = { shard: order[this.shardCursor]!, offset: 0, group: 0 };
          yield* this.readOpenShard();
          this.open = null;
          this.shardCursor++;
        }
        while (this.buffer.length) yield this.take();
        this.epoch++;
        this.shardCursor = 0;
      }
    } finally {
      this.running = false;
    }
  }

  /** Streams the open shard from its saved offset, feeding the buffer (or yielding directly). */
  private async *readOpenShard(): AsyncGenerator<Sample> {
    const open = this.open!;
    const shard = this.spec.shards[open.shard]!;
    const { index, count } = this.o.worker;
    const rules = this.classnames && this.o.numClasses === undefined ? { ...this.o, numClasses: this.classnames.length } : this.o;
    for (let attempt = 0; ; attempt++) {
      const pending: { key?: string } = {};
      try {
        for await (const g of groupEntries(shard, open.offset, pending)) {
          const groupIndex = open.group;
          open.offset = g.end;
          open.group++;
          if (this.sampleSplit && groupIndex % count !== index) continue;
          if (g.duplicate) {
            this.stats_.skip("duplicate_file", `${shard}: ${g.key}: two .${g.duplicate} files under one key`, shard, g.key);
            continue;
          }
          const built = buildSample(g.key, shard, g.members, rules);
          if (!built.ok) {
            this.stats_.skip(built.reason, built.message, shard, g.key);
            continue;
          }
          this.stats_.dropCaptions(built.dropped);
          if (!this.o.shuffle && !this.o.resampled) {
            this.stats_.samples++;
            yield built.sample;
            continue;
          }
          this.buffer.push({ sample: built.sample, ref: [open.shard, g.start, g.end, groupIndex] });
          if (this.buffer.length >= this.o.shuffleBuffer) yield this.take();
        }
        return;
      } catch (e) {
        const at = pending.key !== undefined ? `: ${pending.key}` : open.group > 0 ? ` after sample ${open.group}` : "";
        if (e instanceof TarError) {
          this.stats_.skip(e.kind === "truncated" ? "truncated_shard" : "corrupt_shard", `${shard}${at}: ${e.message}`, shard, pending.key);
          return;
        }
        if (e instanceof ShardReadError) {
          if (e.truncated) {
            this.stats_.skip("truncated_shard", `${shard}${at}: ${e.message}`, shard, pending.key);
            return;
          }
          if (e.retryable && attempt < RETRIES) {
            await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
            continue; // resume the shard at the last complete sample
          }
          this.stats_.skip("unreadable_shard", e.message, shard);
          return;
        }
        throw e;
      }
    }
  }

  /** Removes and returns a random buffered sample. */
  private take(): Sample {
    const i = this.rng.int(this.buffer.length);
    const out = this.buffer[i]!;
    this.buffer[i] = this.buffer[this.buffer.length - 1]!;
    this.buffer.pop();
    this.stats_.samples++;
    return out.sample;
  }

  /** Re-reads the samples a saved position had in its shuffle buffer, in buffer order. */
  private async refill(refs: SampleRef[]): Promise<void> {
    const byShard = new Map<number, Map<number, Sample | null>>();
    for (const [shard, start] of refs) {
      if (!byShard.has(shard)) byShard.set(shard, new Map());
      byShard.get(shard)!.set(start, null);
    }
    const rules = this.classnames && this.o.numClasses === undefined ? { ...this.o, numClasses: this.classnames.length } : this.o;
    for (const [shardIndex, wanted] of byShard) {
      const shard = this.spec.shards[shardIndex];
      if (shard === undefined) throw new UserError(`the saved data position refers to shard ${shardIndex}, but the dataset has ${this.spec.shards.length}`);
      const starts = [...wanted.keys()].sort((a, b) => a - b);
      let found = 0;
      try {
        for await (const g of groupEntries(shard, starts[0]!)) {
          if (!wanted.has(g.start)) continue;
          const built = buildSample(g.key, shard, g.members, rules);
          if (built.ok) wanted.set(g.start, built.sample);
          if (++found === starts.length) break;
        }
      } catch (e) {
        if (!(e instanceof TarError || e instanceof ShardReadError)) throw e;
      }
    }
    this.buffer = [];
    for (const ref of refs) {
      const sample = byShard.get(ref[0])!.get(ref[1]);
      if (sample) this.buffer.push({ sample, ref });
      else this.stats_.skip("resume_missing", `${this.spec.shards[ref[0]]}: sample at byte ${ref[1]} from the saved position could not be read again`, this.spec.shards[ref[0]]);
    }
    this.pendingRefs = null;
  }
}
