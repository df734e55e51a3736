/** @file A float64 reference interpreter of the IR: the independent oracle for tests, not for speed. */
import type { HostArray } from "./dtype.js";
import type { OpAttrs, OpName } from "./ops.js";
import { clampIndex } from "./shape_rules.js";
import { broadcastShapes, fmtShape, normAxis, numel, strides } from "./shape.js";
import type { Tensor } from "./tensor.js";
import { InternalError } from "../errors.js";

/** A concrete value: every dtype held as float64 numbers (integers exactly, bools as 0/1). */
export interface Value {
  shape: number[];
  data: Float64Array;
}

/** A host array and its shape as an interpreter value (float64 for floating types). */
export function fromHost(a: HostArray, shape: number[]): Value {
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = Number(a[i]);
  return { shape, data: d };
}

type Impl<A> = (ins: Value[], attrs: A, t: Tensor) => Value;

function map1(f: (x: number) => number): Impl<unknown> {
  return ([x]) => ({ shape: x.shape, data: x.data.map(f) });
}

/** Index into `shape` broadcast to `out`. */
function bcastIndexer(shape: number[], out: number[]): (flat: number) => number {
  const st = strides(shape);
  const ost = strides(out);
  const off = out.length - shape.length;
  return (flat) => {
    let idx = 0;
    for (let i = 0; i < out.length; i++) {
      const c = Math.floor(flat / ost[i]) % out[i];
      const j = i - off;
      if (j >= 0 && shape[j] !== 1) idx += c * st[j];
    }
    return idx;
  };
}

function broadcastN(vals: Value[], f: (...xs: number[]) => number): Value {
  let shape: number[] = [];
  for (const v of vals) shape = broadcastShapes(shape, v.shape) as number[];
  const n = numel(shape);
  const ix = vals.map((v) => bcastIndexer(v.shape, shape));
  const out = new Float64Array(n);
  const args = new Array<number>(vals.length);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < vals.length; k++) args[k] = vals[k].data[ix[k](i)];
    out[i] = f(...args);
  }
  return { shape, data: out };
}

function map2(f: (a: number, b: number) => number): Impl<unknown> {
  return (ins) => broadcastN(ins, f);
}

function reduceImpl(init: number, f: (acc: number, x: number) => number, fin?: (acc: number, n: number) => number): Impl<{ axes: number[]; keepdims: boolean }> {
  return ([x], a) => {
    const r = x.shape.length;
    const axes = a.axes.map((ax) => normAxis(ax, r));
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const out = new Float64Array(numel(kept)).fill(init);
    // position in x -> position in the kept shape
    const xst = strides(x.shape);
    const kst = strides(kept);
    for (let i = 0; i < x.data.length; i++) {
      let k = 0;
      for (let d = 0; d < r; d++) if (kept[d] !== 1) k += (Math.floor(i / xst[d]) % x.shape[d]) * kst[d];
      out[k] = f(out[k], x.data[i]);
    }
    const count = axes.reduce((s, ax) => s * x.shape[ax], 1);
    if (fin) for (let i = 0; i < out.length; i++) out[i] = fin(out[i], count);
    const shape = a.keepdims ? kept : x.shape.filter((_d, i) => !axes.includes(i));
    return { shape, data: out };
  };
}

function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 is too coarse for a reference; use a series / continued fraction.
  const ax = Math.abs(x);
  let r: number;
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 1; n < 200; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    r = (2 / Math.sqrt(Math.PI)) * sum;
  } else {
    // erfc continued fraction (Lentz)
    let f = ax;
    let c = ax;
    let d = 0;
    for (let n = 1; n < 200; n++) {
      const an = n / 2;
      d = ax + an * d;
      d = d === 0 ? 1e-300 : 1 / d;
      c = ax + an / c;
      const delta = c * d;
      f *= delta;
      if (Math.abs(delta - 1) < 1e-16) break;
    }
    r = 1 - Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
  }
  return x < 0 ? -r : r;
}

