/** @file The one op enum of the IR: every primitive and its attributes. */
import type { DType, HostArray } from "./dtype.js";
import type { Dim } from "./shape.js";

type None = Record<string, never>;
export interface Conv2dAttrs {
  stride: [number, number];
  /** [top, left, bottom, right] as ONNX orders pads for 2-D. */
  pad: [number, number, number, number];
  dilation: [number, number];
  groups: number;
}

/** Every primitive op and its attributes. Composites (softmax-free attention, GELU, cross-entropy...) live in nn/. */
export interface OpAttrs {
  // leaves
  input: { name: string };
  param: { name: string };
  const: { value: HostArray };
  // elementwise unary
  neg: None;
  exp: None;
  log: None;
  sqrt: None;
  reciprocal: None;
  tanh: None;
  sigmoid: None;
  erf: None;
  abs: None;
  relu: None;
  // elementwise binary with numpy broadcasting
  add: None;
  sub: None;
  mul: None;
  div: None;
  pow: None;
  maximum: None;
  minimum: None;
  less: None;
  greater: None;
  equal: None;
  where: None;
  cast: { to: DType };
  // linear algebra
  matmul: None;
  /**
   * int8 matmul with dynamic activation quantization: inputs x (float32 [..., K]), w (int8 [K, N]),
   * scale (float32 [N], per output column) and an optional bias (float32 [N]). x is quantized per
   * tensor to uint8 as ONNX DynamicQuantizeLinear does, multiplied in integers by w, and the int32
   * sums are scaled by x's scale times scale[n]: y ~= x @ (w * scale) + bias.
   */
  matmulInt8: None;
  // movement; reshape: 0 copies the input dim at that index, -1 is inferred
  reshape: { shape: number[] };
  transpose: { perm: number[] };
  expand: { shape: Dim[] };
  concat: { axis: number };
  slice: { axis: number; start: number; end: number; step: number };
  /** zero padding of one axis: `before` and `after` elements */
  pad: { axis: number; before: number; after: number };
  gather: { axis: number };
  /** out = data; out[indices[i...], :] += updates[i..., :] (rows of axis 0). */
  scatterAdd: None;
  // reductions
  reduceSum: { axes: number[]; keepdims: boolean };
  reduceMean: { axes: number[]; keepdims: boolean };
  reduceMax: { axes: number[]; keepdims: boolean };
  argmax: { axis: number; keepdims: boolean };
  oneHot: { depth: number; dtype: DType };
  // fused kernels ORT runs faster than their composites; their gradients are composites
  softmax: { axis: number };
  layerNorm: { eps: number };
  /**
   * BatchNorm's normalization in training, y = xc * invstd * weight + bias per channel of xc
   * [N, C, H, W], where xc is the input minus its batch mean and invstd [C] is 1 / sqrt(mean(xc^2)
   * + eps), both formed by the caller with their gradients stopped. The gradient rule is BatchNorm's
   * whole backward (torch's native_batch_norm_backward), the statistics' dependence included, in
   * five full-size passes where the composite's autodiff takes about eleven.
   */
  batchNormTrain: None;
  // convolution and pooling (NCHW)
  conv2d: Conv2dAttrs;
  convTranspose2d: Conv2dAttrs & { outputPadding: [number, number] };
  avgPool2d: { kernel: [number, number]; stride: [number, number]; pad: [number, number, number, number] };
  // identity whose gradient is zero
  stopGradient: None;
}

export type OpName = keyof OpAttrs;
