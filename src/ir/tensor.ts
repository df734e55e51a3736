/** @file Symbolic tensors: each is one op applied to input tensors; builders check shapes at once. */
import { type DType, dtypeOfHost, type HostArray } from "./dtype.js";
import type { Conv2dAttrs, OpAttrs, OpName } from "./ops.js";
import { type Dim, fmtShape, normAxis, type Shape } from "./shape.js";
import { SHAPE_RULES, ShapeError } from "./shape_rules.js";

let nextId = 0;

/** Where user code created a tensor: the first stack frame outside the IR. */
function origin(): string {
  const stack = new Error().stack?.split("\n").slice(1) ?? [];
  const frame = stack.find((l) => !/[/\\]ir[/\\](tensor|shape_rules)\.(js|ts)/.test(l) && !/[/\\]nn[/\\]/.test(l)) ?? stack[0] ?? "";
  return frame.trim().replace(/^at /, "");
}

/** A symbolic tensor: a node of the graph IR (its op, inputs, attributes, dtype and shape), built by the functions of this module. */
export class Tensor<K extends OpName = OpName> {
  readonly id: number;
  readonly where: string;
  constructor(
    readonly op: K,
    readonly inputs: readonly Tensor[],
    readonly attrs: OpAttrs[K],
    readonly dtype: DType,
    readonly shape: Shape,
  ) {
    this.id = nextId++;
    this.where = origin();
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Concrete size of an axis; throws for symbolic dims. */
  dim(axis: number): number {
    const d = this.shape[normAxis(axis, this.rank)];
    if (typeof d !== "number") throw new ShapeError(`dim: axis ${axis} of ${fmtShape(this.shape)} is symbolic (${d})`);
    return d;
  }

  toString(): string {
    return `${this.op}#${this.id}:${this.dtype}${fmtShape(this.shape)}`;
  }

  // Method forms of the builders, for readable model code.
  add(b: Tensor | number): Tensor { return add(this, b); }
  sub(b: Tensor | number): Tensor { return sub(this, b); }
  mul(b: Tensor | number): Tensor { return mul(this, b); }
  div(b: Tensor | number): Tensor { return div(this, b); }
  matmul(b: Tensor): Tensor { return matmul(this, b); }
  reshape(shape: number[]): Tensor { return reshape(this, shape); }
  transpose(perm: number[]): Tensor { return transpose(this, perm); }
  sum(axes: number[], keepdims = false): Tensor { return reduceSum(this, axes, keepdims); }
  mean(axes: number[], keepdims = false): Tensor { return reduceMean(this, axes, keepdims); }
  cast(to: DType): Tensor { return cast(this, to); }
}

/** Creates a node after checking its shape rule; errors name the op's operands and call site. */
export function node<K extends OpName>(op: K, inputs: Tensor[], attrs: OpAttrs[K]): Tensor<K> {
  let meta;
  try {
    meta = SHAPE_RULES[op](inputs, attrs);
  } catch (e) {
    if (e instanceof ShapeError) throw new ShapeError(`${e.message} (at ${origin()})`);
    throw e;
  }
  return new Tensor(op, inputs, attrs, meta.dtype, meta.shape);
}

// ---- leaves ----

/** A graph input fed at run time. */
export function input(name: string, dtype: DType, shape: Dim[]): Tensor<"input"> {
  return new Tensor("input", [], { name }, dtype, shape);
}

/** A named parameter: an initializer at inference, a fed input when training. */
export function param(name: string, shape: number[], dtype: DType = "float32"): Tensor<"param"> {
  return new Tensor("param", [], { name }, dtype, shape);
}

/** A constant of a host array with a shape. */
export function constant(value: HostArray, shape: number[]): Tensor<"const"> {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== value.length) throw new ShapeError(`const: ${value.length} values for shape ${fmtShape(shape)} (at ${origin()})`);
  return new Tensor("const", [], { value }, dtypeOfHost(value), shape);
}

