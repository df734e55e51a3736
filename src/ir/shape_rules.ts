/** @file Shape and dtype rule of every op: one entry per op, checked at graph-build time. */
import type { DType } from "./dtype.js";
import { dtypeOfHost, isFloat } from "./dtype.js";
import type { OpAttrs, OpName } from "./ops.js";
import { broadcastShapes, type Dim, fmtShape, mulDims, normAxis, type Shape } from "./shape.js";

/** What a shape rule sees of its inputs. */
export interface Meta {
  dtype: DType;
  shape: Shape;
}

/** A build-time error: the op, the shapes involved, what was expected. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShapeError";
  }
}

type Rule<A> = (ins: Meta[], attrs: A) => Meta;

function fail(msg: string): never {
  throw new ShapeError(msg);
}

function needFloat(op: string, ins: Meta[]): void {
  for (const m of ins) if (!isFloat(m.dtype)) fail(`${op}: needs a float input, got ${m.dtype} ${fmtShape(m.shape)}`);
}

function sameDtype(op: string, ins: Meta[]): DType {
  const d = ins[0].dtype;
  for (const m of ins) {
    if (m.dtype !== d) fail(`${op}: dtypes differ: ${ins.map((x) => `${x.dtype} ${fmtShape(x.shape)}`).join(", ")}`);
  }
  return d;
}

function unary(op: string): Rule<OpAttrs["exp"]> {
  return (ins) => {
    needFloat(op, ins);
    return { dtype: ins[0].dtype, shape: ins[0].shape };
  };
}

function binary(op: string, out?: DType): Rule<OpAttrs["add"]> {
  return (ins) => {
    const d = sameDtype(op, ins);
    const shape = broadcastShapes(ins[0].shape, ins[1].shape);
    if (!shape) fail(`${op}: shapes ${fmtShape(ins[0].shape)} and ${fmtShape(ins[1].shape)} do not broadcast`);
    return { dtype: out ?? d, shape };
  };
}

function reduce(op: string): Rule<OpAttrs["reduceSum"]> {
  return (ins, a) => {
    const r = ins[0].shape.length;
    const axes = a.axes.map((x) => normAxis(x, r));
    for (const ax of axes) if (ax < 0 || ax >= r) fail(`${op}: axis ${ax} out of range for ${fmtShape(ins[0].shape)}`);
    const shape: Dim[] = [];
    ins[0].shape.forEach((d, i) => {
      if (!axes.includes(i)) shape.push(d);
      else if (a.keepdims) shape.push(1);
    });
    return { dtype: ins[0].dtype, shape };
  };
}

function convOut(op: string, inDim: Dim, k: number, stride: number, p0: number, p1: number, dil: number): Dim {
  if (typeof inDim !== "number") fail(`${op}: spatial dims must be concrete, got ${inDim}`);
  const out = Math.floor((inDim + p0 + p1 - dil * (k - 1) - 1) / stride) + 1;
  if (out <= 0) fail(`${op}: input size ${inDim} too small for kernel ${k} (stride ${stride}, pads ${p0},${p1})`);
  return out;
}

export const SHAPE_RULES: { [K in OpName]: Rule<OpAttrs[K]> } = {
  input: () => fail("internal: leaves have no shape rule"),
  param: () => fail("internal: leaves have no shape rule"),
  const: (_ins, a) => fail(`internal: const ${dtypeOfHost(a.value)}`),
  neg: unary("neg"),
  exp: unary("exp"),
  log: unary("log"),
  sqrt: unary("sqrt"),
  reciprocal: unary("reciprocal"),
  tanh: unary("tanh"),
  sigmoid: unary("sigmoid"),
  erf: unary("erf"),
  abs: unary("abs"),
  relu: unary("relu"),
  add: binary("add"),
  sub: binary("sub"),
  mul: binary("mul"),
  div: binary("div"),
  pow: binary("pow"),
  maximum: binary("maximum"),
  minimum: binary("minimum"),
  less: binary("less", "bool"),
  greater: binary("greater", "bool"),
  equal: binary("equal", "bool"),
  where: ([c, a, b]) => {
    if (c.dtype !== "bool") fail(`where: condition must be bool, got ${c.dtype}`);
    const d = sameDtype("where", [a, b]);
    const s1 = broadcastShapes(a.shape, b.shape);
    const s = s1 && broadcastShapes(c.shape, s1);
    if (!s) fail(`where: shapes ${fmtShape(c.shape)}, ${fmtShape(a.shape)}, ${fmtShape(b.shape)} do not broadcast`);
    return { dtype: d, shape: s };
  },
  cast: ([x], a) => ({ dtype: a.to, shape: x.shape }),
  matmul: ([a, b]) => {
    const d = sameDtype("matmul", [a, b]);
    needFloat("matmul", [a]);
    if (a.shape.length < 1 || b.shape.length < 2) fail(`matmul: ${fmtShape(a.shape)} x ${fmtShape(b.shape)}: need rank >= 2 on the right`);
    if (a.shape.length < 2) fail(`matmul: ${fmtShape(a.shape)} x ${fmtShape(b.shape)}: need rank >= 2 on the left`);
    const k1 = a.shape[a.shape.length - 1];
    const k2 = b.shape[b.shape.length - 2];
    if (k1 !== k2) fail(`matmul: ${fmtShape(a.shape)} x ${fmtShape(b.shape)}: inner dims ${k1} and ${k2} differ`);
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
    if (!batch) fail(`matmul: ${fmtShape(a.shape)} x ${fmtShape(b.shape)}: batch dims do not broadcast`);
    return { dtype: d, shape: [...batch, a.shape[a.shape.length - 2], b.shape[b.shape.length - 1]] };
  },
  matmulInt8: ([x, w, scale, bias]) => {
    const sig = `matmulInt8: ${[x, w, scale, bias].filter(Boolean).map((m) => `${m.dtype} ${fmtShape(m.shape)}`).join(", ")}`;
    if (x.dtype !== "float32" || w.dtype !== "int8" || scale.dtype !== "float32" || (bias && bias.dtype !== "float32")) {
      fail(`${sig}: needs float32 x, int8 w, float32 scale and bias`);
    }
    if (x.shape.length < 2 || w.shape.length !== 2) fail(`${sig}: needs x of rank >= 2 and w of rank 2`);
    const n = w.shape[1];
    if (x.shape[x.shape.length - 1] !== w.shape[0]) fail(`${sig}: inner dims ${x.shape[x.shape.length - 1]} and ${w.shape[0]} differ`);
    for (const v of bias ? [scale, bias] : [scale]) if (v.shape.length !== 1 || v.shape[0] !== n) fail(`${sig}: scale and bias must be [${n}]`);
    return { dtype: "float32", shape: [...x.shape.slice(0, -1), n] };
  },
  reshape: ([x], a) => {
    const out: Dim[] = [];
    let infer = -1;
    a.shape.forEach((d, i) => {
      if (d === 0) {
        if (i >= x.shape.length) fail(`reshape: ${fmtShape(x.shape)} -> ${fmtShape(a.shape)}: 0 at ${i} has no input dim to copy`);
        out.push(x.shape[i]);
      } else if (d === -1) {
        if (infer >= 0) fail(`reshape: ${fmtShape(x.shape)} -> ${fmtShape(a.shape)}: more than one -1`);
        infer = i;
        out.push(-1);
      } else if (d > 0 && Number.isInteger(d)) out.push(d);
      else fail(`reshape: ${fmtShape(x.shape)} -> ${fmtShape(a.shape)}: bad dim ${d}`);
    });
    const total = mulDims(x.shape);
    const known = mulDims(out.filter((d, i) => i !== infer));
    if (infer >= 0) {
      if (typeof total === "number" && typeof known === "number") {
        if (known === 0 || total % known !== 0) fail(`reshape: ${fmtShape(x.shape)} -> ${fmtShape(a.shape)}: ${total} elements do not divide by ${known}`);
        out[infer] = total / known;
      } else {
        // symbolic: cancel the known part when it is a factor of the input's symbolic dims
        out[infer] = symbolicQuotient(x.shape, out.filter((_d, i) => i !== infer));
      }
    } else if (typeof total === "number" && typeof known === "number" && total !== known) {
      fail(`reshape: ${fmtShape(x.shape)} -> ${fmtShape(a.shape)}: ${total} elements vs ${known}`);
    }
    return { dtype: x.dtype, shape: out };
  },
  transpose: ([x], a) => {
    const r = x.shape.length;
    const seen = new Set(a.perm);
    if (a.perm.length !== r || seen.size !== r || a.perm.some((p) => p < 0 || p >= r)) {
      fail(`transpose: perm [${a.perm}] is not a permutation of the ${r} axes of ${fmtShape(x.shape)}`);
    }
    return { dtype: x.dtype, shape: a.perm.map((p) => x.shape[p]) };
  },
  expand: ([x], a) => {
    const s = broadcastShapes(x.shape, a.shape);
    if (!s || s.length !== a.shape.length) fail(`expand: ${fmtShape(x.shape)} does not broadcast to ${fmtShape(a.shape)}`);
    return { dtype: x.dtype, shape: s };
  },
  concat: (ins, a) => {
    const d = sameDtype("concat", ins);
    const r = ins[0].shape.length;
    const ax = normAxis(a.axis, r);
    if (ax < 0 || ax >= r) fail(`concat: axis ${a.axis} out of range for rank ${r}`);
    const parts: Dim[] = [];
    for (const m of ins) {
      if (m.shape.length !== r || m.shape.some((dd, i) => i !== ax && dd !== ins[0].shape[i])) {
        fail(`concat: shapes ${ins.map((x) => fmtShape(x.shape)).join(", ")} differ outside axis ${ax}`);
      }
      parts.push(m.shape[ax]);
    }
    const sum = parts.every((p) => typeof p === "number") ? (parts as number[]).reduce((s, p) => s + p, 0) : parts.join("+");
    const shape = [...ins[0].shape];
    shape[ax] = sum;
    return { dtype: d, shape };
  },
  slice: ([x], a) => {
    const ax = normAxis(a.axis, x.shape.length);
    if (ax < 0 || ax >= x.shape.length) fail(`slice: axis ${a.axis} out of range for ${fmtShape(x.shape)}`);
    const n = x.shape[ax];
    if (typeof n !== "number") fail(`slice: axis ${ax} of ${fmtShape(x.shape)} is symbolic`);
    if (a.step <= 0) fail(`slice: step must be positive, got ${a.step}`);
    const s = clampIndex(a.start, n);
    const e = clampIndex(a.end, n);
    const len = Math.max(0, Math.ceil((e - s) / a.step));
    const shape = [...x.shape];
    shape[ax] = len;
    return { dtype: x.dtype, shape };
  },
  pad: ([x], a) => {
    const ax = normAxis(a.axis, x.shape.length);
    if (ax < 0 || ax >= x.shape.length) fail(`pad: axis ${a.axis} out of range for ${fmtShape(x.shape)}`);
    const n = x.shape[ax];
    if (typeof n !== "number") fail(`pad: axis ${ax} of ${fmtShape(x.shape)} is symbolic`);
    if (a.before < 0 || a.after < 0) fail(`pad: negative padding ${a.before}, ${a.after}`);
    const shape = [...x.shape];
    shape[ax] = n + a.before + a.after;
    return { dtype: x.dtype, shape };
  },
  gather: ([x, idx], a) => {
    if (idx.dtype !== "int64" && idx.dtype !== "int32") fail(`gather: indices must be int64/int32, got ${idx.dtype}`);
    const ax = normAxis(a.axis, x.shape.length);
    if (ax < 0 || ax >= x.shape.length) fail(`gather: axis ${a.axis} out of range for ${fmtShape(x.shape)}`);
    return { dtype: x.dtype, shape: [...x.shape.slice(0, ax), ...idx.shape, ...x.shape.slice(ax + 1)] };
  },
  scatterAdd: ([data, idx, upd]) => {
    if (idx.dtype !== "int64") fail(`scatterAdd: indices must be int64, got ${idx.dtype}`);
    const want = [...idx.shape, ...data.shape.slice(1)];
    if (upd.shape.length !== want.length || upd.shape.some((d, i) => d !== want[i])) {
      fail(`scatterAdd: updates ${fmtShape(upd.shape)} must be indices ${fmtShape(idx.shape)} + data rows ${fmtShape(data.shape.slice(1))}`);
    }
    return { dtype: sameDtype("scatterAdd", [data, upd]), shape: data.shape };
  },
  reduceSum: reduce("reduceSum"),
  reduceMean: reduce("reduceMean"),
  reduceMax: reduce("reduceMax"),
  argmax: ([x], a) => {
    const m = reduce("argmax")([x], { axes: [a.axis], keepdims: a.keepdims });
    return { dtype: "int64", shape: m.shape };
  },
  oneHot: ([idx], a) => {
    if (idx.dtype !== "int64") fail(`oneHot: indices must be int64, got ${idx.dtype}`);
    return { dtype: a.dtype, shape: [...idx.shape, a.depth] };
  },
  softmax: ([x], a) => {
    needFloat("softmax", [x]);
    const ax = normAxis(a.axis, x.shape.length);
    if (ax < 0 || ax >= x.shape.length) fail(`softmax: axis ${a.axis} out of range for ${fmtShape(x.shape)}`);
    return { dtype: x.dtype, shape: x.shape };
  },
  layerNorm: ([x, w, b]) => {
    needFloat("layerNorm", [x]);
    sameDtype("layerNorm", [x, w, b]);
    const d = x.shape[x.shape.length - 1];
    if (w.shape.length !== 1 || w.shape[0] !== d || b.shape.length !== 1 || b.shape[0] !== d) {
      fail(`layerNorm: input ${fmtShape(x.shape)} needs weight and bias [${d}], got ${fmtShape(w.shape)} and ${fmtShape(b.shape)}`);
    }
    return { dtype: x.dtype, shape: x.shape };
  },
  batchNormTrain: ([x, r, w, b]) => {
    needFloat("batchNormTrain", [x]);
    sameDtype("batchNormTrain", [x, r, w, b]);
    const c = x.shape[1];
    if (x.shape.length !== 4 || typeof c !== "number") fail(`batchNormTrain: input ${fmtShape(x.shape)} must be NCHW with a known channel count`);
    for (const p of [r, w, b]) {
      if (p.shape.length !== 1 || p.shape[0] !== c) fail(`batchNormTrain: input ${fmtShape(x.shape)} needs invstd, weight and bias [${c}], got ${fmtShape(r.shape)}, ${fmtShape(w.shape)} and ${fmtShape(b.shape)}`);
    }
    return { dtype: x.dtype, shape: x.shape };
  },
  conv2d: ([x, w], a) => {
    const d = sameDtype("conv2d", [x, w]);
    if (x.shape.length !== 4 || w.shape.length !== 4) fail(`conv2d: input ${fmtShape(x.shape)} and weight ${fmtShape(w.shape)} must be NCHW and OIHW`);
    const cin = x.shape[1];
    if (typeof cin !== "number" || cin !== (w.shape[1] as number) * a.groups) {
      fail(`conv2d: input ${fmtShape(x.shape)} has ${cin} channels, weight ${fmtShape(w.shape)} with groups ${a.groups} expects ${(w.shape[1] as number) * a.groups}`);
    }
    if ((w.shape[0] as number) % a.groups !== 0) fail(`conv2d: ${w.shape[0]} output channels do not divide into ${a.groups} groups`);
    const kh = w.shape[2] as number;
    const kw = w.shape[3] as number;
    return {
      dtype: d,
      shape: [
        x.shape[0],
        w.shape[0],
        convOut("conv2d", x.shape[2], kh, a.stride[0], a.pad[0], a.pad[2], a.dilation[0]),
        convOut("conv2d", x.shape[3], kw, a.stride[1], a.pad[1], a.pad[3], a.dilation[1]),
      ],
    };
  },
  convTranspose2d: ([x, w], a) => {
    const d = sameDtype("convTranspose2d", [x, w]);
    if (x.shape.length !== 4 || w.shape.length !== 4) fail(`convTranspose2d: input ${fmtShape(x.shape)} and weight ${fmtShape(w.shape)} must be 4-D`);
    if (x.shape[1] !== w.shape[0]) fail(`convTranspose2d: input ${fmtShape(x.shape)} has ${x.shape[1]} channels, weight ${fmtShape(w.shape)} expects ${w.shape[0]}`);
    const out = (i: Dim, k: number, s: number, p0: number, p1: number, dil: number, op: number): number => {
      if (typeof i !== "number") fail(`convTranspose2d: spatial dims must be concrete, got ${i}`);
      return s * (i - 1) + op + (k - 1) * dil + 1 - p0 - p1;
    };
    return {
      dtype: d,
      shape: [
        x.shape[0],
        (w.shape[1] as number) * a.groups,
        out(x.shape[2], w.shape[2] as number, a.stride[0], a.pad[0], a.pad[2], a.dilation[0], a.outputPadding[0]),
        out(x.shape[3], w.shape[3] as number, a.stride[1], a.pad[1], a.pad[3], a.dilation[1], a.outputPadding[1]),
      ],
    };
  },
  avgPool2d: ([x], a) => {
    needFloat("avgPool2d", [x]);
    if (x.shape.length !== 4) fail(`avgPool2d: input ${fmtShape(x.shape)} must be NCHW`);
    return {
      dtype: x.dtype,
      shape: [
        x.shape[0],
        x.shape[1],
        convOut("avgPool2d", x.shape[2], a.kernel[0], a.stride[0], a.pad[0], a.pad[2], 1),
        convOut("avgPool2d", x.shape[3], a.kernel[1], a.stride[1], a.pad[1], a.pad[3], 1),
      ],
    };
  },
  stopGradient: ([x]) => ({ dtype: x.dtype, shape: x.shape }),
};

/** Python-style slice index clamping. */
export function clampIndex(i: number, n: number): number {
  const j = i < 0 ? i + n : i;
  return Math.min(Math.max(j, 0), n);
}

function symbolicQuotient(input: Shape, known: Dim[]): Dim {
  const names = input.filter((d): d is string => typeof d === "string");
  let num = input.filter((d): d is number => typeof d === "number").reduce((s, d) => s * d, 1);
  for (const k of known) {
    if (typeof k === "string") {
      const i = names.indexOf(k);
      if (i < 0) fail(`reshape: cannot infer -1 from ${fmtShape(input)} with symbolic ${k}`);
      names.splice(i, 1);
    } else {
      if (num % k !== 0) return mulDims([...names, `${num}/${k}`]);
      num /= k;
    }
  }
  return mulDims([...names, num]);
}
