/** @file The project's one random number generator (xoshiro128**): seeded, resumable, the same stream on every platform; used by data, augmentation, initialization, training and evaluation. */
import { InternalError, UserError } from "../errors.js";

/** Saved generator state: four 32-bit words. Restoring it resumes the exact same stream. */
export type RngState = [number, number, number, number];

/** Mixes any number of integers and strings into one 32-bit seed (murmur3 finalizer per part). */
export function hashSeed(...parts: (number | string)[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    const s = typeof part === "number" ? String(part) : `s:${part}`;
    for (let i = 0; i < s.length; i++) {
      h = Math.imul(h ^ s.charCodeAt(i), 0x85ebca6b);
      h ^= h >>> 13;
    }
    h = Math.imul(h ^ 0x2f, 0xc2b2ae35); // part separator
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** splitmix32: spreads a user seed over the four state words (xoshiro must not start all-zero). */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * xoshiro128** (Blackman & Vigna): small state, fast in 32-bit integer arithmetic, and the same
 * stream on every platform. Not cryptographic.
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** A generator seeded by several parts at once, e.g. `Rng.from(seed, "shuffle", epoch)`: distinct parts give unrelated streams. */
  static from(...parts: (number | string)[]): Rng {
    return new Rng(hashSeed(...parts));
  }

  /** Restarts the stream from a seed (any number; its low 32 bits and a hash of the rest count). */
  seed(seed: number): void {
    const hi = Math.floor(seed / 4294967296);
    const mix = splitmix32((seed >>> 0) ^ Math.imul(hi | 0, 0x27d4eb2d));
    this.s0 = mix();
    this.s1 = mix();
    this.s2 = mix();
    this.s3 = mix();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A uniform unsigned 32-bit integer. */
  nextU32(): number {
    const s0 = this.s0, s1 = this.s1, s2 = this.s2, s3 = this.s3;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    let n2 = s2 ^ s0;
    let n3 = s3 ^ s1;
    const n1 = s1 ^ n2;
    const n0 = s0 ^ n3;
    n2 ^= t;
    n3 = rotl(n3, 11);
    this.s0 = n0 >>> 0;
    this.s1 = n1 >>> 0;
    this.s2 = n2 >>> 0;
    this.s3 = n3 >>> 0;
    return r;
  }

  /** A uniform double in [0, 1) with 53 random bits (two 32-bit draws). */
  next(): number {
    const a = this.nextU32() >>> 5; // 27 bits
    const b = this.nextU32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** A uniform double in [a, b). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }

  /** A uniform integer in [0, n), unbiased (rejection sampling); n must be in [1, 2^32]. */
  int(n: number): number {
    if (!(n >= 1 && n <= 4294967296 && Number.isInteger(n))) {
      throw new InternalError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    }
    // reject the top partial block of 2^32 so every residue is equally likely
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const r = this.nextU32();
      if (r < limit) return r % n;
    }
  }

  /** A standard normal sample (Box-Muller; draws two uniforms, keeps no spare so state() is complete). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** One element chosen uniformly. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Shuffles an array or typed array in place (Fisher-Yates) and returns it. */
  shuffle<A extends { length: number; [i: number]: unknown }>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i]!;
      array[i] = array[j]!;
      array[j] = tmp;
    }
    return array;
  }

  /** The current state, to save with a checkpoint. */
  state(): RngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Restores a state from state(). */
  setState(state: readonly number[]): void {
    if (state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new UserError(`random generator state: expected four unsigned 32-bit integers, got [${state.join(",")}] (a checkpoint written by an older version?)`);
    }
    if ((state[0]! | state[1]! | state[2]! | state[3]!) === 0) {
      throw new UserError("random generator state: all zeros is not a valid xoshiro128** state");
    }
    [this.s0, this.s1, this.s2, this.s3] = state as RngState;
  }
}

/** A permutation of 0..n-1 drawn from a fresh generator seeded by `seed` parts. */
export function permutation(n: number, ...seed: (number | string)[]): number[] {
  return Rng.from(...seed).shuffle(Array.from({ length: n }, (_, i) => i));
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