/** Rounds to the nearest integer, ties to even (numpy.rint, ONNX QuantizeLinear). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * ONNX DynamicQuantizeLinear in float32 arithmetic: the range [min(x, 0), max(x, 0)] mapped onto
 * uint8 0..255; returns the quantized values, the zero point and the step (the scale).
 */
function dynamicQuantizeLinear(x: Float64Array): { q: Float64Array; zero: number; step: number } {
  let lo = 0;
  let hi = 0;
  for (const v of x) {
    const f = Math.fround(v);
    if (f < lo) lo = f;
    if (f > hi) hi = f;
  }
  const step = Math.fround(Math.fround(hi - lo) / 255);
  if (step === 0) return { q: new Float64Array(x.length), zero: 0, step: 0 };
  const zero = Math.min(255, Math.max(0, roundHalfEven(Math.fround(-Math.fround(lo / step)))));
  const q = x.map((v) => Math.min(255, Math.max(0, roundHalfEven(Math.fround(Math.fround(v) / step)) + zero)));
  return { q, zero, step };
}

function transposeImpl(x: Value, perm: number[]): Value {
  const shape = perm.map((p) => x.shape[p]);
  const xst = strides(x.shape);
  const ost = strides(shape);
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < out.length; i++) {
    let src = 0;
    for (let d = 0; d < shape.length; d++) src += (Math.floor(i / ost[d]) % shape[d]) * xst[perm[d]];
    out[i] = x.data[src];
  }
  return { shape, data: out };
}

function convImpl(x: Value, w: Value, a: OpAttrs["conv2d"]): Value {
  const [n, c, h, wd] = x.shape;
  const [o, cg, kh, kw] = w.shape;
  const g = a.groups;
  const oh = Math.floor((h + a.pad[0] + a.pad[2] - a.dilation[0] * (kh - 1) - 1) / a.stride[0]) + 1;
  const ow = Math.floor((wd + a.pad[1] + a.pad[3] - a.dilation[1] * (kw - 1) - 1) / a.stride[1]) + 1;
  const out = new Float64Array(n * o * oh * ow);
  const og = o / g;
  for (let b = 0; b < n; b++)
    for (let oc = 0; oc < o; oc++) {
      const grp = Math.floor(oc / og);
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          let s = 0;
          for (let ic = 0; ic < cg; ic++)
            for (let ky = 0; ky < kh; ky++) {
              const iy = y * a.stride[0] - a.pad[0] + ky * a.dilation[0];
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = xx * a.stride[1] - a.pad[1] + kx * a.dilation[1];
                if (ix < 0 || ix >= wd) continue;
                s += x.data[((b * c + grp * cg + ic) * h + iy) * wd + ix] * w.data[((oc * cg + ic) * kh + ky) * kw + kx];
              }
            }
          out[((b * o + oc) * oh + y) * ow + xx] = s;
        }
    }
  return { shape: [n, o, oh, ow], data: out };
}

function convTransposeImpl(x: Value, w: Value, a: OpAttrs["convTranspose2d"], outShape: number[]): Value {
  const [n, ci, h, wd] = x.shape;
  const [, og, kh, kw] = w.shape;
  const g = a.groups;
  const cig = ci / g;
  const [, o, oh, ow] = outShape;
  const out = new Float64Array(n * o * oh * ow);
  for (let b = 0; b < n; b++)
    for (let ic = 0; ic < ci; ic++) {
      const grp = Math.floor(ic / cig);
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < wd; xx++) {
          const v = x.data[((b * ci + ic) * h + y) * wd + xx];
          for (let oc = 0; oc < og; oc++)
            for (let ky = 0; ky < kh; ky++) {
              const oy = y * a.stride[0] - a.pad[0] + ky * a.dilation[0];
              if (oy < 0 || oy >= oh) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ox = xx * a.stride[1] - a.pad[1] + kx * a.dilation[1];
                if (ox < 0 || ox >= ow) continue;
                out[((b * o + grp * og + oc) * oh + oy) * ow + ox] += v * w.data[((ic * og + oc) * kh + ky) * kw + kx];
              }
            }
        }
    }
  return { shape: outShape, data: out };
}

