/** @file Shared helpers of the index benchmarks: argument parsing, medians, real image bytes, noisy copies of embeddings. */
import { openDataset } from "../../src/data/index.js";
import { normalizeRows } from "../../src/util/vector.js";
import { Rng } from "../../src/util/rng.js";

/** `--name value` flags of argv as a record. */
export function flags(argv = process.argv.slice(2)): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) if (argv[i]!.startsWith("--")) out[argv[i]!.slice(2)] = argv[i + 1]?.startsWith("--") || argv[i + 1] === undefined ? "true" : argv[++i]!;
  return out;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!;
}

/** The first n images of a dataset SPEC (encoded bytes). */
export async function datasetImages(spec: string, n: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const s of openDataset(spec)) {
    out.push(s.image!);
    if (out.length >= n) break;
  }
  return out;
}

/**
 * `count` vectors made from `base` ([k, dim] normalized rows): row i is base row i % k plus
 * Gaussian noise of standard deviation sigma per coordinate, normalized again (copies keep the
 * neighbourhoods of the real embeddings; uniform random vectors have none).
 */
export function noisyCopies(base: Float32Array, dim: number, count: number, sigma: number, seed: number, offset = 0): Float32Array {
  const k = base.length / dim;
  const rng = new Rng(seed);
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    const b = ((offset + i) % k) * dim;
    for (let j = 0; j < dim; j++) out[i * dim + j] = base[b + j]! + sigma * rng.normal();
  }
  return normalizeRows(out, dim);
}
