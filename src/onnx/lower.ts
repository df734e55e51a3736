/** @file How each IR op becomes ONNX nodes (opset 18): one entry per op. */
import type { DType, HostArray } from "../ir/dtype.js";
import type { OpAttrs, OpName } from "../ir/ops.js";
import { fmtShape } from "../ir/shape.js";
import type { Tensor } from "../ir/tensor.js";
import { InternalError } from "../errors.js";

export const OPSET = 18;
/** ONNX Runtime's contrib operator set (int8 kernels), imported at version 1 when a graph uses it. */
export const MS_DOMAIN = "com.microsoft";

export type Attr = { i: number } | { f: number } | { ints: number[] } | { floats: number[] } | { s: string };

export interface LowerCtx {
  /** Adds a node and returns its (first) output name; `domain` names a non-standard operator set (com.microsoft). */
  node(opType: string, inputs: string[], attrs?: Record<string, Attr>, domain?: string): string;
  /** A constant 1-D int64 tensor. */
  i64(values: number[]): string;
  /** A constant tensor. */
  constant(value: HostArray, shape: number[]): string;
}

type Lower<A> = (ctx: LowerCtx, t: Tensor, ins: string[], attrs: A) => string;

const simple = (opType: string): Lower<unknown> => (ctx, _t, ins) => ctx.node(opType, ins);

const ONNX_CAST: Record<DType, number> = { float32: 1, float64: 11, int64: 7, int32: 6, int8: 3, bool: 9 };

/** ORT's CPU Conv/ConvTranspose/AveragePool run float32 only: float64 graphs go through a cast. */
function viaFloat32(ctx: LowerCtx, t: Tensor, ins: string[], make: (ins32: string[]) => string): string {
  if (t.dtype !== "float64") return make(ins);
  const ins32 = ins.map((n) => ctx.node("Cast", [n], { to: { i: 1 } }));
  return ctx.node("Cast", [make(ins32)], { to: { i: 11 } });
}

function convAttrs(a: OpAttrs["conv2d"]): Record<string, Attr> {
  return { dilations: { ints: a.dilation }, group: { i: a.groups }, pads: { ints: a.pad }, strides: { ints: a.stride } };
}

function reduce(opType: string): Lower<OpAttrs["reduceSum"]> {
  return (ctx, t, [x], a) => ctx.node(opType, [x, ctx.i64(a.axes)], { keepdims: { i: a.keepdims ? 1 : 0 } });
}

