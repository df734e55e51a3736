/** @file A dataset's statistics: samples delivered, skips (through the shared SkipLog) and captions changed. */
import { SkipLog, type SkipExample, type SkipSummary } from "./skips.js";
import type { DataStats, OnBadSample } from "./types.js";

const MAX_MESSAGES = 20;

/** Counts what a dataset delivers and skips; with onBad "error" the first skip throws a UserError. */
export class StatsCounter {
  samples = 0;
  droppedCaptions: Record<string, number> = {};
  private log: SkipLog;

  constructor(private readonly onBad: OnBadSample) {
    this.log = new SkipLog(onBad, MAX_MESSAGES);
  }

  /** Counts a skipped sample named by `source` (shard, file, folder) and `key`; see SkipLog.add. */
  skip(reason: string, message: string, source?: string, key?: string): void {
    const e: SkipExample = { reason, source: source ?? message.split(": ")[0]!, message };
    if (key !== undefined) e.key = key;
    this.log.add(e);
  }

  dropCaptions(dropped: Record<string, number>): void {
    for (const [k, v] of Object.entries(dropped)) this.droppedCaptions[k] = (this.droppedCaptions[k] ?? 0) + v;
  }

  /** The skips in the shared JSON form. */
  skips(): SkipSummary {
    return this.log.toJSON();
  }

  snapshot(): DataStats {
    const s = this.log.toJSON();
    const out: DataStats = { samples: this.samples, skipped: s.by_reason };
    if (Object.keys(this.droppedCaptions).length) out.droppedCaptions = { ...this.droppedCaptions };
    if (s.examples.length) {
      out.messages = s.examples.map((e) => e.message);
      out.examples = s.examples;
    }
    return out;
  }

  restore(s: DataStats): void {
    this.samples = s.samples;
    this.droppedCaptions = { ...(s.droppedCaptions ?? {}) };
    this.log = SkipLog.from(skipSummary(s), this.onBad);
  }
}

/** A dataset's skips in the shared JSON form (examples rebuilt from messages for stats saved before they had them). */
export function skipSummary(stats: DataStats): SkipSummary {
  const examples = stats.examples ?? (stats.messages ?? []).map((message) => ({ reason: "unknown", source: message.split(": ")[0]!, message }));
  return { count: totalSkipped(stats), by_reason: { ...stats.skipped }, examples: examples.map((e) => ({ ...e })) };
}

/** Total skipped samples. */
export function totalSkipped(stats: DataStats): number {
  return Object.values(stats.skipped).reduce((a, b) => a + b, 0);
}

/** One line for the end of a run: "1000 samples; skipped 3 (missing_caption 2, truncated_shard 1)". */
export function formatStats(stats: DataStats): string {
  const total = totalSkipped(stats);
  const parts = Object.entries(stats.skipped).map(([k, v]) => `${k} ${v}`);
  let line = `${stats.samples} samples`;
  if (total) line += `; skipped ${total} (${parts.join(", ")})`;
  const dropped = Object.entries(stats.droppedCaptions ?? {}).map(([k, v]) => `${k} ${v}`);
  if (dropped.length) line += `; captions (${dropped.join(", ")})`;
  return line;
}
