/**
 * @file Load a CLIP checkpoint of any common layout into OpenAI/open_clip keys, and save the
 * native layout (open_clip's Hugging Face layout, DESIGN.md "Contracts"). Node only (file access).
 *
 * Layouts read:
 * - open_clip: open_clip_config.json + open_clip_model.safetensors (or open_clip_pytorch_model.bin)
 * - Hugging Face transformers CLIPModel: config.json + model.safetensors (or pytorch_model.bin)
 * - a bare state dict file (.pt / .bin / .pth / .safetensors, OpenAI or open_clip keys): config
 *   inferred from the shapes as openai/CLIP's build_model does
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";
import {
  type ClipConfig,
  type PreprocessCfg,
  type StateDict,
  checkState,
  defaultPreprocess,
  inferConfig,
  openClipConfigJson,
  parseOpenClipConfig,
} from "../models/clip/config.js";
import { toFloat32 } from "./dtype.js";
import { readTensorsFile, writeFileAtomic, writeSafetensorsFile } from "./files.js";
import { hfConfigJson, hfPreprocessorJson, hfToOpenClip, inferHfConfig, isHfState, openClipToHf, preprocessFromHf } from "./hf.js";
import type { TensorToWrite } from "./safetensors.js";

export type CheckpointSource = "open_clip" | "hf" | "torch";

/** Tokenizer files found next to the weights. */
export interface TokenizerFiles {
  /** OpenAI's merges file, bpe_simple_vocab_16e6.txt.gz. */
  bpe?: string;
  /** Hugging Face vocab.json + merges.txt. */
  vocabJson?: string;
  merges?: string;
}

/** A checkpoint read into memory: config, preprocessing, weights (open_clip key names) and where it came from. */
export interface LoadedCheckpoint {
  config: ClipConfig;
  preprocess: PreprocessCfg;
  /** Float32 tensors by OpenAI/open_clip key. */
  state: StateDict;
  source: CheckpointSource;
  /** The checkpoint's directory (the file's directory when a file was given). */
  dir: string;
  /** The weights file that was read. */
  weightsFile: string;
  /** True when the config was inferred from tensor shapes (no config file). */
  inferred: boolean;
  tokenizer: TokenizerFiles;
}

export interface LoadOptions {
  /** For configs inferred from shapes: QuickGELU (default true, as OpenAI's weights need). */
  quickGelu?: boolean;
}

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

/** Non-weight entries of OpenAI / TorchScript state dicts (build_model deletes the first three). */
const OPENAI_EXTRAS = /^(input_resolution|context_length|vocab_size)$|(^|\.)attn_mask$/;

const exists = (p: string): boolean => fs.existsSync(p);

