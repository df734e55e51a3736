/** @file Test harness for the engine: random feeds, ORT and interpreter runs, finite differences. */
import fs from "node:fs";
import { grad } from "../../src/autodiff/grad.js";
import { allocHost, type DType, type HostArray, isFloat } from "../../src/ir/dtype.js";
import { fromHost, interpret, type Value } from "../../src/ir/interpret.js";
import * as T from "../../src/ir/tensor.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { CompiledGraph } from "../../src/runtime/session.js";
import type { InputSpec } from "./cases.js";
import { Rng } from "../../src/util/rng.js";

/**
 * The int8 range the op tests draw weights from. ONNX Runtime's u8 x s8 kernel on x86 CPUs without
 * VNNI (AVX2's vpmaddubsw) adds pairs of products in int16 and saturates when both weights of a pair
 * are large and share a sign; ORT's quantization guide answers with 7-bit weights (`reduce_range`).
 * There the op cases keep weights in [-64, 63], which it computes exactly; elsewhere the full
 * symmetric range [-127, 127].
 */
export const INT8_WEIGHT_RANGE: readonly [number, number] = saturatingU8S8() ? [-64, 63] : [-127, 127];

function saturatingU8S8(): boolean {
  if (process.arch !== "x64") return false;
  let info = "";
  try {
    info = fs.readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return false;
  }
  const flags = /^flags\s*:(.*)$/m.exec(info)?.[1]?.split(/\s+/) ?? [];
  return !flags.includes("avx512_vnni") && !flags.includes("avx_vnni");
}

export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

export function genValues(spec: InputSpec, dtype: DType, r: () => number): HostArray {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const a = allocHost(dtype, n);
  for (let i = 0; i < n; i++) {
    if (a instanceof BigInt64Array) a[i] = BigInt(Math.floor(r() * (spec.max ?? 3)));
    else if (a instanceof Uint8Array) a[i] = r() < 0.5 ? 1 : 0;
    else if (a instanceof Int32Array) a[i] = Math.floor(r() * (spec.max ?? 3));
    else if (a instanceof Int8Array) a[i] = INT8_WEIGHT_RANGE[0] + Math.floor(r() * (INT8_WEIGHT_RANGE[1] - INT8_WEIGHT_RANGE[0] + 1));
    else if (spec.gen === "positive") a[i] = 0.5 + 1.5 * r();
    else if (spec.gen === "distinct") a[i] = (i * 0.37 + r() * 0.1) * (r() < 0.5 ? -1 : 1) + 0.05;
    else a[i] = 4 * r() - 2;
  }
  return a;
}

export interface Built {
  inputs: Tensor[];
  values: HostArray[];
  feeds: Record<string, Value>;
}

export function makeInputs(specs: InputSpec[], floatType: DType, seed: number): Built {
  const r = rng(seed);
  const inputs: Tensor[] = [];
  const values: HostArray[] = [];
  const feeds: Record<string, Value> = {};
  specs.forEach((s, i) => {
    const dt = s.dtype ?? floatType;
    const t = T.input(`x${i}`, dt, s.shape);
    const v = genValues(s, dt, r);
    inputs.push(t);
    values.push(v);
    feeds[`x${i}`] = fromHost(v, s.shape);
  });
  return { inputs, values, feeds };
}

/** Runs tensors through ORT; results as float64 arrays. */
export async function runOrt(outputs: Tensor[], inputs: Tensor[], values: HostArray[]): Promise<Float64Array[]> {
  const outs: Record<string, Tensor> = {};
  outputs.forEach((o, i) => (outs[`y${i}`] = o));
  const g = await CompiledGraph.compile(outs, { threads: 1 });
  try {
    const feeds: Record<string, { data: HostArray; shape: number[] }> = {};
    inputs.forEach((t, i) => {
      if (g.inputs.some((x) => x.name === `x${i}`)) feeds[`x${i}`] = { data: values[i], shape: t.shape as number[] };
    });
    const res = await g.run(feeds);
    return outputs.map((_o, i) => Float64Array.from(res[`y${i}`].data as ArrayLike<number>, (v) => Number(v)));
  } finally {
    await g.release();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * Random-direction finite-difference check in float64: for loss = sum(y * r) and a random direction v,
 * (loss(x + e v) - loss(x - e v)) / 2e must equal sum_i <dloss/dx_i, v_i>.
 * Returns the analytic and numeric directional derivatives and the gradient tensors.
 */
export function fdCheck(y: Tensor, built: Built, seed: number, eps = 1e-6): { analytic: number; numeric: number; grads: Tensor[]; loss: Tensor; wrt: number[] } {
  const r = rng(seed);
  const yshape = y.shape as number[];
  const rv = Float64Array.from({ length: yshape.reduce((a, b) => a * b, 1) }, () => 2 * r() - 1);
  const loss = T.reduceSum(T.mul(y, T.constant(rv, yshape)), [...yshape.keys()]);
  const wrt = built.inputs.map((t, i) => (isFloat(t.dtype) ? i : -1)).filter((i) => i >= 0);
  const grads = grad(loss, wrt.map((i) => built.inputs[i]));
  const gvals = interpret(grads, built.feeds);
  const dirs = wrt.map((i) => Float64Array.from({ length: built.values[i].length }, () => 2 * r() - 1));
  let analytic = 0;
  wrt.forEach((_i, k) => {
    for (let j = 0; j < dirs[k].length; j++) analytic += gvals[k].data[j] * dirs[k][j];
  });
  const shifted = (sign: number): number => {
    const feeds = { ...built.feeds };
    wrt.forEach((i, k) => {
      const base = built.feeds[`x${i}`];
      feeds[`x${i}`] = { shape: base.shape, data: base.data.map((v, j) => v + sign * eps * dirs[k][j]) };
    });
    return interpret([loss], feeds)[0].data[0];
  };
  const numeric = (shifted(1) - shifted(-1)) / (2 * eps);
  return { analytic, numeric, grads, loss, wrt };
}
