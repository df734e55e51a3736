/** @file The contrastive objectives: CLIP's symmetric cross-entropy and SigLIP's sigmoid loss. */
import * as T from "../ir/tensor.js";
import type { Tensor } from "../ir/tensor.js";
import { crossEntropy, l2normalize, logSoftmax } from "../nn/functional.js";
import { InternalError } from "../errors.js";

export type LossKind = "clip" | "siglip";

/** Initial logit_scale of each loss (CLIP: ln(1/0.07); SigLIP: ln 10) and SigLIP's initial logit_bias. */
export const INIT_LOGIT_SCALE: Record<LossKind, number> = { clip: Math.log(1 / 0.07), siglip: Math.log(10) };
export const INIT_LOGIT_BIAS = -10;

/** The image of each of N*K caption rows (row j belongs to image floor(j / K)): arange(N) when K = 1. */
function imageOfCaption(n: number, k: number): Tensor {
  return T.constant(BigInt64Array.from({ length: n * k }, (_v, j) => BigInt(Math.floor(j / k))), [n * k]);
}

/** Features L2-normalized as open_clip's F.normalize (eps 1e-12). */
export function normalizeFeatures(x: Tensor): Tensor {
  return l2normalize(x, 1e-12);
}

/**
 * Which captions belong to which image when each of N images brings K captions (rows i*K ..
 * i*K+K-1 of the text features are image i's): a constant [N, N*K] of `on` at the positives and
 * `off` elsewhere.
 */
function positives(n: number, k: number, on: number, off: number): Tensor {
  const m = new Float32Array(n * n * k).fill(off);
  for (let i = 0; i < n; i++) m.fill(on, i * n * k + i * k, i * n * k + i * k + k);
  return T.constant(m, [n, n * k]);
}

/** Cross-entropy of logits [R, C] against soft targets [R, C] (each row sums to 1), the mean over rows. */
function softCrossEntropy(logits: Tensor, target: Tensor): Tensor {
  return T.div(T.neg(T.reduceSum(T.mul(target, logSoftmax(logits, -1)), [0, 1])), logits.dim(0));
}

/**
 * CLIP loss on normalized features: logits = exp(logit_scale) * I T^T, then the mean of the
 * cross-entropies over rows (image -> text) and over columns (text -> image), pairs on the diagonal.
 *
 * With `k` captions per image (img [N, D], txt [N*K, D], image i's captions at rows i*K..i*K+K-1):
 * text -> image is the cross-entropy of each caption against its image among the N; image -> text
 * is multi-positive, the cross-entropy against a target spread evenly over the image's K captions
 * (StableRep, Tian et al. 2023; SupCon's L_out, Khosla et al. 2020). K = 1 is the loss above.
 *
 * `smoothing` e > 0 is label smoothing (Szegedy et al. 2016; torch's `cross_entropy(...,
 * label_smoothing=e)`): each row's target is (1 - e) times the one above plus e spread evenly over
 * the row's C candidates (C = N for text -> image, N*K for image -> text).
 */
export function clipLoss(img: Tensor, txt: Tensor, logitScale: Tensor, k = 1, smoothing = 0): Tensor {
  const n = img.dim(0);
  if (txt.dim(0) !== n * k) throw new InternalError(`clipLoss: ${txt.dim(0)} text rows for ${n} images x ${k} captions`);
  if (!(smoothing >= 0 && smoothing < 1)) throw new InternalError(`clipLoss: label smoothing ${smoothing} is outside [0, 1)`);
  const logits = T.mul(T.exp(logitScale), T.matmul(img, T.mT(txt))); // [N, N*K]
  if (smoothing > 0) {
    const e = smoothing;
    const textTarget = T.mT(positives(n, k, 1 - e + e / n, e / n)); // [N, N*K] -> [N*K, N]
    const imageTarget = positives(n, k, (1 - e) / k + e / (n * k), e / (n * k)); // [N, N*K]
    return T.mul(T.add(softCrossEntropy(logits, imageTarget), softCrossEntropy(T.mT(logits), textTarget)), 0.5);
  }
  const labels = imageOfCaption(n, k); // [N*K]
  const textToImage = crossEntropy(T.mT(logits), labels); // rows of [N*K, N]
  // image -> text: with one caption per image its row is the label; with K the target is spread over them
  const imageToText = k === 1 ? crossEntropy(logits, labels) : softCrossEntropy(logits, positives(n, k, 1 / k, 0));
  return T.mul(T.add(imageToText, textToImage), 0.5);
}

/**
 * CLIP loss with hard-negative captions (NegCLIP, Yuksekgonul et al. 2023): txt [N*K, D] holds
 * image i's caption at row K*i and its K-1 negatives (captions of twins that differ in one attribute)
 * at rows K*i+1 .. K*i+K-1. Image -> text is the cross-entropy of each image against its caption
 * among all N*K texts, the negatives included; text -> image is CLIP's over the N captions only (a
 * negative describes no image of the batch).
 */
export function clipLossHardNegatives(img: Tensor, txt: Tensor, logitScale: Tensor, k = 2): Tensor {
  const n = img.dim(0);
  if (!(k >= 2) || txt.dim(0) !== k * n) throw new InternalError(`clipLossHardNegatives: ${txt.dim(0)} text rows for ${n} images with a caption and ${k - 1} negatives each`);
  const logits = T.mul(T.exp(logitScale), T.matmul(img, T.mT(txt))); // [N, N*K]
  const caption = T.constant(BigInt64Array.from({ length: n }, (_v, i) => BigInt(k * i)), [n]); // [N]: column K*i
  const captionLogits = T.slice(logits, 1, 0, k * n, k); // [N, N*K] -> [N, N]: the captions' columns
  const textToImage = crossEntropy(T.mT(captionLogits), imageOfCaption(n, 1));
  return T.mul(T.add(crossEntropy(logits, caption), textToImage), 0.5);
}

/** log(sigmoid(z)) = min(z, 0) - log(1 + exp(-|z|)), stable for any z. */
export function logSigmoid(z: Tensor): Tensor {
  return T.sub(T.minimum(z, 0), T.log(T.add(T.exp(T.neg(T.abs(z))), 1)));
}

/**
 * SigLIP loss: -sum(log sigmoid(labels * (exp(scale) I T^T + bias))) / N with labels 2 eye - 1.
 * With `k` captions per image (as in `clipLoss`), every caption of an image is a positive: labels
 * [N, N*K] are +1 at image i's K captions and -1 elsewhere; the sum is still divided by N.
 */
export function siglipLoss(img: Tensor, txt: Tensor, logitScale: Tensor, logitBias: Tensor, k = 1): Tensor {
  const n = img.dim(0);
  if (txt.dim(0) !== n * k) throw new InternalError(`siglipLoss: ${txt.dim(0)} text rows for ${n} images x ${k} captions`);
  const logits = T.add(T.mul(T.exp(logitScale), T.matmul(img, T.mT(txt))), logitBias); // [N, N*K]
  const z = T.mul(T.cast(positives(n, k, 1, -1), logits.dtype), logits);
  return T.div(T.neg(T.reduceSum(logSigmoid(z), [0, 1])), n);
}
