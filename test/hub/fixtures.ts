/** @file Hub repositories made from the reference fixture checkpoint, in both layouts, for the hub tests. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadCheckpoint, saveHfCheckpoint } from "../../src/weights/checkpoint.js";
import { writeSafetensorsFile } from "../../src/weights/files.js";
import type { StateDict } from "../../src/models/clip/config.js";
import { openClipToHf } from "../../src/weights/hf.js";
import { REFERENCE } from "../helpers/shared.js";

export const VIT = path.join(REFERENCE, "vit-tiny");

const read = (dir: string, names: string[]): Record<string, Uint8Array> => Object.fromEntries(names.map((n) => [n, fs.readFileSync(path.join(dir, n))]));

/** The fixture's open_clip layout: config, weights, OpenAI's BPE file. */
export function openClipFiles(): Record<string, Uint8Array> {
  return read(VIT, ["open_clip_config.json", "open_clip_model.safetensors", "bpe_simple_vocab_16e6.txt.gz"]);
}

/** The same checkpoint as transformers' CLIPModel writes it (config.json, model.safetensors, preprocessor_config.json) + the BPE file. */
export function hfFiles(): Record<string, Uint8Array> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-hub-hf-"));
  try {
    const ck = loadCheckpoint(VIT);
    saveHfCheckpoint(tmp, ck.config, ck.state, { preprocess: ck.preprocess, tokenizerFiles: [path.join(VIT, "bpe_simple_vocab_16e6.txt.gz")] });
    return read(tmp, ["config.json", "model.safetensors", "preprocessor_config.json", "bpe_simple_vocab_16e6.txt.gz"]);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** transformers' sharded form: model.safetensors.index.json + two shards (text and vision keys). */
export function shardedHfFiles(): Record<string, Uint8Array> {
  const files = hfFiles();
  delete files["model.safetensors"];
  const ck = loadCheckpoint(VIT);
  const hf = openClipToHf(ck.config, ck.state);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-hub-shard-"));
  try {
    const names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
    const parts: StateDict[] = [new Map(), new Map()];
    const weightMap: Record<string, string> = {};
    for (const [k, t] of hf) {
      const i = k.startsWith("vision_model.") ? 1 : 0;
      parts[i].set(k, t);
      weightMap[k] = names[i];
    }
    parts.forEach((p, i) => {
      const entries = new Map([...p].map(([k, t]) => [k, { dtype: "F32" as const, shape: t.shape, data: t.data }]));
      writeSafetensorsFile(path.join(tmp, names[i]), entries, { format: "pt" });
      files[names[i]] = fs.readFileSync(path.join(tmp, names[i]));
    });
    files["model.safetensors.index.json"] = Buffer.from(JSON.stringify({ metadata: {}, weight_map: weightMap }));
    return files;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A fresh temporary cache root. */
export function tempCache(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "clip-hub-cache-"));
}
