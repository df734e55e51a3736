/** @file The defaults of a training run: open_clip's conventions (AdamW 5e-4, betas 0.9/0.98, eps 1e-6, wd 0.2, cosine). */
import type { LossKind } from "./losses.js";
import { CLIP_ADAMW } from "./optimizer.js";
import type { ScheduleKind } from "./schedule.js";

/** Defaults of every optional training argument. */
export const DEFAULT_ARGS = {
  accumFreq: 1,
  captionsPerImage: 1,
  labelSmoothing: 0,
  lr: CLIP_ADAMW.lr,
  wd: CLIP_ADAMW.weightDecay,
  beta1: CLIP_ADAMW.beta1,
  beta2: CLIP_ADAMW.beta2,
  eps: CLIP_ADAMW.eps,
  warmup: 10000,
  schedule: "cosine" as ScheduleKind,
  loss: "clip" as LossKind,
  augment: true,
  shuffle: true,
  seed: 0,
  lockImage: false,
  lockText: false,
  lock: [] as string[],
  unlock: [] as string[],
};
