/**
 * @file A fixed training run over given batches (browser-safe): the same Trainer (our autodiff's
 * step graph, AdamW, clamping) on whichever ONNX Runtime adapter is passed, so the page's run and
 * Node's can be compared step for step.
 */
import type { ClipConfig, StateDict } from "../../models/clip/config.js";
import type { Backend } from "../../runtime/core.js";
import { CLIP_ADAMW } from "../../train/optimizer.js";
import { Trainer } from "../../train/trainer.js";

/** What `trainRun` trains on and how. */
export interface TrainRunSpec {
  config: ClipConfig;
  /** Trained in place. */
  state: StateDict;
  /** Pixels [steps * batch, 3, S, S] and tokens [steps * batch, ctx]: step s takes rows [s * batch, (s + 1) * batch). */
  pixels: Float32Array;
  tokens: BigInt64Array;
  batch: number;
  steps: number;
  lr: number;
  weightDecay?: number;
  backend?: Backend;
  threads?: number;
}

/** Runs `steps` AdamW steps (constant learning rate, every parameter trained); returns each step's loss. */
export async function trainRun(spec: TrainRunSpec): Promise<number[]> {
  const { config, state, batch, steps } = spec;
  const S = config.vision_cfg.image_size;
  const L = config.text_cfg.context_length;
  const per = 3 * S * S;
  const trainer = await Trainer.create(config, state, {
    loss: "clip",
    micro: batch,
    accumFreq: 1,
    adamw: { ...CLIP_ADAMW, lr: spec.lr, weightDecay: spec.weightDecay ?? 0.2 },
    warmup: 0,
    schedule: "const",
    steps,
    trainable: new Set([...state.keys()]),
    backend: spec.backend,
    threads: spec.threads,
  });
  const losses: number[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const px = spec.pixels.slice(s * batch * per, (s + 1) * batch * per);
      const tk = spec.tokens.slice(s * batch * L, (s + 1) * batch * L);
      losses.push((await trainer.trainStep(px, tk)).loss);
    }
  } finally {
    await trainer.close();
  }
  return losses;
}
