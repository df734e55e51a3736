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
import { nodeCrypto, nodeZlib } from "../util/builtins.node.js";
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
import {
  BPE_VOCAB,
  HF_BIN,
  HF_BIN_INDEX,
  HF_CONFIG,
  HF_PREPROCESSOR,
  HF_SAFETENSORS,
  HF_SAFETENSORS_INDEX,
  OPEN_CLIP_BIN,
  OPEN_CLIP_CONFIG,
  OPEN_CLIP_SAFETENSORS,
  type FileStamp,
  fileStamps,
  readJson,
  shardFiles,
} from "./layout.js";
import { hfTokenizerFiles, parseReferenceMerges } from "../tokenizer/vocab.js";
import type { Vocabulary } from "../tokenizer/bpe.js";
import { toFloat32 } from "./dtype.js";
import { readSafetensorsHeaderFile, readTensorsFile, writeFileAtomic, writeSafetensorsFile } from "./files.js";
import { hfConfigJson, hfPreprocessorJson, hfToOpenClip, inferHfConfig, isHfState, openClipToHf, preprocessFromHf } from "./hf.js";
import type { TensorToWrite } from "./safetensors.js";
import type { Int8Tensor } from "../models/clip/int8.js";
import { INT8_CONFIG_KEY, int8Entries, int8Marker, readInt8State } from "./int8.js";

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
  /** Float32 tensors by OpenAI/open_clip key (an int8 checkpoint's quantized weights dequantized). */
  state: StateDict;
  /** An int8 checkpoint's quantized weights as stored (clip-ts's extension, weights/int8.ts); empty otherwise. */
  int8: Map<string, Int8Tensor>;
  source: CheckpointSource;
  /** The checkpoint's directory (the file's directory when a file was given). */
  dir: string;
  /** The weights file that was read. */
  weightsFile: string;
  /** True when the config was inferred from tensor shapes (no config file). */
  inferred: boolean;
  tokenizer: TokenizerFiles;
  /** True when `LoadOptions.only` left tensors unread: `readCheckpointTensors` reads them. */
  partial: boolean;
  /** The weight files as they were read (`readCheckpointTensors` refuses files changed since). */
  stamps: FileStamp[];
}

export interface LoadOptions {
  /** For configs inferred from shapes: QuickGELU (default true, as OpenAI's weights need). */
  quickGelu?: boolean;
  /**
   * Read the data of only the tensors whose key passes (e.g. one tower's); every key's shape is
   * still checked against the config, from the file's header. Honoured for safetensors weights
   * (one file or shards) with OpenAI/open_clip keys; other layouts are read whole
   * (`LoadedCheckpoint.partial` says which happened).
   */
  only?: (key: string) => boolean;
}

export {
  type FileStamp,
  fileStamps,
  weightFiles,
  BPE_VOCAB,
  HF_BIN,
  HF_BIN_INDEX,
  HF_CONFIG,
  HF_PREPROCESSOR,
  HF_SAFETENSORS,
  HF_SAFETENSORS_INDEX,
  OPEN_CLIP_BIN,
  OPEN_CLIP_CONFIG,
  OPEN_CLIP_SAFETENSORS,
  shardFiles,
} from "./layout.js";

/** Non-weight entries of OpenAI / TorchScript state dicts (build_model deletes the first three). */
const OPENAI_EXTRAS = /^(input_resolution|context_length|vocab_size)$|(^|\.)attn_mask$/;

const exists = (p: string): boolean => fs.existsSync(p);


function findTokenizer(dir: string): TokenizerFiles {
  const t: TokenizerFiles = {};
  const at = (f: string): string | undefined => (exists(path.join(dir, f)) ? path.join(dir, f) : undefined);
  t.bpe = at(BPE_VOCAB);
  t.vocabJson = at("vocab.json");
  t.merges = at("merges.txt");
  for (const k of Object.keys(t) as (keyof TokenizerFiles)[]) if (t[k] === undefined) delete t[k];
  return t;
}


