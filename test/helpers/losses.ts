/** @file Helpers of the loss tests: float64 unit rows, dot products and log-sum-exp; a loss run by ORT checked against its float64 formula. */
import assert from "node:assert/strict";
import { grad } from "../../src/autodiff/grad.js";
import * as T from "../../src/ir/tensor.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { CompiledGraph } from "../../src/runtime/session.js";
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

/** A loss of image rows [N, D] and text rows [M, D] run by ORT: its value and its gradient in the text rows. */
export async function lossAndTextGrad(build: (img: Tensor, txt: Tensor) => Tensor, img: number[][], txt: number[][]): Promise<{ loss: number; gradTxt: Float32Array }> {
  const d = img[0]!.length;
  const I = T.input("img", "float32", [img.length, d]);
  const X = T.input("txt", "float32", [txt.length, d]);
  const loss = build(I, X);
  const [gt] = grad(loss, [X]);
  const g = await CompiledGraph.compile({ loss, gt: gt! });
  try {
    const r = await g.run({ img: { data: Float32Array.from(img.flat()), shape: [img.length, d] }, txt: { data: Float32Array.from(txt.flat()), shape: [txt.length, d] } });
    return { loss: (r.loss.data as Float32Array)[0]!, gradTxt: r.gt.data as Float32Array };
  } finally {
    await g.release();
  }
}

/** The loss against its float64 formula `ref`, and the gradient of a few text entries against central differences of it. */
export function assertMatchesRef(got: { loss: number; gradTxt: Float32Array }, ref: (txt: number[][]) => number, txt: number[][], label: string): void {
  const d = txt[0]!.length;
  assert.ok(Math.abs(got.loss - ref(txt)) <= 1e-5 * Math.abs(ref(txt)), `${label}: ${got.loss} vs ${ref(txt)}`);
  for (const [row, col] of [[0, 0], [txt.length - 1, d - 1], [Math.floor(txt.length / 2), 2]] as const) {
    const h = 1e-5;
    const plus = txt.map((r) => [...r]);
    const minus = txt.map((r) => [...r]);
    plus[row]![col]! += h;
    minus[row]![col]! -= h;
    const fd = (ref(plus) - ref(minus)) / (2 * h);
    assert.ok(Math.abs(got.gradTxt[row * d + col]! - fd) <= 1e-4 + 1e-3 * Math.abs(fd), `${label} d/dtxt[${row},${col}]: ${got.gradTxt[row * d + col]} vs ${fd}`);
  }
}
