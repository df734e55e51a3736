/**
 * @file The fuzz suite's harness: a seeded PRNG, byte mutators, the outcome of one case (accepted,
 * refused with our own error naming the input, or a failure), and a tally per target that prints
 * its summary and fails the test with reproducible case ids.
 */
import assert from "node:assert/strict";
import { UserError } from "../../src/errors.js";

/** The suite's seed: `FUZZ_SEED=n` explores other cases; CI uses the default. */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 19);
/** Case counts are multiplied by this (`FUZZ_SCALE=10` for a longer local run). */
export const FUZZ_SCALE = Number(process.env.FUZZ_SCALE ?? 1);
/** A case slower than this is a failure (a hang, in a suite of small inputs). */
export const CASE_LIMIT_MS = 2000;

/** mulberry32: small, fast, seeded. */
export class FuzzRng {
  private s: number;
  constructor(...seed: number[]) {
    let h = 0x9e3779b9;
    for (const x of seed) h = Math.imul(h ^ (x | 0), 0x85ebca6b) ^ (h >>> 13);
    this.s = h >>> 0;
  }
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** A mutation of a seed file: the bytes and a short description for reproduction. */
export interface Mutant {
  bytes: Uint8Array;
  op: string;
}

/** Truncation at an offset. */
export function truncate(b: Uint8Array, at: number): Mutant {
  return { bytes: b.slice(0, at), op: `truncate@${at}` };
}

/** One of the generic mutations: truncation, bit flips, byte overwrites, 16-bit extremes, splices. */
export function mutate(rng: FuzzRng, b: Uint8Array, from = 0): Mutant {
  const out = b.slice();
  const at = (): number => from + rng.int(Math.max(1, out.length - from));
  switch (rng.int(6)) {
    case 0:
      return truncate(b, at());
    case 1: {
      const ops: string[] = [];
      for (let k = 1 + rng.int(4); k > 0; k--) {
        const i = at();
        const bit = rng.int(8);
        out[i]! ^= 1 << bit;
        ops.push(`${i}.${bit}`);
      }
      return { bytes: out, op: `bitflip ${ops.join(",")}` };
    }
    case 2: {
      const i = at();
      const v = rng.pick([0, 0xff, 0x7f, 0x80, rng.int(256)]);
      out[i] = v;
      return { bytes: out, op: `set ${i}=${v}` };
    }
    case 3: {
      // a 16-bit big- or little-endian field pushed to an extreme (sizes, lengths, counts)
      const i = Math.min(at(), out.length - 2);
      const v = rng.pick([0, 1, 0xffff, 0x8000, 0x7fff]);
      out[i] = v >> 8;
      out[i + 1] = v & 0xff;
      return { bytes: out, op: `u16 ${i}=${v}` };
    }
    case 4: {
      const i = at();
      const n = 1 + rng.int(64);
      return { bytes: Uint8Array.from([...b.subarray(0, i), ...b.subarray(i + n)]), op: `delete ${i}+${n}` };
    }
    default: {
      const i = at();
      const j = rng.int(b.length);
      const n = 1 + rng.int(32);
      return { bytes: Uint8Array.from([...b.subarray(0, i), ...b.subarray(j, j + n), ...b.subarray(i)]), op: `splice ${i}<-${j}+${n}` };
    }
  }
}

export type OutcomeKind = "accepted" | "refused" | "failure";

export interface Outcome<T> {
  kind: OutcomeKind;
  value?: T;
  error?: unknown;
  message: string;
  ms: number;
}

/**
 * Runs one case. A refusal counts only as our own error (`ours`, default UserError) whose message names the input (`name`);
 * anything else thrown (RangeError, TypeError, InternalError, an error without the name) and a
 * case slower than CASE_LIMIT_MS are failures.
 */
export async function runCase<T>(name: string, fn: () => T | Promise<T>, ours: (e: unknown) => boolean = (e) => e instanceof UserError): Promise<Outcome<T>> {
  const t0 = performance.now();
  let out: Outcome<T>;
  try {
    const value = await fn();
    out = { kind: "accepted", value, message: "", ms: 0 };
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    const refused = ours(e) && (e as Error).message.includes(name);
    out = { kind: refused ? "refused" : "failure", error: e, message: refused ? (e as Error).message : msg, ms: 0 };
  }
  out.ms = performance.now() - t0;
  if (out.kind !== "failure" && out.ms > CASE_LIMIT_MS) out = { ...out, kind: "failure", message: `took ${out.ms.toFixed(0)} ms (limit ${CASE_LIMIT_MS})` };
  return out;
}

/** Counts per target, extra named counters (depth, agreement), and the failures with their case ids. */
export class Tally {
  cases = 0;
  accepted = 0;
  refused = 0;
  failures: string[] = [];
  counters: Record<string, number> = {};
  maxMs = 0;
  private readonly t0 = performance.now();

  constructor(readonly target: string) {}

  add(id: string, o: Outcome<unknown>): void {
    this.cases++;
    this.maxMs = Math.max(this.maxMs, o.ms);
    if (o.kind === "accepted") this.accepted++;
    else if (o.kind === "refused") this.refused++;
    else this.fail(id, o.message);
  }

  fail(id: string, why: string): void {
    this.failures.push(`${id}: ${why.split("\n")[0]}`);
  }

  count(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  /** Prints the summary line (the numbers the report quotes come from here) and fails on any failure. */
  finish(): void {
    const extra = Object.entries(this.counters).map(([k, v]) => `${k} ${v}`).join(", ");
    const secs = ((performance.now() - this.t0) / 1000).toFixed(1);
    console.log(
      `# fuzz ${this.target}: ${this.cases} cases in ${secs} s (seed ${FUZZ_SEED}): accepted ${this.accepted}, refused ${this.refused}, ` +
        `failures ${this.failures.length}, slowest ${this.maxMs.toFixed(0)} ms${extra ? `; ${extra}` : ""}`,
    );
    if (process.env.FUZZ_VERBOSE) for (const f of this.failures) console.log(`# failure: ${f}`);
    assert.deepEqual(this.failures.slice(0, 10), [], `${this.failures.length} failure(s) in ${this.target} (FUZZ_SEED=${FUZZ_SEED})`);
  }
}
