/**
 * @file Transposes folded into weights at emission: a weight only ever used as `x @ W^T` (every
 * linear layer) is stored as W^T, so ONNX Runtime gets MatMul-ready weights and neither
 * constant-folds a transposed copy nor keeps the original beside it.
 */
import type { HostArray } from "../ir/dtype.js";
import type { OpAttrs } from "../ir/ops.js";
import { fmtShape } from "../ir/shape.js";
import type { Tensor } from "../ir/tensor.js";

/** Throws unless `w` has as many values as param `t` needs. */
export function checkWeight(name: string, w: HostArray, t: Tensor): void {
  const n = (t.shape as number[]).reduce((a, b) => a * b, 1);
  if (w.length !== n) throw new Error(`emit: weight '${name}' has ${w.length} values, param ${fmtShape(t.shape)} needs ${n}`);
}

/** Ids of params with weights whose every consumer is a [1, 0] transpose (and that are not outputs themselves). */
export function foldableTransposes(order: Tensor[], weights: ((name: string) => HostArray | undefined) | undefined, outputs: readonly Tensor[]): Set<number> {
  const ok = new Map<number, boolean>();
  if (!weights) return new Set();
  for (const t of outputs) ok.set(t.id, false);
  for (const t of order) {
    for (const x of t.inputs) {
      if (x.op !== "param") continue;
      const isT = t.op === "transpose" && x.rank === 2 && (t.attrs as OpAttrs["transpose"]).perm[0] === 1;
      ok.set(x.id, (ok.get(x.id) ?? true) && isT);
    }
  }
  const out = new Set<number>();
  for (const t of order) {
    if (t.op !== "param" || !ok.get(t.id)) continue;
    const w = weights((t.attrs as OpAttrs["param"]).name);
    if (w) {
      checkWeight((t.attrs as OpAttrs["param"]).name, w, t);
      out.add(t.id);
    }
  }
  return out;
}

let transposeScratch = new ArrayBuffer(0);

/** Lets the shared transpose buffer go (after an emission). */
export function releaseTransposeScratch(): void {
  transposeScratch = new ArrayBuffer(0);
}

/** A [rows, cols] row-major array as [cols, rows]; in a shared scratch buffer when `scratch`. */
export function transpose2d(src: HostArray, rows: number, cols: number, scratch = false): HostArray {
  const Ctor = src.constructor as new (b: ArrayBuffer, off: number, n: number) => HostArray;
  if (scratch && transposeScratch.byteLength < src.byteLength) transposeScratch = new ArrayBuffer(src.byteLength);
  const out = new Ctor(scratch ? transposeScratch : new ArrayBuffer(src.byteLength), 0, src.length);
  const a = src as Float32Array; // any element type: values are only moved
  const o = out as Float32Array;
  const B = 32; // tiles keep both sides in cache
  for (let i0 = 0; i0 < rows; i0 += B) {
    for (let j0 = 0; j0 < cols; j0 += B) {
      const i1 = Math.min(rows, i0 + B);
      const j1 = Math.min(cols, j0 + B);
      for (let i = i0; i < i1; i++) for (let j = j0; j < j1; j++) o[j * rows + i] = a[i * cols + j];
    }
  }
  return out;
}