/**
 * Reads a weights file (safetensors or PyTorch zip, by content) as float32 tensors; an
 * *.index.json reads all its shards. `filter` keeps the keys that pass (safetensors: only their bytes are read).
 */
export function readStateFile(file: string, filter?: (key: string) => boolean): { state: StateDict; format: "safetensors" | "torch" } {
  if (file.endsWith(".index.json")) {
    const state: StateDict = new Map();
    let format: "safetensors" | "torch" = "safetensors";
    for (const shard of shardFiles(file)) {
      const r = readStateFile(path.join(path.dirname(file), shard), filter);
      format = r.format;
      for (const [k, t] of r.state) state.set(k, t);
    }
    return { state, format };
  }
  const { tensors, format } = readTensorsFile(file, { filter });
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
  const tokenizer = findTokenizer(loc.dir);
  const stamps = fileStamps(loc.weights);
  const doc = loc.ocConfig ? readJson(loc.ocConfig) : undefined;
  const marker = typeof doc === "object" && doc !== null ? (doc as Record<string, unknown>)[INT8_CONFIG_KEY] : undefined;
  if (marker !== undefined) {
    // clip-ts's int8 layout (weights/int8.ts): open_clip keys, int8 weights kept as stored
    const { config, preprocess } = parseOpenClipConfig(doc, loc.ocConfig);
    const { state, int8 } = readInt8State(loc.weights, marker, loc.ocConfig!);
    checkState(config, state, `${loc.weights} (config from ${loc.ocConfig})`);
    return { config, preprocess, state, int8, source: "open_clip", dir: loc.dir, weightsFile: loc.weights, inferred: false, tokenizer, partial: false, stamps };
  }
  const part = opts.only ? loadPart(loc, doc, opts.only, opts) : undefined;
  if (part) return { ...part, tokenizer, stamps };
  const { state: raw, format } = readStateFile(loc.weights);

  if (isHfState(raw.keys())) {
    const configJson = loc.hfConfig ? readJson(loc.hfConfig) : {};
    const config = inferHfConfig(raw, configJson, loc.hfConfig ?? loc.weights);
    const state = hfToOpenClip(config, raw, loc.weights);
    checkState(config, state, loc.weights);
    const pre = path.join(loc.dir, HF_PREPROCESSOR);
    const preprocess = exists(pre) ? preprocessFromHf(readJson(pre), config.vision_cfg.image_size) : defaultPreprocess(config.vision_cfg.image_size);
    return { config, preprocess, state, int8: new Map(), source: "hf", dir: loc.dir, weightsFile: loc.weights, inferred: !loc.hfConfig, tokenizer, partial: false, stamps };
  }

  const state: StateDict = new Map();
  for (const [k, t] of raw) if (!OPENAI_EXTRAS.test(k)) state.set(k, t);
  let config: ClipConfig;
  let preprocess: PreprocessCfg;
  let source: CheckpointSource;
  if (loc.ocConfig) {
    ({ config, preprocess } = parseOpenClipConfig(doc, loc.ocConfig));
    source = "open_clip";
    checkState(config, state, `${loc.weights} (config from ${loc.ocConfig})`);
  } else {
    config = inferConfig(state, { quickGelu: opts.quickGelu }, loc.weights);
    preprocess = defaultPreprocess(config.vision_cfg.image_size);
    source = format === "torch" ? "torch" : "open_clip";
    checkState(config, state, loc.weights);
  }
  return { config, preprocess, state, int8: new Map(), source, dir: loc.dir, weightsFile: loc.weights, inferred: !loc.ocConfig, tokenizer, partial: false, stamps };
}

/** Every tensor's shape of safetensors weights (all shards of an *.index.json), from the headers alone; undefined for PyTorch files. */
function safetensorsShapes(weights: string): Map<string, { shape: number[] }> | undefined {
  const files = weights.endsWith(".index.json") ? shardFiles(weights).map((f) => path.join(path.dirname(weights), f)) : [weights];
  const shapes = new Map<string, { shape: number[] }>();
  for (const f of files) {
    const h = readSafetensorsHeaderFile(f);
    if (!h) return undefined;
    for (const [k, e] of h.entries) if (!OPENAI_EXTRAS.test(k)) shapes.set(k, { shape: e.shape });
  }
  return shapes;
}

