/** @file The skip summary every many-input command reports: counts by reason and the first few inputs named. */

/** `"skipped"` of the --json documents: how many inputs were left out, why, and which (the first few). */
export interface SkipSummary {
  count: number;
  by_reason: Record<string, number>;
  /** "path: reason" (or "shard#key: reason") of the first MAX_EXAMPLES skips. */
  examples: string[];
}

const MAX_EXAMPLES = 20;

/** Accumulates skipped inputs. */
export class SkipCounter {
  readonly summary: SkipSummary = { count: 0, by_reason: {}, examples: [] };

  /** Counts one skipped input; `message` names it. */
  add(reason: string, message: string): void {
    this.summary.count++;
    this.summary.by_reason[reason] = (this.summary.by_reason[reason] ?? 0) + 1;
    if (this.summary.examples.length < MAX_EXAMPLES) this.summary.examples.push(message);
  }

  /** Adds a dataset reader's own skips (missing image, truncated shard, ...). */
  addCounts(byReason: Record<string, number>, messages: string[] = []): void {
    for (const [k, v] of Object.entries(byReason)) {
      this.summary.count += v;
      this.summary.by_reason[k] = (this.summary.by_reason[k] ?? 0) + v;
    }
    for (const m of messages) if (this.summary.examples.length < MAX_EXAMPLES) this.summary.examples.push(m);
  }
}
