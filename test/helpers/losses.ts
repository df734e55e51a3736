/** @file Float64 helpers of the loss tests: unit rows, dot products, log-sum-exp. */
import type { Rng } from "../../src/util/rng.js";

/** Rows of unit length: n x d, float64. */
export function unitRows(rng: Rng, n: number, d: number): number[][] {
  return Array.from({ length: n }, () => {
    const r = Array.from({ length: d }, () => rng.uniform(-1, 1));
    const norm = Math.hypot(...r);
    return r.map((v) => v / norm);
  });
}

export const dotRows = (a: number[], b: number[]): number => a.reduce((s, v, i) => s + v * b[i]!, 0);

export const logSumExp = (xs: number[]): number => {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
};
