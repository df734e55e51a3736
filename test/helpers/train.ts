/** @file Tiny models for short end-to-end training runs: a config file, a short run, the weights a run saved. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { readSafetensorsFile } from "../../src/weights/files.js";
import { train, type RunResult, type TrainArgs } from "../../src/train/index.js";

/** A 32 px ViT (or, with `resnet`, a ModifiedResNet) and a 1-layer text tower, written to DIR/config.json; returns its path. */
export function writeTinyConfig(dir: string, resnet = false): string {
  const file = path.join(dir, "config.json");
  const vision_cfg = resnet ? { image_size: 32, layers: [1, 1, 1, 1], width: 8, head_width: 16 } : { image_size: 32, layers: 1, width: 32, patch_size: 8, head_width: 16 };
  const text_cfg = { context_length: 24, vocab_size: 600, width: 32, heads: 2, layers: 1 };
  fs.writeFileSync(file, JSON.stringify({ model_cfg: { embed_dim: 16, vision_cfg, text_cfg } }));
  return file;
}

/** The float tensors of a checkpoint directory's open_clip_model.safetensors, by key. */
export function savedWeights(ckptDir: string): Map<string, Float32Array> {
  return new Map([...readSafetensorsFile(path.join(ckptDir, "open_clip_model.safetensors")).tensors].map(([key, t]) => [key, t.data as Float32Array]));
}

/** A short run of the tiny model in `config` into `save`: 64 synthetic scenes at 32 px, 3 steps of 8, seed 4, one thread; `args` on top. */
export function shortRun(config: string, save: string, args: Partial<TrainArgs> = {}): Promise<RunResult> {
  return train({ data: "synth:?n=64&seed=0&size=32", config, vocabSize: 600, batchSize: 8, steps: 3, warmup: 1, seed: 4, threads: 1, save, ...args });
}

/** Runs `a` and `b` (the same arguments) ended with the same loss and saved the same weights; every run of `others` with another loss and other weights. */
export function assertRepeatsAndDiffers(a: RunResult, b: RunResult, ...others: RunResult[]): void {
  assert.equal(a.steps, b.steps);
  assert.equal(a.finalLoss, b.finalLoss);
  assert.deepEqual(savedWeights(a.checkpoint), savedWeights(b.checkpoint));
  for (const o of others) {
    assert.notEqual(a.finalLoss, o.finalLoss);
    assert.notDeepEqual(savedWeights(a.checkpoint), savedWeights(o.checkpoint));
  }
}
