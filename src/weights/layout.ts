/**
 * @file The file names of the checkpoint layouts (open_clip, transformers CLIPModel, sharded) and
 * the shard list of a sharded index: all the hub client needs to know of checkpoints, without the
 * tensor readers. Node only (reads the index file).
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";

export const OPEN_CLIP_CONFIG = "open_clip_config.json";
export const OPEN_CLIP_SAFETENSORS = "open_clip_model.safetensors";
export const OPEN_CLIP_BIN = "open_clip_pytorch_model.bin";
export const HF_CONFIG = "config.json";
export const HF_SAFETENSORS = "model.safetensors";
export const HF_BIN = "pytorch_model.bin";
/** Sharded Hugging Face weights: {"weight_map": {key: shard file}}. */
export const HF_SAFETENSORS_INDEX = "model.safetensors.index.json";
export const HF_BIN_INDEX = "pytorch_model.bin.index.json";
export const HF_PREPROCESSOR = "preprocessor_config.json";
export const BPE_VOCAB = "bpe_simple_vocab_16e6.txt.gz";

/** A JSON file's value; a UserError naming the file when it cannot be read or parsed. */
export function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The shard files of a sharded checkpoint's index (*.index.json), in sorted order. */
export function shardFiles(indexFile: string): string[] {
  const idx = readJson(indexFile) as { weight_map?: Record<string, string> };
  if (typeof idx !== "object" || idx === null || typeof idx.weight_map !== "object" || idx.weight_map === null) {
    throw new UserError(`${indexFile} has no "weight_map"`);
  }
  const files = [...new Set(Object.values(idx.weight_map))].sort();
  for (const f of files) {
    if (typeof f !== "string" || !/^[\w.-]+$/.test(f) || f.startsWith(".")) throw new UserError(`${indexFile}: invalid shard file name ${JSON.stringify(f)}`);
  }
  return files;
}

/** A file as it was when read: size and mtime let a later reader tell whether it changed. */
export interface FileStamp {
  path: string;
  size: number;
  mtimeMs: number;
}

/** The files holding a checkpoint's weights: the file itself, or a sharded index and its shards. */
export function weightFiles(weightsFile: string): string[] {
  if (!weightsFile.endsWith(".index.json")) return [weightsFile];
  const dir = path.dirname(weightsFile);
  return [weightsFile, ...shardFiles(weightsFile).map((f) => path.join(dir, f))];
}

/** Stamps (absolute path, size, mtime) of a checkpoint's weight files, in `weightFiles` order. */
export function fileStamps(weightsFile: string): FileStamp[] {
  return weightFiles(weightsFile).map((f) => {
    let st: fs.Stats;
    try {
      st = fs.statSync(f);
    } catch (e) {
      throw new UserError(`cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return { path: path.resolve(f), size: st.size, mtimeMs: st.mtimeMs };
  });
}
