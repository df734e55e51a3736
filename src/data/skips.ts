/**
 * @file SkipLog: the one place where inputs that cannot be read or decoded are counted by reason
 * and named, for every command that reads many inputs (training, eval, classify, embed, the index,
 * the server). Its JSON form is the `"skipped"` member of the commands' `--json` documents:
 *
 *   { "count": n, "by_reason": { "undecodable_image": 2, ... },
 *     "examples": [ { "reason", "source", "key"?, "message" }, ... ] }   (at most MAX_SKIP_EXAMPLES)
 *
 * `source` is the shard, CSV file, folder or image path; `key` the sample's key inside it. Browser-safe.
 */
import { UserError } from "../errors.js";

/** Examples kept per log: enough to find the bad files, bounded for huge runs. */
export const MAX_SKIP_EXAMPLES = 20;

/** One named skip. */
export interface SkipExample {
  /** Why: missing_caption, undecodable_image, truncated_shard, unreadable_image, ... */
  reason: string;
  /** The shard, CSV file, folder, or image path the input came from. */
  source: string;
  /** The sample's key inside `source`, when it has one. */
  key?: string;
  /** One line naming the input and the problem. */
  message: string;
}

/** The JSON form of a SkipLog. */
export interface SkipSummary {
  count: number;
  by_reason: Record<string, number>;
  examples: SkipExample[];
}

/** What to do with the first skip: count it and go on, or throw a UserError (`--strict`). */
export type SkipPolicy = "skip" | "error";

/** Counts skipped inputs by reason and keeps the first few, named. */
export class SkipLog {
  count = 0;
  byReason: Record<string, number> = {};
  examples: SkipExample[] = [];

  constructor(
    /** "error" turns the first skip into a UserError carrying its message. */
    readonly policy: SkipPolicy = "skip",
    readonly maxExamples = MAX_SKIP_EXAMPLES,
  ) {}

  /** Records one skipped input (or throws, under the "error" policy). */
  add(example: SkipExample): void {
    if (this.policy === "error") throw new UserError(example.message);
    this.count++;
    this.byReason[example.reason] = (this.byReason[example.reason] ?? 0) + 1;
    if (this.examples.length < this.maxExamples) this.examples.push({ ...example });
  }

  /** Adds another log's (or summary's) counts and examples. */
  merge(other: SkipSummary | SkipLog): void {
    const s = other instanceof SkipLog ? other.toJSON() : other;
    this.count += s.count;
    for (const [k, v] of Object.entries(s.by_reason)) this.byReason[k] = (this.byReason[k] ?? 0) + v;
    for (const e of s.examples) if (this.examples.length < this.maxExamples) this.examples.push({ ...e });
  }

  toJSON(): SkipSummary {
    return { count: this.count, by_reason: { ...this.byReason }, examples: this.examples.map((e) => ({ ...e })) };
  }

  /** A log holding a summary (e.g. one read back from a cache or a saved position). */
  static from(s: SkipSummary, policy: SkipPolicy = "skip"): SkipLog {
    const log = new SkipLog(policy);
    log.merge(s);
    return log;
  }
}

/** An empty summary. */
export function noSkips(): SkipSummary {
  return { count: 0, by_reason: {}, examples: [] };
}

/** "3 (undecodable_image 2, truncated_shard 1)". */
export function formatSkipCounts(s: SkipSummary): string {
  const parts = Object.entries(s.by_reason).map(([k, v]) => `${k} ${v}`);
  return `${s.count}${parts.length ? ` (${parts.join(", ")})` : ""}`;
}

/**
 * The stderr summary of a run's skips: a headline with the counts by reason, then one line per
 * example, then how many more there were. Empty when nothing was skipped.
 */
export function skipReport(s: SkipSummary, what: string): string[] {
  if (s.count === 0) return [];
  const lines = [`${what}: skipped ${formatSkipCounts(s)}`];
  for (const e of s.examples) lines.push(`  ${e.message}`);
  if (s.count > s.examples.length) lines.push(`  ... and ${s.count - s.examples.length} more`);
  return lines;
}