const IMPLS: { [K in OpName]: Impl<OpAttrs[K]> } = {
  input: () => {
    throw new InternalError("leaves are fed");
  },
  param: () => {
    throw new InternalError("leaves are fed");
  },
  const: (_ins, a, t) => fromHost(a.value, t.shape as number[]),
  neg: map1((x) => -x),
  exp: map1(Math.exp),
  log: map1(Math.log),
  sqrt: map1(Math.sqrt),
  reciprocal: map1((x) => 1 / x),
  tanh: map1(Math.tanh),
  sigmoid: map1((x) => 1 / (1 + Math.exp(-x))),
  erf: map1(erf),
  abs: map1(Math.abs),
  relu: map1((x) => (x > 0 ? x : 0)),
  add: map2((a, b) => a + b),
  sub: map2((a, b) => a - b),
  mul: map2((a, b) => a * b),
  div: map2((a, b) => a / b),
  pow: map2(Math.pow),
  maximum: map2(Math.max),
  minimum: map2(Math.min),
  less: map2((a, b) => (a < b ? 1 : 0)),
  greater: map2((a, b) => (a > b ? 1 : 0)),
  equal: map2((a, b) => (a === b ? 1 : 0)),
  where: (ins) => broadcastN(ins, (c, a, b) => (c ? a : b)),
  cast: ([x], a) => ({
    shape: x.shape,
    data: x.data.map((v) => (a.to === "bool" ? (v !== 0 ? 1 : 0) : a.to === "int64" || a.to === "int32" || a.to === "int8" ? Math.trunc(v) : a.to === "float32" ? Math.fround(v) : v)),
  }),
  matmul: ([a, b]) => {
    const m = a.shape[a.shape.length - 2];
    const k = a.shape[a.shape.length - 1];
    const n = b.shape[b.shape.length - 1];
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2)) as number[];
    const nb = numel(batch);
    const ia = bcastIndexer(a.shape.slice(0, -2), batch);
    const ib = bcastIndexer(b.shape.slice(0, -2), batch);
    const out = new Float64Array(nb * m * n);
    for (let p = 0; p < nb; p++) {
      const ao = ia(p) * m * k;
      const bo = ib(p) * k * n;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let q = 0; q < k; q++) s += a.data[ao + i * k + q] * b.data[bo + q * n + j];
          out[p * m * n + i * n + j] = s;
        }
    }
    return { shape: [...batch, m, n], data: out };
  },
  matmulInt8: ([x, w, scale, bias]) => {
    const k = w.shape[0];
    const n = w.shape[1];
    const m = x.data.length / k;
    const { q, zero, step } = dynamicQuantizeLinear(x.data);
    const out = new Float64Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += (q[i * k + p] - zero) * w.data[p * n + j];
        out[i * n + j] = s * step * scale.data[j] + (bias ? bias.data[j] : 0);
      }
    return { shape: [...x.shape.slice(0, -1), n], data: out };
  },
  reshape: ([x], a) => {
    const out = a.shape.map((d, i) => (d === 0 ? x.shape[i] : d));
    const known = out.filter((d) => d !== -1).reduce((s, d) => s * d, 1);
    return { shape: out.map((d) => (d === -1 ? x.data.length / known : d)), data: x.data };
  },
  transpose: ([x], a) => transposeImpl(x, a.perm),
  expand: ([x], _a, t) => {
    const shape = t.shape.map((d, i) => (typeof d === "number" ? d : x.shape[i - (t.shape.length - x.shape.length)]));
    return broadcastN([x, { shape, data: new Float64Array(numel(shape)) }], (v) => v);
  },
  concat: (ins, a) => {
    const r = ins[0].shape.length;
    const ax = normAxis(a.axis, r);
    const outer = numel(ins[0].shape.slice(0, ax));
    const shape = [...ins[0].shape];
    shape[ax] = ins.reduce((s, v) => s + v.shape[ax], 0);
    const out = new Float64Array(numel(shape));
    let o = 0;
    for (let i = 0; i < outer; i++)
      for (const v of ins) {
        const chunk = numel(v.shape.slice(ax));
        out.set(v.data.subarray(i * chunk, (i + 1) * chunk), o);
        o += chunk;
      }
    return { shape, data: out };
  },
  slice: ([x], a) => {
    const ax = normAxis(a.axis, x.shape.length);
    const n = x.shape[ax];
    const s = clampIndex(a.start, n);
    const e = clampIndex(a.end, n);
    const idx: number[] = [];
    for (let i = s; i < e; i += a.step) idx.push(i);
    return gatherImpl(x, { shape: [idx.length], data: Float64Array.from(idx) }, ax);
  },
  pad: ([x], a) => {
    const ax = normAxis(a.axis, x.shape.length);
    const outer = numel(x.shape.slice(0, ax));
    const inner = numel(x.shape.slice(ax + 1));
    const n = x.shape[ax];
    const m = n + a.before + a.after;
    const out = new Float64Array(outer * m * inner);
    for (let o = 0; o < outer; o++) out.set(x.data.subarray(o * n * inner, (o + 1) * n * inner), (o * m + a.before) * inner);
    const shape = [...x.shape];
    shape[ax] = m;
    return { shape, data: out };
  },
  gather: ([x, idx], a) => gatherImpl(x, idx, normAxis(a.axis, x.shape.length)),
  scatterAdd: ([data, idx, upd]) => {
    const out = Float64Array.from(data.data);
    const row = numel(data.shape.slice(1));
    for (let i = 0; i < idx.data.length; i++) {
      let r = idx.data[i];
      if (r < 0) r += data.shape[0];
      for (let j = 0; j < row; j++) out[r * row + j] += upd.data[i * row + j];
    }
    return { shape: data.shape, data: out };
  },
  reduceSum: reduceImpl(0, (s, x) => s + x),
  reduceMean: reduceImpl(0, (s, x) => s + x, (s, n) => s / n),
  reduceMax: reduceImpl(-Infinity, Math.max),
  argmax: ([x], a) => {
    const r = x.shape.length;
    const ax = normAxis(a.axis, r);
    const perm = [...x.shape.keys()].filter((i) => i !== ax).concat([ax]);
    const t = transposeImpl(x, perm);
    const n = x.shape[ax];
    const rows = t.data.length / n;
    const out = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let best = 0;
      for (let j = 1; j < n; j++) if (t.data[i * n + j] > t.data[i * n + best]) best = j;
      out[i] = best;
    }
    const shape = a.keepdims ? x.shape.map((d, i) => (i === ax ? 1 : d)) : x.shape.filter((_d, i) => i !== ax);
    return { shape, data: out };
  },
  oneHot: ([idx], a) => {
    const out = new Float64Array(idx.data.length * a.depth);
    for (let i = 0; i < idx.data.length; i++) {
      const v = idx.data[i] < 0 ? idx.data[i] + a.depth : idx.data[i];
      if (v >= 0 && v < a.depth) out[i * a.depth + v] = 1;
    }
    return { shape: [...idx.shape, a.depth], data: out };
  },
  softmax: ([x], a) => {
    const ax = normAxis(a.axis, x.shape.length);
    const perm = [...x.shape.keys()].filter((i) => i !== ax).concat([ax]);
    const t = transposeImpl(x, perm);
    const n = x.shape[ax];
    for (let i = 0; i < t.data.length; i += n) {
      let m = -Infinity;
      for (let j = 0; j < n; j++) m = Math.max(m, t.data[i + j]);
      let s = 0;
      for (let j = 0; j < n; j++) s += t.data[i + j] = Math.exp(t.data[i + j] - m);
      for (let j = 0; j < n; j++) t.data[i + j] /= s;
    }
    const inv = perm.map((_p, i) => perm.indexOf(i));
    return transposeImpl(t, inv);
  },
  layerNorm: ([x, w, b], a) => {
    const d = x.shape[x.shape.length - 1];
    const out = new Float64Array(x.data.length);
    for (let i = 0; i < x.data.length; i += d) {
      let m = 0;
      for (let j = 0; j < d; j++) m += x.data[i + j];
      m /= d;
      let v = 0;
      for (let j = 0; j < d; j++) v += (x.data[i + j] - m) ** 2;
      v /= d;
      const r = 1 / Math.sqrt(v + a.eps);
      for (let j = 0; j < d; j++) out[i + j] = (x.data[i + j] - m) * r * w.data[j] + b.data[j];
    }
    return { shape: x.shape, data: out };
  },
  batchNormTrain: ([x, r, w, b]) => {
    const [n, c] = x.shape as number[];
    const hw = x.data.length / (n * c);
    const out = new Float64Array(x.data.length);
    for (let i = 0; i < x.data.length; i++) {
      const ch = Math.floor(i / hw) % c;
      out[i] = x.data[i] * r.data[ch] * w.data[ch] + b.data[ch];
    }
    return { shape: x.shape, data: out };
  },
  conv2d: ([x, w], a) => convImpl(x, w, a),
  convTranspose2d: ([x, w], a, t) => convTransposeImpl(x, w, a, t.shape as number[]),
  avgPool2d: ([x], a) => {
    const c = x.shape[1];
    const ones: Value = { shape: [c, 1, a.kernel[0], a.kernel[1]], data: new Float64Array(c * a.kernel[0] * a.kernel[1]).fill(1 / (a.kernel[0] * a.kernel[1])) };
    return convImpl(x, ones, { stride: a.stride, pad: a.pad, dilation: [1, 1], groups: c });
  },
  stopGradient: ([x]) => x,
};