/** A scalar constant of the dtype of `like`. */
export function scalar(v: number, dtype: DType = "float32"): Tensor<"const"> {
  switch (dtype) {
    case "float32":
      return constant(new Float32Array([v]), []);
    case "float64":
      return constant(new Float64Array([v]), []);
    case "int64":
      return constant(new BigInt64Array([BigInt(v)]), []);
    case "int32":
      return constant(new Int32Array([v]), []);
    case "int8":
      return constant(new Int8Array([v]), []);
    case "bool":
      return constant(new Uint8Array([v ? 1 : 0]), []);
  }
}

function lift(x: Tensor | number, like: Tensor): Tensor {
  return typeof x === "number" ? scalar(x, like.dtype) : x;
}

// ---- elementwise ----
export const neg = (x: Tensor): Tensor => node("neg", [x], {});
export const exp = (x: Tensor): Tensor => node("exp", [x], {});
export const log = (x: Tensor): Tensor => node("log", [x], {});
export const sqrt = (x: Tensor): Tensor => node("sqrt", [x], {});
export const reciprocal = (x: Tensor): Tensor => node("reciprocal", [x], {});
export const rsqrt = (x: Tensor): Tensor => reciprocal(sqrt(x));
export const tanh = (x: Tensor): Tensor => node("tanh", [x], {});
export const sigmoid = (x: Tensor): Tensor => node("sigmoid", [x], {});
export const erf = (x: Tensor): Tensor => node("erf", [x], {});
export const abs = (x: Tensor): Tensor => node("abs", [x], {});
export const relu = (x: Tensor): Tensor => node("relu", [x], {});

export const add = (a: Tensor | number, b: Tensor | number): Tensor => bin("add", a, b);
export const sub = (a: Tensor | number, b: Tensor | number): Tensor => bin("sub", a, b);
export const mul = (a: Tensor | number, b: Tensor | number): Tensor => bin("mul", a, b);
export const div = (a: Tensor | number, b: Tensor | number): Tensor => bin("div", a, b);
export const pow = (a: Tensor | number, b: Tensor | number): Tensor => bin("pow", a, b);
export const maximum = (a: Tensor | number, b: Tensor | number): Tensor => bin("maximum", a, b);
export const minimum = (a: Tensor | number, b: Tensor | number): Tensor => bin("minimum", a, b);
export const less = (a: Tensor | number, b: Tensor | number): Tensor => bin("less", a, b);
export const greater = (a: Tensor | number, b: Tensor | number): Tensor => bin("greater", a, b);
export const equal = (a: Tensor | number, b: Tensor | number): Tensor => bin("equal", a, b);

function bin(op: "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum" | "less" | "greater" | "equal", a: Tensor | number, b: Tensor | number): Tensor {
  if (typeof a === "number" && typeof b === "number") throw new ShapeError(`${op}: needs at least one tensor operand (at ${origin()})`);
  const ta = typeof a === "number" ? lift(a, b as Tensor) : a;
  const tb = lift(b, ta);
  return node(op, [ta, tb], {});
}

export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const like = typeof a === "number" ? (b as Tensor) : a;
  return node("where", [cond, lift(a, like), lift(b, like)], {});
}

export const cast = (x: Tensor, to: DType): Tensor => (x.dtype === to ? x : node("cast", [x], { to }));

// ---- linear algebra and movement ----
export const matmul = (a: Tensor, b: Tensor): Tensor => node("matmul", [a, b], {});
/** x @ (w * scale) + bias with w int8 [K, N], scale [N] per column, x quantized dynamically (see OpAttrs.matmulInt8). */
export const matmulInt8 = (x: Tensor, w: Tensor, scale: Tensor, bias?: Tensor): Tensor => node("matmulInt8", bias ? [x, w, scale, bias] : [x, w, scale], {});
export const reshape = (x: Tensor, shape: number[]): Tensor => node("reshape", [x], { shape });
export const transpose = (x: Tensor, perm: number[]): Tensor => node("transpose", [x], { perm });
export const expand = (x: Tensor, shape: Dim[]): Tensor => node("expand", [x], { shape });
export const concat = (xs: Tensor[], axis: number): Tensor => node("concat", xs, { axis });
export const slice = (x: Tensor, axis: number, start: number, end: number, step = 1): Tensor =>
  node("slice", [x], { axis, start, end, step });