function readJson(file: string): unknown {
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

function findTokenizer(dir: string): TokenizerFiles {
  const t: TokenizerFiles = {};
  const at = (f: string): string | undefined => (exists(path.join(dir, f)) ? path.join(dir, f) : undefined);
  t.bpe = at(BPE_VOCAB);
  t.vocabJson = at("vocab.json");
  t.merges = at("merges.txt");
  for (const k of Object.keys(t) as (keyof TokenizerFiles)[]) if (t[k] === undefined) delete t[k];
  return t;
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

/**
 * Reads a weights file (safetensors or PyTorch zip, by content) as float32 tensors; an
 * *.index.json reads all its shards.
 */
export function readStateFile(file: string): { state: StateDict; format: "safetensors" | "torch" } {
  if (file.endsWith(".index.json")) {
    const state: StateDict = new Map();
    let format: "safetensors" | "torch" = "safetensors";
    for (const shard of shardFiles(file)) {
      const r = readStateFile(path.join(path.dirname(file), shard));
      format = r.format;
      for (const [k, t] of r.state) state.set(k, t);
    }
    return { state, format };
  }
  const { tensors, format } = readTensorsFile(file);
  const state: StateDict = new Map();
  for (const [k, t] of tensors) state.set(k, { shape: t.shape, data: toFloat32(t) });
  return { state, format };
}

const WEIGHT_EXT = /\.(safetensors|bin|pt|pth|ckpt)$/;

/** Picks the layout and files of a checkpoint directory or file. */
function locate(p: string): { dir: string; weights: string; ocConfig?: string; hfConfig?: string } {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(p);
  } catch {
    throw new UserError(`checkpoint ${p} does not exist`);
  }
  if (stat.isFile()) {
    const dir = path.dirname(p);
    const oc = path.join(dir, OPEN_CLIP_CONFIG);
    const hf = path.join(dir, HF_CONFIG);
    return { dir, weights: p, ocConfig: exists(oc) ? oc : undefined, hfConfig: exists(hf) ? hf : undefined };
  }
  const at = (f: string): string | undefined => (exists(path.join(p, f)) ? path.join(p, f) : undefined);
  const oc = at(OPEN_CLIP_CONFIG);
  const hf = at(HF_CONFIG);
  const ocWeights = at(OPEN_CLIP_SAFETENSORS) ?? at(OPEN_CLIP_BIN);
  const hfWeights = at(HF_SAFETENSORS) ?? at(HF_SAFETENSORS_INDEX) ?? at(HF_BIN) ?? at(HF_BIN_INDEX);
  if (oc) {
    if (!ocWeights) throw new UserError(`${p} has ${OPEN_CLIP_CONFIG} but neither ${OPEN_CLIP_SAFETENSORS} nor ${OPEN_CLIP_BIN}`);
    return { dir: p, weights: ocWeights, ocConfig: oc };
  }
  if (hf && hfWeights) return { dir: p, weights: hfWeights, hfConfig: hf };
  if (ocWeights) return { dir: p, weights: ocWeights };
  if (hfWeights) return { dir: p, weights: hfWeights };
  const candidates = fs.readdirSync(p).filter((f) => WEIGHT_EXT.test(f));
  if (candidates.length === 1) return { dir: p, weights: path.join(p, candidates[0]) };
  throw new UserError(
    `${p} is not a CLIP checkpoint directory: expected ${OPEN_CLIP_CONFIG} + ${OPEN_CLIP_SAFETENSORS} (open_clip), ` +
      `${HF_CONFIG} + ${HF_SAFETENSORS} (Hugging Face), or a single weights file` +
      (candidates.length > 1 ? ` (found several: ${candidates.join(", ")}; pass one of them)` : ""),
  );
}

/**
 * Loads a checkpoint directory or weights file into float32 tensors with OpenAI/open_clip keys.
 * Validates every key and shape against the config; a mismatch throws a UserError listing them.
 */
export function loadCheckpoint(p: string, opts: LoadOptions = {}): LoadedCheckpoint {
  const loc = locate(p);
  const { state: raw, format } = readStateFile(loc.weights);
  const tokenizer = findTokenizer(loc.dir);

  if (isHfState(raw.keys())) {
    const configJson = loc.hfConfig ? readJson(loc.hfConfig) : {};
    const config = inferHfConfig(raw, configJson, loc.hfConfig ?? loc.weights);
    const state = hfToOpenClip(config, raw, loc.weights);
    checkState(config, state, loc.weights);
    const pre = path.join(loc.dir, HF_PREPROCESSOR);
    const preprocess = exists(pre) ? preprocessFromHf(readJson(pre), config.vision_cfg.image_size) : defaultPreprocess(config.vision_cfg.image_size);
    return { config, preprocess, state, source: "hf", dir: loc.dir, weightsFile: loc.weights, inferred: !loc.hfConfig, tokenizer };
  }

  const state: StateDict = new Map();
  for (const [k, t] of raw) if (!OPENAI_EXTRAS.test(k)) state.set(k, t);
  let config: ClipConfig;
  let preprocess: PreprocessCfg;
  let source: CheckpointSource;
  if (loc.ocConfig) {
    ({ config, preprocess } = parseOpenClipConfig(readJson(loc.ocConfig), loc.ocConfig));
    source = "open_clip";
    checkState(config, state, `${loc.weights} (config from ${loc.ocConfig})`);
  } else {
    config = inferConfig(state, { quickGelu: opts.quickGelu }, loc.weights);
    preprocess = defaultPreprocess(config.vision_cfg.image_size);
    source = format === "torch" ? "torch" : "open_clip";
    checkState(config, state, loc.weights);
  }
  return { config, preprocess, state, source, dir: loc.dir, weightsFile: loc.weights, inferred: !loc.ocConfig, tokenizer };
}

/** Options of `saveCheckpoint` / `saveHfCheckpoint`: preprocessing and tokenizer files to write beside the weights. */
export interface SaveOptions {
  preprocess?: PreprocessCfg;
  /** Tokenizer files to copy into the directory (e.g. bpe_simple_vocab_16e6.txt.gz). */
  tokenizerFiles?: string[];
  /** Storage type of the floating-point weights (default F32). */
  dtype?: "F32" | "F16" | "BF16";
}

/** Safetensors entries of a state dict: floats in `dtype`, BatchNorm counters as int64 as PyTorch keeps them. */
function toWrite(state: StateDict, dtype: "F32" | "F16" | "BF16"): Map<string, TensorToWrite> {
  const out = new Map<string, TensorToWrite>();
  for (const [k, t] of state) out.set(k, { dtype: k.endsWith("num_batches_tracked") ? "I64" : dtype, shape: t.shape, data: t.data });
  return out;
}

function copyTokenizer(dir: string, files: string[] | undefined): void {
  for (const f of files ?? []) {
    const dest = path.join(dir, path.basename(f));
    if (path.resolve(f) === path.resolve(dest)) continue;
    try {
      fs.copyFileSync(f, dest);
    } catch (e) {
      throw new UserError(`cannot copy tokenizer file ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
}

/**
 * Writes the native checkpoint layout: open_clip_config.json + open_clip_model.safetensors
 * (+ tokenizer files). Loads in open_clip unchanged. Deterministic bytes; files replaced atomically.
 */
export function saveCheckpoint(dir: string, config: ClipConfig, state: StateDict, opts: SaveOptions = {}): void {
  checkState(config, state, "state to save");
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensorsFile(path.join(dir, OPEN_CLIP_SAFETENSORS), toWrite(state, opts.dtype ?? "F32"), { format: "pt" });
  const json = JSON.stringify(openClipConfigJson(config, opts.preprocess), null, 2) + "\n";
  writeFileAtomic(path.join(dir, OPEN_CLIP_CONFIG), [new TextEncoder().encode(json)]);
  copyTokenizer(dir, opts.tokenizerFiles);
}

/**
 * Writes a Hugging Face transformers CLIPModel checkpoint (config.json, model.safetensors,
 * preprocessor_config.json): q/k/v split, projections transposed. ViT configs only.
 */
export function saveHfCheckpoint(dir: string, config: ClipConfig, state: StateDict, opts: SaveOptions = {}): void {
  const hf = openClipToHf(config, state);
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensorsFile(path.join(dir, HF_SAFETENSORS), toWrite(hf, opts.dtype ?? "F32"), { format: "pt" });
  const logitScale = state.get("logit_scale")?.data[0];
  const enc = new TextEncoder();
  writeFileAtomic(path.join(dir, HF_CONFIG), [enc.encode(JSON.stringify(hfConfigJson(config, logitScale), null, 2) + "\n")]);
  const pre = opts.preprocess ?? defaultPreprocess(config.vision_cfg.image_size);
  writeFileAtomic(path.join(dir, HF_PREPROCESSOR), [enc.encode(JSON.stringify(hfPreprocessorJson(pre), null, 2) + "\n")]);
  copyTokenizer(dir, opts.tokenizerFiles);
}
