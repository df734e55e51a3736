/** @file Reverse-mode autodiff over the IR: gradients are new tensors in the same graph. */
import { isFloat } from "../ir/dtype.js";
import type { OpName } from "../ir/ops.js";
import { fmtShape, sameShape, type Shape } from "../ir/shape.js";
import * as T from "../ir/tensor.js";
import type { Tensor } from "../ir/tensor.js";
import { topoSort } from "../ir/graph.js";
import { GRAD_RULES, NONDIFF } from "./rules.js";

/** Raised when a gradient cannot be built (an op without a gradient rule, a non-float output). */
export class GradError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GradError";
  }
}

/** Sums `g` over the axes along which `shape` was broadcast to produce it. */
export function unbroadcast(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  if (lead < 0) throw new GradError(`internal: gradient ${fmtShape(g.shape)} has lower rank than its input ${fmtShape(shape)}`);
  let out = g;
  if (lead > 0) out = T.reduceSum(out, [...Array(lead).keys()], false);
  const ones = shape.map((d, i) => (d === 1 && out.shape[i] !== 1 ? i : -1)).filter((i) => i >= 0);
  if (ones.length) out = T.reduceSum(out, ones, true);
  if (!sameShape(out.shape, shape)) throw new GradError(`internal: unbroadcast ${fmtShape(g.shape)} -> ${fmtShape(shape)} gave ${fmtShape(out.shape)}`);
  return out;
}

/**
 * Gradients of `outputs` (scalars, or weighted by `seeds`) with respect to `wrt`.
 * An input the outputs do not depend on gets zeros; integer inputs refuse gradients.
 */
export function grad(outputs: Tensor | Tensor[], wrt: Tensor[], seeds?: Tensor[]): Tensor[] {
  const outs = Array.isArray(outputs) ? outputs : [outputs];
  if (seeds && seeds.length !== outs.length) throw new GradError(`grad: ${outs.length} outputs but ${seeds.length} seeds`);
  for (const w of wrt) {
    if (!isFloat(w.dtype)) throw new GradError(`grad: cannot differentiate with respect to ${w.dtype} tensor ${w} (made at ${w.where}); only float tensors have gradients`);
  }
  const seedTensors = outs.map((o, i) => {
    if (!isFloat(o.dtype)) throw new GradError(`grad: output ${o} is ${o.dtype}; only float outputs can be differentiated`);
    if (seeds) {
      if (!sameShape(seeds[i].shape, o.shape)) throw new GradError(`grad: seed ${fmtShape(seeds[i].shape)} does not match output ${fmtShape(o.shape)}`);
      return seeds[i];
    }
    if (o.shape.some((d) => d !== 1)) {
      throw new GradError(`grad: output ${o} (made at ${o.where}) is not a scalar; pass a seed of shape ${fmtShape(o.shape)}`);
    }
    return T.expand(T.scalar(1, o.dtype), [...o.shape]);
  });

  const order = topoSort(outs);
  // which nodes lie on a path from some wrt tensor
  const wrtIds = new Set(wrt.map((w) => w.id));
  const live = new Set<number>();
  for (const t of order) {
    if (wrtIds.has(t.id)) live.add(t.id);
    else if (GRAD_RULES[t.op] !== NONDIFF && t.inputs.some((x) => live.has(x.id))) live.add(t.id);
  }

  const acc = new Map<number, Tensor>();
  const accumulate = (t: Tensor, g: Tensor): void => {
    const prev = acc.get(t.id);
    acc.set(t.id, prev ? T.add(prev, g) : g);
  };
  outs.forEach((o, i) => {
    if (live.has(o.id)) accumulate(o, seedTensors[i]);
  });

  for (let k = order.length - 1; k >= 0; k--) {
    const t = order[k];
    const g = acc.get(t.id);
    if (!g || t.inputs.length === 0) continue;
    const rule = GRAD_RULES[t.op as OpName];
    if (rule === NONDIFF) continue;
    const needs = t.inputs.map((x) => live.has(x.id) && isFloat(x.dtype));
    if (!needs.some(Boolean)) continue;
    const gs = (rule as (y: Tensor, g: Tensor, a: unknown, n: boolean[]) => (Tensor | null)[])(t, g, t.attrs, needs);
    t.inputs.forEach((x, i) => {
      const gi = gs[i];
      if (!needs[i] || !gi) return;
      accumulate(x, unbroadcast(T.cast(gi, x.dtype), x.shape));
    });
  }

  return wrt.map((w) => acc.get(w.id) ?? T.expand(T.scalar(0, w.dtype), [...w.shape]));
}
