/** @file Composite layers built from IR primitives; none needs gradient code of its own. */
import * as T from "../ir/tensor.js";
import type { Tensor } from "../ir/tensor.js";

/** An int8 linear weight: q [out, in] int8 and one float32 scale per output row, W ~= q * scale[:, None]. */
export interface Int8Weight {
  q: Tensor;
  scale: Tensor;
}

/** A linear layer's weight: float [out, in], or int8 with per-output-channel scales. */
export type LinearWeight = Tensor | Int8Weight;

/** torch.nn.Linear: x @ W^T + b with W [out, in]; an int8 weight runs as one `matmulInt8` (activations quantized dynamically). */
export function linear(x: Tensor, weight: LinearWeight, bias?: Tensor): Tensor {
  if (!(weight instanceof T.Tensor)) return T.matmulInt8(x, T.mT(weight.q), weight.scale, bias); // [out, in] -> [in, out]
  const y = T.matmul(x, T.mT(weight));
  return bias ? T.add(y, bias) : y;
}

/** GELU with the exact erf form (torch.nn.GELU()), written as x * (erf(x / sqrt 2) + 1) * 0.5: the op order
 * ONNX Runtime's GeluFusion recognizes (it then fuses the preceding bias add too). */
export function gelu(x: Tensor): Tensor {
  return T.mul(T.mul(x, T.add(T.erf(T.div(x, Math.SQRT2)), 1)), 0.5);
}

/** OpenAI CLIP's QuickGELU: x * sigmoid(1.702 x). */
export function quickGelu(x: Tensor): Tensor {
  return T.mul(x, T.sigmoid(T.mul(x, 1.702)));
}

/** log(sum(exp(x))) along axes, stabilised by the (gradient-free) maximum. */
export function logsumexp(x: Tensor, axes: number[], keepdims = false): Tensor {
  const m = T.stopGradient(T.reduceMax(x, axes, true));
  const s = T.log(T.reduceSum(T.exp(T.sub(x, m)), axes, true));
  const out = T.add(s, m);
  return keepdims ? out : T.reduceSum(out, axes, false);
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return T.sub(x, logsumexp(x, [axis], true));
}

/** Mean cross-entropy of logits [N, C] against integer labels [N]. */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const c = logits.dim(-1);
  const onehot = T.oneHot(T.cast(labels, "int64"), c, logits.dtype); // [N, C]
  const picked = T.reduceSum(T.mul(onehot, logits), [-1]); // [N]
  return T.reduceMean(T.sub(logsumexp(logits, [-1]), picked), [0]);
}

/** Rows scaled to unit L2 norm along the last axis. */
export function l2normalize(x: Tensor, eps = 0): Tensor {
  const n = T.sqrt(T.reduceSum(T.mul(x, x), [-1], true));
  return T.div(x, eps ? T.maximum(n, eps) : n);
}

/** BatchNorm2d with running statistics (inference). x [N, C, H, W]. */
export function batchNormInference(x: Tensor, weight: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, eps = 1e-5): Tensor {
  const c = weight.dim(0);
  const scale = T.mul(weight, T.rsqrt(T.add(variance, eps))); // [C]
  const shift = T.sub(bias, T.mul(mean, scale));
  return T.add(T.mul(x, T.reshape(scale, [c, 1, 1])), T.reshape(shift, [c, 1, 1]));
}

/**
 * BatchNorm2d in training mode: batch statistics, plus the updated running statistics (torch
 * momentum). The normalization is one `batchNormTrain` node whose gradient rule is BatchNorm's
 * whole backward, so the statistics enter it with their gradients stopped.
 */
export function batchNormTraining(
  x: Tensor,
  weight: Tensor,
  bias: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  eps = 1e-5,
  momentum = 0.1,
): { y: Tensor; runningMean: Tensor; runningVar: Tensor } {
  const c = weight.dim(0);
  const mean = T.reduceMean(x, [0, 2, 3], true); // [1, C, 1, 1]
  const xc = T.sub(x, T.stopGradient(mean));
  const v = T.reduceMean(T.mul(xc, xc), [0, 2, 3], true); // [1, C, 1, 1]
  const invstd = T.stopGradient(T.rsqrt(T.add(T.reshape(v, [c]), eps))); // [1, C, 1, 1] -> [C]
  const y = T.batchNormTrain(xc, invstd, weight, bias);
  const n = x.dim(0) * x.dim(2) * x.dim(3);
  const m1 = T.stopGradient(T.reshape(mean, [c])); // [1, C, 1, 1] -> [C]
  const v1 = T.stopGradient(T.mul(T.reshape(v, [c]), n / Math.max(n - 1, 1))); // unbiased, as torch stores it
  return {
    y,
    runningMean: T.add(T.mul(runningMean, 1 - momentum), T.mul(m1, momentum)),
    runningVar: T.add(T.mul(runningVar, 1 - momentum), T.mul(v1, momentum)),
  };
}

/** An additive causal mask [L, L]: 0 on and below the diagonal, -inf above (openai/CLIP build_attention_mask). */
export function causalMask(len: number, dtype: "float32" | "float64" = "float32"): Tensor {
  const m = dtype === "float32" ? new Float32Array(len * len) : new Float64Array(len * len);
  for (let i = 0; i < len; i++) for (let j = i + 1; j < len; j++) m[i * len + j] = -Infinity;
  return T.constant(m, [len, len]);
}

/**
 * causalMask for a length known only when the graph runs: `positions` is int64 [L] holding 0..L-1
 * (fed), and the mask [L, L] is -Infinity where the key's position is after the query's.
 */
export function causalMaskAt(positions: Tensor): Tensor {
  const query = T.reshape(positions, [-1, 1]); // [L] -> [L, 1]
  const key = T.reshape(positions, [1, -1]); // [L] -> [1, L]
  return T.where(T.greater(key, query), T.scalar(-Infinity), 0); // [L, L]
}

export interface AttentionParams {
  inProjWeight: LinearWeight; // [3D, D]
  inProjBias: Tensor; // [3D]
  outProjWeight: LinearWeight; // [D, D]
  outProjBias: Tensor; // [D]
}

/** torch.nn.MultiheadAttention self-attention on batch-first x [B, L, D]; mask [L, L] is added to the scores. */
export function selfAttention(x: Tensor, p: AttentionParams, heads: number, mask?: Tensor): Tensor {
  const d = x.dim(-1);
  const hd = d / heads;
  const qkv = linear(x, p.inProjWeight, p.inProjBias); // [B, L, 3D]
  // [B, L, 3D] -> [B, L, D] -> [B, L, H, hd] -> [B, H, L, hd]
  const pick = (i: number): Tensor => T.transpose(T.reshape(T.slice(qkv, -1, i * d, (i + 1) * d), [0, 0, heads, hd]), [0, 2, 1, 3]);
  const q = T.mul(pick(0), 1 / Math.sqrt(hd));
  const k = pick(1);
  const v = pick(2);
  let scores = T.matmul(q, T.mT(k)); // [B, H, L, L]
  if (mask) scores = T.add(scores, mask);
  const attn = T.matmul(T.softmax(scores, -1), v); // [B, H, L, hd]
  const merged = T.reshape(T.transpose(attn, [0, 2, 1, 3]), [0, 0, d]); // [B, H, L, hd] -> [B, L, H, hd] -> [B, L, D]
  return linear(merged, p.outProjWeight, p.outProjBias);
}
