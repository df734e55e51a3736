/** @file The contrastive objectives: CLIP's symmetric cross-entropy and SigLIP's sigmoid loss. */
import * as T from "../ir/tensor.js";
import type { Tensor } from "../ir/tensor.js";
import { crossEntropy, l2normalize } from "../nn/functional.js";

export type LossKind = "clip" | "siglip";

/** Initial logit_scale of each loss (CLIP: ln(1/0.07); SigLIP: ln 10) and SigLIP's initial logit_bias. */
export const INIT_LOGIT_SCALE: Record<LossKind, number> = { clip: Math.log(1 / 0.07), siglip: Math.log(10) };
export const INIT_LOGIT_BIAS = -10;

function arange(n: number): Tensor {
  return T.constant(BigInt64Array.from({ length: n }, (_v, i) => BigInt(i)), [n]);
}

/** Features L2-normalized as open_clip's F.normalize (eps 1e-12). */
export function normalizeFeatures(x: Tensor): Tensor {
  return l2normalize(x, 1e-12);
}

/**
 * CLIP loss on normalized features [N, D]: logits = exp(logit_scale) * I T^T, then the mean of the
 * cross-entropies over rows (image -> text) and over columns (text -> image), pairs on the diagonal.
 */
export function clipLoss(img: Tensor, txt: Tensor, logitScale: Tensor): Tensor {
  const n = img.dim(0);
  const logits = T.mul(T.exp(logitScale), T.matmul(img, T.mT(txt))); // [N, N]
  const labels = arange(n);
  return T.mul(T.add(crossEntropy(logits, labels), crossEntropy(T.mT(logits), labels)), 0.5);
}

/** log(sigmoid(z)) = min(z, 0) - log(1 + exp(-|z|)), stable for any z. */
export function logSigmoid(z: Tensor): Tensor {
  return T.sub(T.minimum(z, 0), T.log(T.add(T.exp(T.neg(T.abs(z))), 1)));
}

/** SigLIP loss: -sum(log sigmoid(labels * (exp(scale) I T^T + bias))) / N with labels 2 eye - 1. */
export function siglipLoss(img: Tensor, txt: Tensor, logitScale: Tensor, logitBias: Tensor): Tensor {
  const n = img.dim(0);
  const logits = T.add(T.mul(T.exp(logitScale), T.matmul(img, T.mT(txt))), logitBias); // [N, N]
  const labels = new Float32Array(n * n).fill(-1);
  for (let i = 0; i < n; i++) labels[i * n + i] = 1;
  const z = T.mul(T.cast(T.constant(labels, [n, n]), logits.dtype), logits);
  return T.div(T.neg(T.reduceSum(logSigmoid(z), [0, 1])), n);
}
