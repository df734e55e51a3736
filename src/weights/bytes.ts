/** @file A native (open_clip layout) checkpoint from the bytes of its two files, without file access (browsers). */
import { type ClipConfig, checkState, parseOpenClipConfig, type PreprocessCfg, type StateDict } from "../models/clip/config.js";
import { toFloat32 } from "./dtype.js";
import { readSafetensors } from "./safetensors.js";

/** Keys OpenAI checkpoints carry that are not parameters. */
const OPENAI_EXTRAS = /^(input_resolution|context_length|vocab_size)$|(^|\.)attn_mask$/;

/** A checkpoint held in memory: config, preprocessing and float32 state. */
export interface CheckpointFromBytes {
  config: ClipConfig;
  preprocess: PreprocessCfg;
  state: StateDict;
}

/**
 * Parses open_clip_config.json's text and open_clip_model.safetensors' bytes, checking every key
 * and shape against the config as `loadCheckpoint` does.
 */
export function checkpointFromBytes(configJson: string, safetensors: Uint8Array, where = "checkpoint"): CheckpointFromBytes {
  const { config, preprocess } = parseOpenClipConfig(JSON.parse(configJson), `${where}/open_clip_config.json`);
  const state: StateDict = new Map();
  for (const [k, t] of readSafetensors(safetensors).tensors) if (!OPENAI_EXTRAS.test(k)) state.set(k, { shape: t.shape, data: toFloat32(t) });
  checkState(config, state, `${where}/open_clip_model.safetensors`);
  return { config, preprocess, state };
}