/**
 * loadCheckpoint reading only the tensors `only` passes, for safetensors weights in
 * OpenAI/open_clip keys (the config is checked against every key's shape from the headers);
 * undefined for the layouts read whole.
 */
function loadPart(loc: ReturnType<typeof locate>, doc: unknown, only: (key: string) => boolean, opts: LoadOptions): Omit<LoadedCheckpoint, "tokenizer" | "stamps"> | undefined {
  const shapes = safetensorsShapes(loc.weights);
  if (!shapes || isHfState(shapes.keys())) return undefined;
  let config: ClipConfig;
  let preprocess: PreprocessCfg;
  if (loc.ocConfig) {
    ({ config, preprocess } = parseOpenClipConfig(doc, loc.ocConfig));
    checkState(config, shapes, `${loc.weights} (config from ${loc.ocConfig})`);
  } else {
    config = inferConfig(shapes, { quickGelu: opts.quickGelu }, loc.weights);
    preprocess = defaultPreprocess(config.vision_cfg.image_size);
    checkState(config, shapes, loc.weights);
  }
  const { state } = readStateFile(loc.weights, (k) => only(k) && !OPENAI_EXTRAS.test(k));
  return { config, preprocess, state, int8: new Map(), source: "open_clip", dir: loc.dir, weightsFile: loc.weights, inferred: !loc.ocConfig, partial: true };
}

/**
 * Reads more tensors of a checkpoint that `loadCheckpoint` read in part (`only`): float32, by
 * OpenAI/open_clip key. Throws a UserError when the weight files changed since they were loaded.
 */
export function readCheckpointTensors(ck: Pick<LoadedCheckpoint, "weightsFile" | "stamps">, only: (key: string) => boolean): StateDict {
  const now = fileStamps(ck.weightsFile);
  const changed = now.find((f, i) => f.path !== ck.stamps[i]?.path || f.size !== ck.stamps[i]?.size || f.mtimeMs !== ck.stamps[i]?.mtimeMs);
  if (changed || now.length !== ck.stamps.length) {
    const was = ck.stamps.find((f) => f.path === changed?.path);
    throw new UserError(
      `${changed?.path ?? ck.weightsFile} changed since the model was loaded (${was ? `${was.size} bytes, mtime ${new Date(was.mtimeMs).toISOString()}` : "other files"}; ` +
        `now ${changed ? `${changed.size} bytes, mtime ${new Date(changed.mtimeMs).toISOString()}` : `${now.length} files`}): load the model again`,
    );
  }
  return readStateFile(ck.weightsFile, (k) => only(k) && !OPENAI_EXTRAS.test(k)).state;
}

/** Options of `saveCheckpoint` / `saveHfCheckpoint`: preprocessing and tokenizer files to write beside the weights. */
export interface SaveOptions {
  preprocess?: PreprocessCfg;
  /** Tokenizer files to copy into the directory (e.g. bpe_simple_vocab_16e6.txt.gz). */
  tokenizerFiles?: string[];
  /** Storage type of the floating-point weights (default F32). */
  dtype?: "F32" | "F16" | "BF16";
  /**
   * Quantized weights to store as int8 instead of their float entries: clip-ts's int8 layout
   * (weights/int8.ts), marked in the config and not loadable by open_clip.
   */
  int8?: ReadonlyMap<string, Int8Tensor>;
  /**
   * text_cfg.hf_tokenizer_name for a vocabulary that is not OpenAI's: the hub repository the
   * checkpoint will be uploaded to. Default: the directory's absolute path (open_clip's
   * `local-dir:` and transformers' AutoTokenizer find the files there from any working directory).
   */
  hfTokenizerName?: string;
}

/** sha256 of OpenAI's 48,894 merges, one "A B\n" line each: the vocabulary open_clip bundles. */
const OPENAI_MERGES_SHA256 = "d308b7377a8ceaa9707a21614fe8c831b9196e197b7aeb69833359362907af02";

