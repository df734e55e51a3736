/**
 * @file Every command's option parsers, in one place: each checks its value and throws commander's
 * InvalidArgumentError naming the flag and the value it got, which commander prints as one line.
 */
import { InvalidArgumentError, Option } from "commander";
import { PRECISIONS } from "../models/clip/int8.js";

/** An integer >= min (default 1). */
export function intArg(name: string, min = 1): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${v}"`);
    return n;
  };
}

/** A finite number >= min (default: any finite number). */
export function numArg(name: string, min = -Infinity): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number${min > -Infinity ? ` >= ${min}` : ""}, got "${v}"`);
    return n;
  };
}

/** A finite number > 0. */
export function positiveArg(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a positive number, got "${v}"`);
    return n;
  };
}

/** A probability in [0, 1]. */
export function probArg(name: string): (v: string) => number {
  return (v) => {
    const p = Number(v);
    if (v.trim() === "" || !(p >= 0 && p <= 1)) throw new InvalidArgumentError(`${name} must be a probability between 0 and 1, got "${v}"`);
    return p;
  };
}

/** A number in [0, 1): 0 (off) up to, not including, 1. */
export function unitArg(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === "" || !(n >= 0 && n < 1)) throw new InvalidArgumentError(`${name} must be a number >= 0 and < 1, got "${v}"`);
    return n;
  };
}

/** A fraction strictly between 0 and 1. */
export function fractionArg(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`${name} must be between 0 and 1 (exclusive), got "${v}"`);
    return n;
  };
}

/** "A,B" with 0 < A <= B (and B <= max): a range flag such as --aug-scale. */
export function rangeArg(name: string, max = Infinity): (v: string) => [number, number] {
  return (v) => {
    const parts = v.split(",").map((x) => Number(x.trim()));
    if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[0] > 0 && parts[0] <= parts[1] && parts[1] <= max)) {
      throw new InvalidArgumentError(`${name} must be two numbers MIN,MAX with 0 < MIN <= MAX${max < Infinity ? ` <= ${max}` : ""}, got "${v}"`);
    }
    return [parts[0], parts[1]];
  };
}

/** Comma-separated positive integers, e.g. --ks 1,5,10. */
export function intListArg(name: string): (v: string) => number[] {
  return (v) => {
    const ks = v.split(",").map((s) => Number(s.trim()));
    if (v.trim() === "" || ks.some((k) => !Number.isInteger(k) || k < 1)) throw new InvalidArgumentError(`${name} must be positive integers separated by commas, got "${v}"`);
    return ks;
  };
}

/** A repeatable flag's accumulator: `--image a --image b` gives ["a", "b"]. */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** --precision: "fp32" or "int8" (see ClipModel's `precision` option). */
export function precisionOption(): Option {
  return new Option("--precision <p>", "fp32, or int8: linear layers in int8 (per-channel weights, dynamic activations), about 2x faster on CPUs with VNNI").choices(PRECISIONS as string[]).default("fp32");
}

/** --save-dtype values -> the safetensors dtype of the floating-point weights written (f32 is open_clip's own). */
export const SAVE_DTYPES = { f32: "F32", f16: "F16", bf16: "BF16" } as const;
/** `I/N` with 1 <= I <= N (`--part`): this process's share of the work, as 0-based { index, count }. */
export function partArg(name: string): (v: string) => { index: number; count: number } {
  return (v) => {
    const m = /^(\d+)\/(\d+)$/.exec(v.trim());
    const i = m ? Number(m[1]) : NaN;
    const n = m ? Number(m[2]) : NaN;
    if (!m || !(n >= 1) || !(i >= 1 && i <= n)) throw new InvalidArgumentError(`${name} must be I/N with 1 <= I <= N, got "${v}"`);
    return { index: i - 1, count: n };
  };
}

/** A cosine similarity in [-1, 1] (--min-score, --threshold). */
export function cosineArg(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === "" || !(n >= -1 && n <= 1)) throw new InvalidArgumentError(`${name} must be a cosine similarity between -1 and 1, got "${v}"`);
    return n;
  };
}

/** A TCP port, 0 (any free one) to 65535. */
export function portArg(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`${name} must be a port number from 0 to 65535, got "${v}"`);
    return n;
  };
}

/** A size in MiB (> 0, fractions allowed), returned in bytes. */
export function mibArg(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === "" || !(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a positive number of MiB, got "${v}"`);
    return Math.floor(n * 1024 * 1024);
  };
}
