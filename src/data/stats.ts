/** @file Counting skipped samples (and raising the error instead, when asked to). */
import { UserError } from "../errors.js";
import type { DataStats, OnBadSample } from "./types.js";

const MAX_MESSAGES = 20;

export class StatsCounter {
  samples = 0;
  skipped: Record<string, number> = {};
  droppedCaptions: Record<string, number> = {};
  messages: string[] = [];

  constructor(private readonly onBad: OnBadSample) {}

  /** Counts a skipped sample; with onBad "error" throws a UserError carrying the message instead. */
  skip(reason: string, message: string): void {
    if (this.onBad === "error") throw new UserError(message);
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
    if (this.messages.length < MAX_MESSAGES) this.messages.push(message);
  }

  dropCaptions(dropped: Record<string, number>): void {
    for (const [k, v] of Object.entries(dropped)) this.droppedCaptions[k] = (this.droppedCaptions[k] ?? 0) + v;
  }

  snapshot(): DataStats {
    const out: DataStats = { samples: this.samples, skipped: { ...this.skipped } };
    if (Object.keys(this.droppedCaptions).length) out.droppedCaptions = { ...this.droppedCaptions };
    if (this.messages.length) out.messages = [...this.messages];
    return out;
  }

  restore(s: DataStats): void {
    this.samples = s.samples;
    this.skipped = { ...s.skipped };
    this.droppedCaptions = { ...(s.droppedCaptions ?? {}) };
    this.messages = [...(s.messages ?? [])];
  }
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
  if (dropped.length) line += `; dropped captions (${dropped.join(", ")})`;
  return line;
}