/** True for OpenAI's CLIP vocabulary (which open_clip's SimpleTokenizer already is, so no hf_tokenizer_name is needed). */
export function isOpenAiVocabulary(v: Vocabulary): boolean {
  if (v.tokens.length !== 49408 || v.merges.length !== 48894) return false;
  const h = nodeCrypto().createHash("sha256");
  for (const [a, b] of v.merges) h.update(`${a} ${b}\n`);
  return h.digest("hex") === OPENAI_MERGES_SHA256;
}

/** Reads a reference BPE merges file (gzipped or not) with the model's vocabulary size. */
function readReferenceBpe(file: string, vocabSize: number): Vocabulary {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    throw new UserError(`cannot read tokenizer file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const text = (data[0] === 0x1f && data[1] === 0x8b ? nodeZlib().gunzipSync(data) : data).toString("utf8");
  return parseReferenceMerges(text, { vocabSize, source: file });
}

/**
 * Writes what open_clip's HFTokenizer and transformers discover next to a reference BPE file:
 * vocab.json + merges.txt + tokenizer_config.json + special_tokens_map.json (the same ids as the
 * BPE file). Returns the hf_tokenizer_name the config should carry (none for OpenAI's vocabulary,
 * which open_clip's default tokenizer is).
 */
function writeHfTokenizer(dir: string, config: ClipConfig, bpeFile: string, opts: SaveOptions): string | undefined {
  const vocab = readReferenceBpe(bpeFile, config.text_cfg.vocab_size);
  const enc = new TextEncoder();
  for (const [name, text] of Object.entries(hfTokenizerFiles(vocab, config.text_cfg.context_length))) writeFileAtomic(path.join(dir, name), [enc.encode(text)]);
  return isOpenAiVocabulary(vocab) ? undefined : (opts.hfTokenizerName ?? path.resolve(dir));
}

/** The reference BPE file among tokenizer files to copy (not HF's merges.txt). */
const referenceBpe = (files: string[] | undefined): string | undefined => files?.find((f) => /\.txt(\.gz)?$/.test(f) && path.basename(f) !== "merges.txt");

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
 * (+ tokenizer files: the BPE file for openai/CLIP's tokenizer, and vocab.json + merges.txt +
 * tokenizer configs for open_clip's HFTokenizer and transformers, named by
 * text_cfg.hf_tokenizer_name when the vocabulary is not OpenAI's). Loads in open_clip unchanged.
 * Deterministic bytes; files replaced atomically.
 */
export function saveCheckpoint(dir: string, config: ClipConfig, state: StateDict, opts: SaveOptions = {}): void {
  checkState(config, state, "state to save");
  fs.mkdirSync(dir, { recursive: true });
  const q = opts.int8 && opts.int8.size ? opts.int8 : undefined;
  writeSafetensorsFile(path.join(dir, OPEN_CLIP_SAFETENSORS), q ? int8Entries(state, q, opts.dtype ?? "F32") : toWrite(state, opts.dtype ?? "F32"), { format: "pt" });
  copyTokenizer(dir, opts.tokenizerFiles);
  const bpe = referenceBpe(opts.tokenizerFiles);
  const tokenizerName = bpe ? writeHfTokenizer(dir, config, bpe, opts) : undefined;
  const doc = openClipConfigJson(config, opts.preprocess) as { model_cfg: { text_cfg: Record<string, unknown> } };
  if (tokenizerName) doc.model_cfg.text_cfg.hf_tokenizer_name = tokenizerName;
  if (q) (doc as Record<string, unknown>)[INT8_CONFIG_KEY] = int8Marker([...state.keys()].filter((k) => q.has(k)));
  writeFileAtomic(path.join(dir, OPEN_CLIP_CONFIG), [new TextEncoder().encode(JSON.stringify(doc, null, 2) + "\n")]);
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
  const bpe = referenceBpe(opts.tokenizerFiles);
  if (bpe) writeHfTokenizer(dir, config, bpe, opts);
}