export const pad = (x: Tensor, axis: number, before: number, after: number): Tensor => node("pad", [x], { axis, before, after });
export const gather = (x: Tensor, indices: Tensor, axis = 0): Tensor => node("gather", [x, indices], { axis });
export const scatterAdd = (data: Tensor, indices: Tensor, updates: Tensor): Tensor =>
  node("scatterAdd", [data, indices, updates], {});

/** Swaps the last two axes. */
export function mT(x: Tensor): Tensor {
  const perm = x.shape.map((_d, i) => i);
  perm[x.rank - 1] = x.rank - 2;
  perm[x.rank - 2] = x.rank - 1;
  return transpose(x, perm);
}

// ---- reductions ----
export const reduceSum = (x: Tensor, axes: number[], keepdims = false): Tensor => node("reduceSum", [x], { axes, keepdims });
export const reduceMean = (x: Tensor, axes: number[], keepdims = false): Tensor => node("reduceMean", [x], { axes, keepdims });
export const reduceMax = (x: Tensor, axes: number[], keepdims = false): Tensor => node("reduceMax", [x], { axes, keepdims });
export const argmax = (x: Tensor, axis: number, keepdims = false): Tensor => node("argmax", [x], { axis, keepdims });
export const oneHot = (indices: Tensor, depth: number, dtype: DType = "float32"): Tensor => node("oneHot", [indices], { depth, dtype });
export const stopGradient = (x: Tensor): Tensor => node("stopGradient", [x], {});

// ---- fused kernels ----
export const softmax = (x: Tensor, axis = -1): Tensor => node("softmax", [x], { axis });
export const layerNorm = (x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor => node("layerNorm", [x, weight, bias], { eps });
/** See OpAttrs.batchNormTrain: xc [N, C, H, W] centered per channel, invstd, weight, bias [C]. */
export const batchNormTrain = (xc: Tensor, invstd: Tensor, weight: Tensor, bias: Tensor): Tensor => node("batchNormTrain", [xc, invstd, weight, bias], {});

export interface ConvOptions {
  stride?: number | [number, number];
  padding?: number | [number, number] | [number, number, number, number];
  dilation?: number | [number, number];
  groups?: number;
}

function pair(v: number | [number, number] | undefined, d: number): [number, number] {
  if (v === undefined) return [d, d];
  return typeof v === "number" ? [v, v] : v;
}

function pads(v: ConvOptions["padding"]): [number, number, number, number] {
  if (v === undefined) return [0, 0, 0, 0];
  if (typeof v === "number") return [v, v, v, v];
  if (v.length === 2) return [v[0], v[1], v[0], v[1]];
  return v;
}

export function convAttrs(o: ConvOptions): Conv2dAttrs {
  return { stride: pair(o.stride, 1), pad: pads(o.padding), dilation: pair(o.dilation, 1), groups: o.groups ?? 1 };
}

export const conv2d = (x: Tensor, w: Tensor, o: ConvOptions = {}): Tensor => node("conv2d", [x, w], convAttrs(o));
export const convTranspose2d = (x: Tensor, w: Tensor, o: ConvOptions & { outputPadding?: [number, number] } = {}): Tensor =>
  node("convTranspose2d", [x, w], { ...convAttrs(o), outputPadding: o.outputPadding ?? [0, 0] });
export const avgPool2d = (x: Tensor, kernel: number | [number, number], stride?: number | [number, number], padding?: ConvOptions["padding"]): Tensor =>
  node("avgPool2d", [x], { kernel: pair(kernel, 1), stride: pair(stride ?? kernel, 1), pad: pads(padding) });