export const LOWERINGS: { [K in OpName]: Lower<OpAttrs[K]> } = {
  input: () => {
    throw new InternalError("leaves are not lowered");
  },
  param: () => {
    throw new InternalError("leaves are not lowered");
  },
  const: () => {
    throw new InternalError("leaves are not lowered");
  },
  neg: simple("Neg"),
  exp: simple("Exp"),
  log: simple("Log"),
  sqrt: simple("Sqrt"),
  reciprocal: simple("Reciprocal"),
  tanh: simple("Tanh"),
  sigmoid: simple("Sigmoid"),
  erf: (ctx, t, ins) => viaFloat32(ctx, t, ins, (i) => ctx.node("Erf", i)),
  abs: simple("Abs"),
  relu: simple("Relu"),
  add: simple("Add"),
  sub: simple("Sub"),
  mul: simple("Mul"),
  div: simple("Div"),
  pow: simple("Pow"),
  maximum: simple("Max"),
  minimum: simple("Min"),
  less: simple("Less"),
  greater: simple("Greater"),
  equal: simple("Equal"),
  where: simple("Where"),
  cast: (ctx, _t, ins, a) => ctx.node("Cast", ins, { to: { i: ONNX_CAST[a.to] } }),
  matmul: simple("MatMul"),
  // ORT's contrib op: DynamicQuantizeLinear + MatMulInteger + scaling (+ bias) in one kernel; "" skips b_zero_point
  matmulInt8: (ctx, _t, [x, w, scale, bias]) =>
    ctx.node("DynamicQuantizeMatMul", bias ? [x, w, scale, "", bias] : [x, w, scale], {}, MS_DOMAIN),
  // [.., 0 copies the input dim, -1 inferred]: the same convention as ONNX Reshape with allowzero=0
  reshape: (ctx, _t, [x], a) => ctx.node("Reshape", [x, ctx.i64(a.shape)]),
  transpose: (ctx, _t, ins, a) => ctx.node("Transpose", ins, { perm: { ints: a.perm } }),
  expand: (ctx, t, [x], a) => {
    const src = t.inputs[0].shape;
    const shape = a.shape.map((d, i) => {
      if (typeof d === "number") return d;
      const j = i - (a.shape.length - src.length);
      if (j >= 0 && src[j] === d) return 1; // broadcasting keeps the input's run-time size
      throw new Error(`expand: ${fmtShape(src)} -> ${fmtShape(a.shape)}: symbolic dim ${d} must come from the input (made at ${t.where})`);
    });
    return ctx.node("Expand", [x, ctx.i64(shape)]);
  },
  concat: (ctx, _t, ins, a) => ctx.node("Concat", ins, { axis: { i: a.axis } }),
  slice: (ctx, _t, [x], a) => ctx.node("Slice", [x, ctx.i64([a.start]), ctx.i64([a.end]), ctx.i64([a.axis]), ctx.i64([a.step])]),
  pad: (ctx, t, [x], a) => {
    const r = t.rank;
    const ax = a.axis < 0 ? a.axis + r : a.axis;
    const pads = new Array<number>(2 * r).fill(0);
    pads[ax] = a.before;
    pads[r + ax] = a.after;
    return ctx.node("Pad", [x, ctx.i64(pads)]);
  },
  gather: (ctx, _t, ins, a) => ctx.node("Gather", ins, { axis: { i: a.axis } }),
  scatterAdd: (ctx, _t, [data, idx, upd]) => {
    const idx1 = ctx.node("Unsqueeze", [idx, ctx.i64([-1])]); // [...I] -> [...I, 1]
    return ctx.node("ScatterND", [data, idx1, upd], { reduction: { s: "add" } });
  },
  reduceSum: reduce("ReduceSum"),
  reduceMean: reduce("ReduceMean"),
  reduceMax: reduce("ReduceMax"),
  argmax: (ctx, _t, ins, a) => ctx.node("ArgMax", ins, { axis: { i: a.axis }, keepdims: { i: a.keepdims ? 1 : 0 } }),
  oneHot: (ctx, _t, [idx], a) => {
    const range = new BigInt64Array(a.depth);
    for (let i = 0; i < a.depth; i++) range[i] = BigInt(i);
    const idx1 = ctx.node("Unsqueeze", [idx, ctx.i64([-1])]); // [...I] -> [...I, 1]
    const eq = ctx.node("Equal", [idx1, ctx.constant(range, [a.depth])]); // [...I, depth]
    return ctx.node("Cast", [eq], { to: { i: ONNX_CAST[a.dtype] } });
  },
  softmax: (ctx, _t, ins, a) => ctx.node("Softmax", ins, { axis: { i: a.axis } }),
  // y = xc * (invstd * weight) + bias in one pass: ONNX's inference BatchNormalization with mean 0,
  // variance 1 and epsilon 0 is exactly that per-channel affine map (a Mul and an Add were two passes)
  batchNormTrain: (ctx, t, [xc, r, w, b]) => {
    const c = t.shape[1] as number;
    const filled = (v: number): string => ctx.constant(t.dtype === "float64" ? new Float64Array(c).fill(v) : new Float32Array(c).fill(v), [c]);
    return ctx.node("BatchNormalization", [xc, ctx.node("Mul", [r, w]), b, filled(0), filled(1)], { epsilon: { f: 0 } });
  },
  layerNorm: (ctx, _t, ins, a) => ctx.node("LayerNormalization", ins, { axis: { i: -1 }, epsilon: { f: a.eps } }),
  conv2d: (ctx, t, ins, a) => viaFloat32(ctx, t, ins, (i) => ctx.node("Conv", i, convAttrs(a))),
  convTranspose2d: (ctx, t, ins, a) =>
    viaFloat32(ctx, t, ins, (i) => ctx.node("ConvTranspose", i, { ...convAttrs(a), output_padding: { ints: a.outputPadding } })),
  avgPool2d: (ctx, t, ins, a) =>
    viaFloat32(ctx, t, ins, (i) =>
      ctx.node("AveragePool", i, { count_include_pad: { i: 1 }, kernel_shape: { ints: a.kernel }, pads: { ints: a.pad }, strides: { ints: a.stride } }),
    ),
  stopGradient: simple("Identity"),
};
