/** @file Tiny models for short end-to-end training runs: a config file and the weights a run saved. */
import fs from "node:fs";
import path from "node:path";
import { readSafetensorsFile } from "../../src/weights/files.js";

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
