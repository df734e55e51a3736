/** @file One forward (and, where differentiable, gradient) test case per IR op. */
import type { DType } from "../../src/ir/dtype.js";
import type { OpName } from "../../src/ir/ops.js";
import * as T from "../../src/ir/tensor.js";
import type { Tensor } from "../../src/ir/tensor.js";

export interface InputSpec {
  shape: number[];
  dtype?: DType; // default: the case's float dtype
  /** value generator: default standard-ish uniform in [-2, 2] */
  gen?: "positive" | "int" | "bool" | "distinct";
  /** integer range for gen "int" */
  max?: number;
}

export interface OpCase {
  op: OpName;
  name?: string;
  inputs: InputSpec[];
  build: (xs: Tensor[]) => Tensor;
  /** false: the op is not differentiable (its gradient test is the refusal) */
  grad?: boolean;
  /** finite-difference step and relative tolerance (defaults 1e-6 and 1e-6) */
  fdEps?: number;
  fdTol?: number;
  /** A straight-through estimator: the op's gradient must equal this differentiable composite's (finite differences see the rounding steps). */
  straightThrough?: (xs: Tensor[]) => Tensor;
}

export const CASES: OpCase[] = [
  { op: "neg", inputs: [{ shape: [2, 3] }], build: ([x]) => T.neg(x) },
  { op: "exp", inputs: [{ shape: [2, 3] }], build: ([x]) => T.exp(x) },
  { op: "log", inputs: [{ shape: [2, 3], gen: "positive" }], build: ([x]) => T.log(x) },
  { op: "sqrt", inputs: [{ shape: [2, 3], gen: "positive" }], build: ([x]) => T.sqrt(x) },
  { op: "reciprocal", inputs: [{ shape: [2, 3], gen: "positive" }], build: ([x]) => T.reciprocal(x) },
  { op: "tanh", inputs: [{ shape: [2, 3] }], build: ([x]) => T.tanh(x) },
  { op: "sigmoid", inputs: [{ shape: [2, 3] }], build: ([x]) => T.sigmoid(x) },
  { op: "erf", inputs: [{ shape: [2, 3] }], build: ([x]) => T.erf(x) },
  { op: "abs", inputs: [{ shape: [2, 3], gen: "distinct" }], build: ([x]) => T.abs(x) },
  { op: "relu", inputs: [{ shape: [2, 3], gen: "distinct" }], build: ([x]) => T.relu(x) },
  { op: "add", inputs: [{ shape: [2, 3] }, { shape: [3] }], build: ([a, b]) => T.add(a, b) },
  { op: "sub", inputs: [{ shape: [2, 1] }, { shape: [2, 3] }], build: ([a, b]) => T.sub(a, b) },
  { op: "mul", inputs: [{ shape: [2, 3] }, { shape: [1, 3] }], build: ([a, b]) => T.mul(a, b) },
  { op: "div", inputs: [{ shape: [2, 3] }, { shape: [2, 3], gen: "positive" }], build: ([a, b]) => T.div(a, b) },
  { op: "pow", inputs: [{ shape: [2, 3], gen: "positive" }, { shape: [3] }], build: ([a, b]) => T.pow(a, b) },
  { op: "maximum", inputs: [{ shape: [2, 3], gen: "distinct" }, { shape: [2, 3], gen: "distinct" }], build: ([a, b]) => T.maximum(a, b) },
  { op: "minimum", inputs: [{ shape: [2, 3], gen: "distinct" }, { shape: [3], gen: "distinct" }], build: ([a, b]) => T.minimum(a, b) },
  { op: "less", inputs: [{ shape: [2, 3] }, { shape: [3] }], build: ([a, b]) => T.less(a, b), grad: false },
  { op: "greater", inputs: [{ shape: [2, 3] }, { shape: [2, 3] }], build: ([a, b]) => T.greater(a, b), grad: false },
  { op: "equal", inputs: [{ shape: [4], dtype: "int64", gen: "int", max: 2 }, { shape: [4], dtype: "int64", gen: "int", max: 2 }], build: ([a, b]) => T.equal(a, b), grad: false },
  {
    op: "where",
    inputs: [{ shape: [2, 3], dtype: "bool", gen: "bool" }, { shape: [2, 3] }, { shape: [3] }],
    build: ([c, a, b]) => T.where(c, a, b),
  },
  // through float32 and back: finite differences need a step well above float32 rounding
  { op: "cast", inputs: [{ shape: [2, 3] }], build: ([x]) => T.cast(T.cast(x, "float32"), "float64"), fdEps: 1e-2, fdTol: 1e-5 },
  { op: "cast", name: "cast-int", inputs: [{ shape: [5], dtype: "int64", gen: "int", max: 9 }], build: ([x]) => T.cast(x, "float32"), grad: false },
  { op: "matmul", inputs: [{ shape: [2, 3, 4] }, { shape: [4, 5] }], build: ([a, b]) => T.matmul(a, b) },
  { op: "matmul", name: "matmul-batched", inputs: [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }], build: ([a, b]) => T.matmul(a, b) },
  {
    // float32 only: float64 cases enter and leave through casts; the composite is the dequantized weight's matmul
    op: "matmulInt8",
    inputs: [{ shape: [2, 3, 6] }, { shape: [6, 5], dtype: "int8", gen: "int" }, { shape: [5], gen: "positive" }, { shape: [5] }],
    build: ([x, w, s, b]) => T.cast(T.matmulInt8(T.cast(x, "float32"), w, T.cast(s, "float32"), T.cast(b, "float32")), x.dtype),
    straightThrough: ([x, w, s, b]) => T.add(T.matmul(x, T.mul(T.cast(w, x.dtype), s)), b),
  },
  { op: "reshape", inputs: [{ shape: [2, 3, 4] }], build: ([x]) => T.reshape(x, [0, -1, 2]) },
  { op: "transpose", inputs: [{ shape: [2, 3, 4] }], build: ([x]) => T.transpose(x, [2, 0, 1]) },
  { op: "expand", inputs: [{ shape: [3, 1] }], build: ([x]) => T.expand(x, [2, 3, 4]) },
  { op: "concat", inputs: [{ shape: [2, 3] }, { shape: [2, 1] }], build: ([a, b]) => T.concat([a, b], 1) },
  { op: "slice", inputs: [{ shape: [3, 7] }], build: ([x]) => T.slice(x, 1, 1, 6, 2) },
  { op: "slice", name: "slice-step1", inputs: [{ shape: [3, 7] }], build: ([x]) => T.slice(x, -1, -5, -1) },
  { op: "pad", inputs: [{ shape: [3, 2] }], build: ([x]) => T.pad(x, 0, 1, 2) },
  { op: "gather", inputs: [{ shape: [5, 3] }, { shape: [2, 3], dtype: "int64", gen: "int", max: 5 }], build: ([x, i]) => T.gather(x, i, 0) },
  { op: "gather", name: "gather-axis1", inputs: [{ shape: [2, 5, 3] }, { shape: [4], dtype: "int64", gen: "int", max: 5 }], build: ([x, i]) => T.gather(x, i, 1) },
  {
    op: "scatterAdd",
    inputs: [{ shape: [4, 3] }, { shape: [5], dtype: "int64", gen: "int", max: 4 }, { shape: [5, 3] }],
    build: ([d, i, u]) => T.scatterAdd(d, i, u),
  },
  { op: "reduceSum", inputs: [{ shape: [2, 3, 4] }], build: ([x]) => T.reduceSum(x, [0, 2]) },
  { op: "reduceMean", inputs: [{ shape: [2, 3, 4] }], build: ([x]) => T.reduceMean(x, [-1], true) },
  { op: "reduceMax", inputs: [{ shape: [2, 3, 4], gen: "distinct" }], build: ([x]) => T.reduceMax(x, [1]) },
  { op: "argmax", inputs: [{ shape: [3, 4], gen: "distinct" }], build: ([x]) => T.argmax(x, 1), grad: false },
  { op: "oneHot", inputs: [{ shape: [2, 3], dtype: "int64", gen: "int", max: 4 }], build: ([i]) => T.oneHot(i, 4, "float64"), grad: false },
  { op: "softmax", inputs: [{ shape: [2, 3, 4] }], build: ([x]) => T.softmax(x, 1) },
  { op: "layerNorm", inputs: [{ shape: [2, 3, 5] }, { shape: [5] }, { shape: [5] }], build: ([x, w, b]) => T.layerNorm(x, w, b, 1e-5) },
  {
    op: "batchNormTrain",
    inputs: [{ shape: [2, 3, 2, 3] }, { shape: [3] }, { shape: [3] }],
    // as nn/functional's batchNormTraining forms it: the statistics of x, their gradients stopped
    build: ([x, w, b]) => {
      const xc = T.sub(x, T.stopGradient(T.reduceMean(x, [0, 2, 3], true)));
      const invstd = T.stopGradient(T.rsqrt(T.add(T.reshape(T.reduceMean(T.mul(xc, xc), [0, 2, 3], true), [3]), 1e-5)));
      return T.batchNormTrain(xc, invstd, w, b);
    },
  },
  {
    op: "conv2d",
    inputs: [{ shape: [2, 4, 7, 6] }, { shape: [6, 2, 3, 2] }],
    build: ([x, w]) => T.conv2d(x, w, { stride: [2, 1], padding: [1, 0, 0, 1], dilation: [1, 2], groups: 2 }),
  },
  { op: "conv2d", name: "conv2d-patch", inputs: [{ shape: [1, 3, 8, 8] }, { shape: [5, 3, 4, 4] }], build: ([x, w]) => T.conv2d(x, w, { stride: 4 }) },
  // stride 1, ungrouped: the weight gradient by kernel taps (autodiff/rules.ts), uneven padding and a 1x1 kernel
  { op: "conv2d", name: "conv2d-taps", inputs: [{ shape: [2, 3, 5, 4] }, { shape: [4, 3, 3, 2] }], build: ([x, w]) => T.conv2d(x, w, { padding: [1, 0, 2, 1] }) },
  // strided or dilated 3x3, ungrouped (a ResNet stem's conv1): the weight gradient by strided taps; 7 rows leave a remainder
  { op: "conv2d", name: "conv2d-taps-strided", inputs: [{ shape: [2, 3, 7, 6] }, { shape: [4, 3, 3, 3] }], build: ([x, w]) => T.conv2d(x, w, { stride: 2, padding: [1, 1, 0, 1] }) },
  { op: "conv2d", name: "conv2d-taps-dilated", inputs: [{ shape: [2, 2, 8, 7] }, { shape: [3, 2, 3, 2] }], build: ([x, w]) => T.conv2d(x, w, { stride: [1, 2], dilation: [2, 1], padding: 1 }) },
  // a grid of 16x16 or more: the input gradient is a convolution with the flipped weight (autodiff/rules.ts)
  { op: "conv2d", name: "conv2d-flipped-grad", inputs: [{ shape: [1, 2, 16, 17] }, { shape: [3, 2, 3, 2] }], build: ([x, w]) => T.conv2d(x, w, { padding: [1, 0, 2, 1] }) },
  { op: "conv2d", name: "conv2d-1x1", inputs: [{ shape: [2, 3, 4, 4] }, { shape: [5, 3, 1, 1] }], build: ([x, w]) => T.conv2d(x, w) },
  {
    op: "convTranspose2d",
    inputs: [{ shape: [1, 4, 3, 3] }, { shape: [4, 3, 3, 3] }],
    build: ([x, w]) => T.convTranspose2d(x, w, { stride: 2, padding: 1, outputPadding: [1, 0] }),
  },
  { op: "avgPool2d", name: "avgPool2d (windows tile the input)", inputs: [{ shape: [2, 3, 6, 4] }], build: ([x]) => T.avgPool2d(x, 2) },
  { op: "avgPool2d", name: "avgPool2d (overlapping, padded)", inputs: [{ shape: [2, 3, 5, 4] }], build: ([x]) => T.avgPool2d(x, 3, 2, 1) },
  { op: "avgPool2d", name: "avgPool2d (a remainder row)", inputs: [{ shape: [1, 2, 5, 4] }], build: ([x]) => T.avgPool2d(x, 2) },
  { op: "stopGradient", inputs: [{ shape: [2, 3] }], build: ([x]) => T.stopGradient(x), grad: false },
];
