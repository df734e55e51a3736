/** @file Small dense helpers over row-major typed arrays for evaluation: normalize, blocked A·Bᵀ, argsort-free ranking. */
import { InternalError, UserError } from "../errors.js";
import type { Embeddings } from "../clip/embedder.js";
import { dot, normalizeRows } from "../util/vector.js";

export { dot };

/** Checks that `e.data` holds exactly `n * dim` values. */
export function checkEmbeddings(e: Embeddings, what: string): void {
  if (!Number.isInteger(e.n) || !Number.isInteger(e.dim) || e.n < 0 || e.dim <= 0 || e.data.length !== e.n * e.dim) {
    throw new InternalError(`${what}: data length ${e.data.length} is not n*dim = ${e.n}*${e.dim}`);
  }
}

/** Throws a UserError when two embedding sets have different widths. */
export function checkSameDim(a: Embeddings, b: Embeddings, what: string): void {
  if (a.dim !== b.dim) throw new UserError(`${what}: embedding width mismatch: got ${a.dim} and ${b.dim}`);
}

/** A copy with every row scaled to unit L2 norm (norms summed in float64; zero rows stay zero). */
export function l2NormalizeRows(e: Embeddings): Embeddings {
  checkEmbeddings(e, "l2NormalizeRows");
  return { data: normalizeRows(Float32Array.from(e.data), e.dim), n: e.n, dim: e.dim };
}

/** Rows of B processed per tile: 256 rows of 512 floats (512 KiB) stay in L2 while a block of A streams over them. */
const TILE_B = 256;

/**
 * out[i, j] = scale * dot(A[aStart + i], B[j]) for i in [0, aCount), all rows j of B:
 * a [aCount, B.n] float32 block of A·Bᵀ, tiled over B for cache reuse.
 */
export function matmulABtRows(
  a: Embeddings,
  aStart: number,
  aCount: number,
  b: Embeddings,
  scale = 1,
  out?: Float32Array,
): Float32Array {
  const d = a.dim;
  if (b.dim !== d) throw new InternalError(`matmulABtRows: width mismatch ${a.dim} vs ${b.dim}`);
  if (aStart < 0 || aStart + aCount > a.n) throw new InternalError(`matmulABtRows: rows [${aStart}, ${aStart + aCount}) outside [0, ${a.n})`);
  const m = b.n;
  const res = out ?? new Float32Array(aCount * m);
  if (res.length < aCount * m) throw new InternalError(`matmulABtRows: output too small`);
  for (let j0 = 0; j0 < m; j0 += TILE_B) {
    const j1 = Math.min(m, j0 + TILE_B);
    for (let i = 0; i < aCount; i++) {
      const ao = (aStart + i) * d;
      const ro = i * m;
      for (let j = j0; j < j1; j++) res[ro + j] = scale * dot(a.data, ao, b.data, j * d, d);
    }
  }
  return res;
}

/** The full [a.n, b.n] product scale * A·Bᵀ. */
export function matmulABt(a: Embeddings, b: Embeddings, scale = 1): Float32Array {
  checkEmbeddings(a, "matmulABt(a)");
  checkEmbeddings(b, "matmulABt(b)");
  return matmulABtRows(a, 0, a.n, b, scale);
}

/**
 * Index of the largest value in row[o..o+m); ties go to the lowest index (deterministic, and the
 * same rule `rankOf` uses).
 */
export function argmaxRow(row: Float32Array | Float64Array, o: number, m: number): number {
  let best = 0;
  let bv = row[o]!;
  for (let j = 1; j < m; j++) {
    const v = row[o + j]!;
    if (v > bv) {
      bv = v;
      best = j;
    }
  }
  return best;
}

/**
 * 0-based rank of entry `t` of row[o..o+m) in a descending sort that puts equal values in
 * ascending index order: the number of entries strictly greater, plus equal entries at a lower index.
 * NaN scores rank last.
 */
export function rankOf(row: Float32Array | Float64Array, o: number, m: number, t: number): number {
  const v = row[o + t]!;
  if (Number.isNaN(v)) return m - 1;
  let r = 0;
  for (let j = 0; j < m; j++) {
    const x = row[o + j]!;
    if (x > v || (x === v && j < t)) r++;
  }
  return r;
}

/**
 * The k best indices of row[o..o+m), best first, with the same tie rule as `rankOf`
 * (partial selection, O(m·k)).
 */
export function topKRow(row: Float32Array | Float64Array, o: number, m: number, k: number): number[] {
  const kk = Math.min(k, m);
  const idx: number[] = [];
  const vals: number[] = [];
  for (let j = 0; j < m; j++) {
    const v = row[o + j]!;
    const vv = Number.isNaN(v) ? -Infinity : v;
    if (idx.length === kk && !(vv > vals[kk - 1]!)) continue;
    // insertion point: after every kept value >= vv (keeps lower indices first on ties)
    let p = idx.length;
    while (p > 0 && vals[p - 1]! < vv) p--;
    idx.splice(p, 0, j);
    vals.splice(p, 0, vv);
    if (idx.length > kk) {
      idx.pop();
      vals.pop();
    }
  }
  return idx;
}
