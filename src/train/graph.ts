/** @file Training graphs: forward through both towers, the loss, and gradients of the trainable parameters. */
import { grad } from "../autodiff/grad.js";
import * as T from "../ir/tensor.js";
import type { Tensor } from "../ir/tensor.js";
import { type ClipConfig, expectedParams, isResNet } from "../models/clip/config.js";
import { type BatchNormState, encodeImage, encodeText, type Params } from "../models/clip/towers.js";
import { clipLoss, clipLossHardNegatives, type LossKind, normalizeFeatures, siglipLoss } from "./losses.js";
import { InternalError } from "../errors.js";

/** Every tensor a training run updates or reads, by checkpoint key, with its shape. */
export function trainingShapes(config: ClipConfig, loss: LossKind): Map<string, number[]> {
  const shapes = new Map(expectedParams(config).filter((p) => !p.key.endsWith("num_batches_tracked")).map((p) => [p.key, p.shape]));
  if (loss === "siglip") shapes.set("logit_bias", []);
  return shapes;
}

export interface TrainGraphSpec {
  config: ClipConfig;
  loss: LossKind;
  /** Rows of one forward pass. */
  micro: number;
  /** Rows of the contrastive batch (micro * accumulation steps). */
  batch: number;
  /** Captions per image (default 1): `tokens` has micro * K rows, image i's at i*K .. i*K+K-1 (see `clipLoss`). */
  captionsPerImage?: number;
  /** Label smoothing of the CLIP loss (default 0; see `clipLoss`). */
  labelSmoothing?: number;
  /** Each image's caption rows after the first are hard negatives (captionsPerImage >= 2, loss clip): see `clipLossHardNegatives`. */
  hardNegatives?: boolean;
  /**
   * Caption rows of each text bucket (summing to micro * K). Absent: one input `tokens` [rows, ctx].
   * Given: inputs `tokens.j` [rows_j, L_j] with `positions.j` (0..L_j-1) per bucket, each cut after
   * its longest caption, the buckets' features concatenated in order (see `bucketCaptions`).
   */
  textBuckets?: number[];
  /** Keys that receive gradients. */
  trainable: ReadonlySet<string>;
  /** BatchNorm uses batch statistics and updates its running statistics (a trainable ResNet tower). */
  trainBatchNorm: boolean;
}

function params(shapes: Map<string, number[]>): Params {
  const made = new Map<string, Tensor>();
  return (key) => {
    let t = made.get(key);
    if (!t) {
      const shape = shapes.get(key);
      if (!shape) throw new InternalError(`no parameter '${key}'`);
      t = T.param(key, shape);
      made.set(key, t);
    }
    return t;
  };
}

/** Text features of the caption rows: one full-context input, or one cut input per bucket. */
function textFeatures(spec: TrainGraphSpec, P: Params): Tensor {
  if (!spec.textBuckets) {
    const tokens = T.input("tokens", "int64", [spec.micro * (spec.captionsPerImage ?? 1), spec.config.text_cfg.context_length]);
    return encodeText(spec.config, tokens, P);
  }
  const parts = spec.textBuckets.map((rows, j) => encodeText(spec.config, T.input(`tokens.${j}`, "int64", [rows, `L${j}`]), P, T.input(`positions.${j}`, "int64", [`L${j}`])));
  return parts.length === 1 ? parts[0]! : T.concat(parts, 0); // [rows_j, D] -> [micro * K, D]
}

function features(spec: TrainGraphSpec, P: Params, bn: BatchNormState): { img: Tensor; txt: Tensor } {
  const S = spec.config.vision_cfg.image_size;
  const pixels = T.input("pixels", "float32", [spec.micro, 3, S, S]);
  return {
    img: normalizeFeatures(encodeImage(spec.config, pixels, P, bn)),
    txt: normalizeFeatures(textFeatures(spec, P)),
  };
}

function lossOf(spec: TrainGraphSpec, img: Tensor, txt: Tensor, P: Params): Tensor {
  const k = spec.captionsPerImage ?? 1;
  if (spec.hardNegatives) {
    if (k < 2 || spec.loss !== "clip" || (spec.labelSmoothing ?? 0) !== 0) throw new InternalError(`hard negatives take two or more caption rows per image and the plain CLIP loss (got ${k} rows, loss ${spec.loss})`);
    return clipLossHardNegatives(img, txt, P("logit_scale"), k);
  }
  return spec.loss === "siglip" ? siglipLoss(img, txt, P("logit_scale"), P("logit_bias"), k) : clipLoss(img, txt, P("logit_scale"), k, spec.labelSmoothing ?? 0);
}

/** Outputs: `loss`, `grad.KEY` per trainable key, `bn.KEY` per updated BatchNorm statistic. */
export function buildStepGraph(spec: TrainGraphSpec): Record<string, Tensor> {
  const shapes = trainingShapes(spec.config, spec.loss);
  const P = params(shapes);
  const bn: BatchNormState = { training: spec.trainBatchNorm && isResNet(spec.config.vision_cfg), updates: new Map() };
  let { img, txt } = features(spec, P, bn);
  if (spec.batch !== spec.micro) {
    if ((spec.captionsPerImage ?? 1) !== 1) throw new InternalError("feature-cached accumulation takes one caption per image");
    // feature-cached accumulation: this micro-batch's rows replace theirs in the cached full batch
    const d = spec.config.embed_dim;
    const place = T.input("place", "float32", [spec.batch, spec.micro]); // one-hot rows of this micro-batch
    const keep = T.input("keep", "float32", [spec.batch, 1]); // 0 on this micro-batch's rows
    const cachedImg = T.input("cached_img", "float32", [spec.batch, d]);
    const cachedTxt = T.input("cached_txt", "float32", [spec.batch, d]);
    img = T.add(T.mul(cachedImg, keep), T.matmul(place, img));
    txt = T.add(T.mul(cachedTxt, keep), T.matmul(place, txt));
  }
  const loss = lossOf(spec, img, txt, P);
  const keys = [...spec.trainable].sort();
  const grads = grad(loss, keys.map((k) => P(k)));
  const out: Record<string, Tensor> = { loss };
  keys.forEach((k, i) => (out[`grad.${k}`] = grads[i]));
  for (const [k, t] of bn.updates) out[`bn.${k}`] = t;
  return out;
}

/** The no-gradient feature pass of accumulation: normalized `img` and `txt` of one micro-batch. */
export function buildFeatureGraph(spec: TrainGraphSpec): Record<string, Tensor> {
  const P = params(trainingShapes(spec.config, spec.loss));
  const bn: BatchNormState = { training: spec.trainBatchNorm && isResNet(spec.config.vision_cfg), updates: new Map() };
  return features(spec, P, bn);
}
