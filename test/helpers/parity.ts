/**
 * @file Parity checks against the reference's tensors: every row's cosine >= 0.99999 AND every
 * element within 1e-4 of the tensor's largest magnitude. The cosine alone cannot tell GELU from
 * QuickGELU in an image tower (0.999991 with the swap); the element bound can (the code reaches ~5e-7).
 */
import assert from "node:assert/strict";

export const MIN_COSINE = 0.99999;
export const MAX_REL_ERROR = 1e-4;

/** Row cosines of two row-major [n, dim] arrays. */
export function rowCosines(got: ArrayLike<number>, want: ArrayLike<number>, dim: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < want.length / dim; r++) {
    let d = 0, a = 0, b = 0;
    for (let j = 0; j < dim; j++) {
      const x = got[r * dim + j]!, y = want[r * dim + j]!;
      d += x * y;
      a += x * x;
      b += y * y;
    }
    out.push(d / Math.sqrt(a * b));
  }
  return out;
}

/** max |got - want| / max |want|. */
export function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 0, err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
  }
  return err / scale;
}

/** Unit-normalized copy of row-major [n, dim] values (float64). */
export function unitRows(x: ArrayLike<number>, dim: number): Float64Array {
  const out = Float64Array.from(x);
  for (let o = 0; o < out.length; o += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += out[o + j]! * out[o + j]!;
    for (let j = 0; j < dim; j++) out[o + j]! /= Math.sqrt(s);
  }
  return out;
}

/** Asserts parity of [n, dim] features with the reference: shapes, row cosines and the element bound. */
export function assertParity(got: ArrayLike<number>, want: ArrayLike<number>, dim: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, the reference has ${want.length}`);
  rowCosines(got, want, dim).forEach((c, i) => assert.ok(c >= MIN_COSINE, `${what} row ${i}: cosine ${c} < ${MIN_COSINE}`));
  const e = relError(got, want);
  assert.ok(e <= MAX_REL_ERROR, `${what}: an element differs by ${e.toExponential(2)} of the largest magnitude (> ${MAX_REL_ERROR})`);
}

/** Asserts logits within 1e-3 absolute of the reference's. */
export function assertLogits(got: ArrayLike<number>, want: ArrayLike<number>, what = "logits"): void {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, the reference has ${want.length}`);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-3, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
}
