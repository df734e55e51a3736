/** @file A small seeded RNG (sfc32) with a JSON-serializable state, for shuffles that must resume exactly. */

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

/** Seeded pseudo-random numbers; `state()`/`setState()` snapshot and restore the stream exactly. */
export class DataRng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...seed: (number | string)[]) {
    const s = hashSeed(...seed);
    this.a = s;
    this.b = hashSeed(s, 1);
    this.c = hashSeed(s, 2);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextU32(); // warm up: decorrelate nearby seeds
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [0, n) (n <= 2^32). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** One element chosen uniformly. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }

  state(): [number, number, number, number] {
    return [this.a, this.b, this.c, this.d];
  }

  setState(s: readonly number[]): void {
    if (s.length !== 4 || s.some((x) => !Number.isInteger(x))) throw new Error(`internal: bad rng state ${JSON.stringify(s)}`);
    [this.a, this.b, this.c, this.d] = [s[0]! | 0, s[1]! | 0, s[2]! | 0, s[3]! | 0];
  }
}

/** A permutation of 0..n-1 drawn from a fresh RNG seeded by `seed`. */
export function permutation(n: number, ...seed: (number | string)[]): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  return new DataRng(...seed).shuffle(order);
}