function gatherImpl(x: Value, idx: Value, ax: number): Value {
  const outer = numel(x.shape.slice(0, ax));
  const n = x.shape[ax];
  const inner = numel(x.shape.slice(ax + 1));
  const out = new Float64Array(outer * idx.data.length * inner);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < idx.data.length; i++) {
      let r = idx.data[i];
      if (r < 0) r += n;
      if (r < 0 || r >= n) throw new Error(`gather: index ${idx.data[i]} out of range for axis of size ${n}`);
      const src = (o * n + r) * inner;
      out.set(x.data.subarray(src, src + inner), (o * idx.data.length + i) * inner);
    }
  return { shape: [...x.shape.slice(0, ax), ...idx.shape, ...x.shape.slice(ax + 1)], data: out };
}

/** Evaluates `outputs` given values for inputs and params (by name). */
export function interpret(outputs: Tensor[], feeds: Record<string, Value>): Value[] {
  const memo = new Map<number, Value>();
  const visit = (t: Tensor): Value => {
    const hit = memo.get(t.id);
    if (hit) return hit;
    let v: Value;
    if (t.op === "input" || t.op === "param") {
      const name = (t.attrs as OpAttrs["input"]).name;
      const f = feeds[name];
      if (!f) throw new Error(`interpret: no value for ${t.op} '${name}' ${fmtShape(t.shape)}`);
      v = f;
    } else {
      const ins = t.inputs.map(visit);
      v = (IMPLS[t.op] as Impl<unknown>)(ins, t.attrs, t);
    }
    memo.set(t.id, v);
    return v;
  };
  return outputs.map(visit);
}
