/**
 * @file CLIP model configuration as open_clip defines it (open_clip_config.json), parsing with
 * clear errors, inference from a state dict's shapes (as openai/CLIP build_model does), and the
 * list of every parameter key with its shape. No Node APIs.
 */
import { UserError, fmtShape } from "../../errors.js";

/** One parameter or buffer of a state dict, float32, row-major. */
export interface StateTensor {
  shape: number[];
  data: Float32Array;
}

/** A model's parameters by checkpoint key (visual.conv1.weight, token_embedding.weight, ...). */
export type StateDict = Map<string, StateTensor>;

/** The four stage depths of a ModifiedResNet. */
export type ResNetLayers = [number, number, number, number];

export interface VisionCfg {
  image_size: number;
  /** Number of transformer blocks (ViT), or the four stage depths (ModifiedResNet). */
  layers: number | ResNetLayers;
  width: number;
  /** ViT patch size; null for ModifiedResNet. */
  patch_size: number | null;
  /** Attention head width: heads = width / head_width (ViT), width * 32 / head_width (ResNet). Default 64. */
  head_width: number;
  /** MLP hidden width = width * mlp_ratio (ViT). Default 4. */
  mlp_ratio: number;
}

export interface TextCfg {
  context_length: number;
  vocab_size: number;
  width: number;
  heads: number;
  layers: number;
  /** Default 4. */
  mlp_ratio: number;
}

/** A CLIP architecture: open_clip's model_cfg (embed_dim, quick_gelu, vision_cfg, text_cfg). */
export interface ClipConfig {
  embed_dim: number;
  /** QuickGELU (x * sigmoid(1.702 x), OpenAI's models) instead of exact GELU. */
  quick_gelu: boolean;
  vision_cfg: VisionCfg;
  text_cfg: TextCfg;
  /** SigLIP models (open_clip's init_logit_bias): the model has a learned scalar `logit_bias`. */
  init_logit_bias?: number;
}

/** open_clip's preprocess_cfg: normalization and resizing of input images. */
export interface PreprocessCfg {
  mean: [number, number, number];
  std: [number, number, number];
  /** Resampling filter of the resize (default "bicubic"). */
  interpolation: "bicubic" | "bilinear" | "nearest" | "lanczos";
  /** "shortest": resize the short side then center crop (default); "longest": fit and pad; "squash": ignore aspect. */
  resize_mode: "shortest" | "longest" | "squash";
  /** Output side length (defaults to vision_cfg.image_size). */
  size: number;
  /** Pad value for resize_mode "longest" (default 0). */
  fill_color: number;
}

export const OPENAI_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

/** The preprocessing OpenAI's models were trained with, for a given image size. */
export function defaultPreprocess(imageSize: number): PreprocessCfg {
  return { mean: [...OPENAI_MEAN], std: [...OPENAI_STD], interpolation: "bicubic", resize_mode: "shortest", size: imageSize, fill_color: 0 };
}

export function isResNet(v: VisionCfg): v is VisionCfg & { layers: ResNetLayers } {
  return Array.isArray(v.layers);
}

/** Vision attention heads, as open_clip computes them: width // head_width (ViT), width * 32 // head_width (ResNet). */
export function visionHeads(v: VisionCfg): number {
  return Math.floor((isResNet(v) ? v.width * 32 : v.width) / v.head_width);
}

/** Width of the ResNet's final feature map (= attention pool embedding). */
export function resnetEmbedWidth(v: VisionCfg): number {
  return v.width * 32;
}

/** ViT patch grid side (image_size / patch_size); for ResNet the attention pool grid (image_size / 32). */
export function gridSize(v: VisionCfg): number {
  return isResNet(v) ? Math.floor(v.image_size / 32) : Math.floor(v.image_size / v.patch_size!);
}

// ---------------------------------------------------------------------------------------------
// parsing open_clip_config.json

type Json = Record<string, unknown>;

/** open_clip options that change the architecture, with the only value we support. */
const VISION_FIXED: Record<string, unknown> = {
  ls_init_value: null,
  attentional_pool: false,
  no_ln_pre: false,
  pos_embed_type: "learnable",
  final_ln_after_pool: false,
  pool_type: "tok",
  act_kwargs: null,
  norm_kwargs: null,
  timm_model_name: null,
};
const TEXT_FIXED: Record<string, unknown> = {
  ls_init_value: null,
  embed_cls: false,
  no_causal_mask: false,
  final_ln_after_pool: false,
  pool_type: "argmax",
  proj_bias: false,
  proj_type: "linear",
  act_kwargs: null,
  norm_kwargs: null,
  hf_model_name: null,
  hf_tokenizer_name: null,
};
const MODEL_FIXED: Record<string, unknown> = { custom_text: false, multimodal_cfg: null };

function obj(x: unknown, where: string): Json {
  if (typeof x !== "object" || x === null || Array.isArray(x)) throw new UserError(`${where} must be a JSON object, got ${JSON.stringify(x)}`);
  return x as Json;
}

function posInt(o: Json, key: string, where: string, dflt?: number): number {
  const v = o[key] ?? dflt;
  if (v === undefined) throw new UserError(`${where}.${key} is missing`);
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) throw new UserError(`${where}.${key} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function posNum(o: Json, key: string, where: string, dflt: number): number {
  const v = o[key] ?? dflt;
  if (typeof v !== "number" || !(v > 0)) throw new UserError(`${where}.${key} must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function checkFixed(o: Json, fixed: Record<string, unknown>, where: string): void {
  for (const [k, want] of Object.entries(fixed)) {
    const got = o[k];
    if (got === undefined || got === want || (want === null && got === null)) continue;
    // an empty kwargs dict is the default too
    if (want === null && typeof got === "object" && got !== null && Object.keys(got).length === 0) continue;
    throw new UserError(`${where}.${k} = ${JSON.stringify(got)} is not supported (only ${JSON.stringify(want)}): this is not a standard CLIP architecture`);
  }
}

/** Parses open_clip's model_cfg (the content of a model_configs/*.json file). */
export function parseModelCfg(json: unknown, where = "model_cfg"): ClipConfig {
  const m = obj(json, where);
  checkFixed(m, MODEL_FIXED, where);
  const v = obj(m.vision_cfg, `${where}.vision_cfg`);
  const t = obj(m.text_cfg, `${where}.text_cfg`);
  const vw = `${where}.vision_cfg`;
  const tw = `${where}.text_cfg`;
  checkFixed(v, VISION_FIXED, vw);
  checkFixed(t, TEXT_FIXED, tw);

  let imageSize = v.image_size ?? 224;
  if (Array.isArray(imageSize)) {
    if (imageSize.length !== 2 || imageSize[0] !== imageSize[1]) throw new UserError(`${vw}.image_size ${JSON.stringify(imageSize)}: only square images are supported`);
    imageSize = imageSize[0];
  }
  const vision: VisionCfg = {
    image_size: posInt({ image_size: imageSize }, "image_size", vw),
    layers: 12,
    width: posInt(v, "width", vw, 768),
    patch_size: null,
    head_width: posInt(v, "head_width", vw, 64),
    mlp_ratio: posNum(v, "mlp_ratio", vw, 4),
  };
  const layers = v.layers ?? 12;
  if (Array.isArray(layers)) {
    if (layers.length !== 4 || !layers.every((x) => Number.isInteger(x) && x > 0)) {
      throw new UserError(`${vw}.layers ${JSON.stringify(layers)}: a ModifiedResNet needs four positive stage depths`);
    }
    vision.layers = [...layers] as ResNetLayers;
    if (vision.image_size % 32 !== 0) throw new UserError(`${vw}.image_size ${vision.image_size} must be a multiple of 32 for a ModifiedResNet`);
    if (vision.width % 2 !== 0) throw new UserError(`${vw}.width ${vision.width} must be even for a ModifiedResNet (its stem has width/2 channels)`);
  } else {
    vision.layers = posInt(v, "layers", vw);
    vision.patch_size = posInt(v, "patch_size", vw, 16);
    if (vision.image_size % vision.patch_size !== 0) {
      throw new UserError(`${vw}.image_size ${vision.image_size} is not a multiple of patch_size ${vision.patch_size}`);
    }
  }
  const heads = visionHeads(vision);
  const attnWidth = isResNet(vision) ? vision.width * 32 : vision.width;
  if (heads < 1 || attnWidth % heads !== 0) {
    throw new UserError(`${vw}: head_width ${vision.head_width} gives ${heads} attention heads for width ${attnWidth}; the width must be a positive multiple of the heads`);
  }
  const text: TextCfg = {
    context_length: posInt(t, "context_length", tw, 77),
    vocab_size: posInt(t, "vocab_size", tw, 49408),
    width: posInt(t, "width", tw, 512),
    heads: posInt(t, "heads", tw, 8),
    layers: posInt(t, "layers", tw, 12),
    mlp_ratio: posNum(t, "mlp_ratio", tw, 4),
  };
  if (text.width % text.heads !== 0) throw new UserError(`${tw}.width ${text.width} is not divisible by heads ${text.heads}`);
  const qg = m.quick_gelu ?? false;
  if (typeof qg !== "boolean") throw new UserError(`${where}.quick_gelu must be true or false, got ${JSON.stringify(qg)}`);
  const config: ClipConfig = { embed_dim: posInt(m, "embed_dim", where), quick_gelu: qg, vision_cfg: vision, text_cfg: text };
  if (m.init_logit_bias !== undefined && m.init_logit_bias !== null) {
    if (typeof m.init_logit_bias !== "number" || !Number.isFinite(m.init_logit_bias)) throw new UserError(`${where}.init_logit_bias must be a number, got ${JSON.stringify(m.init_logit_bias)}`);
    config.init_logit_bias = m.init_logit_bias;
  }
  return config;
}

const INTERPOLATIONS = ["bicubic", "bilinear", "nearest", "lanczos"] as const;
const RESIZE_MODES = ["shortest", "longest", "squash"] as const;

function triple(x: unknown, where: string): [number, number, number] {
  if (typeof x === "number") return [x, x, x];
  if (!Array.isArray(x) || x.length !== 3 || !x.every((n) => typeof n === "number")) {
    throw new UserError(`${where} must be three numbers, got ${JSON.stringify(x)}`);
  }
  return [x[0], x[1], x[2]];
}

/** Parses open_clip's preprocess_cfg; missing fields take OpenAI's values. */
export function parsePreprocessCfg(json: unknown, imageSize: number, where = "preprocess_cfg"): PreprocessCfg {
  const out = defaultPreprocess(imageSize);
  if (json === undefined || json === null) return out;
  const p = obj(json, where);
  if (p.mean !== undefined) out.mean = triple(p.mean, `${where}.mean`);
  if (p.std !== undefined) out.std = triple(p.std, `${where}.std`);
  if (out.std.some((s) => s <= 0)) throw new UserError(`${where}.std must be positive, got ${JSON.stringify(out.std)}`);
  if (p.interpolation !== undefined) {
    if (!(INTERPOLATIONS as readonly unknown[]).includes(p.interpolation)) {
      throw new UserError(`${where}.interpolation ${JSON.stringify(p.interpolation)} is not one of ${INTERPOLATIONS.join(", ")}`);
    }
    out.interpolation = p.interpolation as PreprocessCfg["interpolation"];
  }
  if (p.resize_mode !== undefined) {
    if (!(RESIZE_MODES as readonly unknown[]).includes(p.resize_mode)) {
      throw new UserError(`${where}.resize_mode ${JSON.stringify(p.resize_mode)} is not one of ${RESIZE_MODES.join(", ")}`);
    }
    out.resize_mode = p.resize_mode as PreprocessCfg["resize_mode"];
  }
  if (p.size !== undefined) {
    const s = Array.isArray(p.size) && p.size.length === 2 && p.size[0] === p.size[1] ? p.size[0] : p.size;
    out.size = posInt({ size: s }, "size", where);
  }
  if (p.fill_color !== undefined) {
    if (typeof p.fill_color !== "number") throw new UserError(`${where}.fill_color must be a number`);
    out.fill_color = p.fill_color;
  }
  return out;
}

/** Parses an open_clip_config.json document (object or its text). */
export function parseOpenClipConfig(json: unknown, where = "open_clip_config.json"): { config: ClipConfig; preprocess: PreprocessCfg } {
  let doc = json;
  if (typeof json === "string") {
    try {
      doc = JSON.parse(json);
    } catch (e) {
      throw new UserError(`${where} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const o = obj(doc, where);
  if (o.model_cfg === undefined) {
    // a bare model config (open_clip's model_configs/*.json)
    if (o.vision_cfg !== undefined) {
      const config = parseModelCfg(o, where);
      return { config, preprocess: defaultPreprocess(config.vision_cfg.image_size) };
    }
    throw new UserError(`${where} has no "model_cfg"`);
  }
  const config = parseModelCfg(o.model_cfg, `${where}: model_cfg`);
  return { config, preprocess: parsePreprocessCfg(o.preprocess_cfg, config.vision_cfg.image_size, `${where}: preprocess_cfg`) };
}

/** The open_clip_config.json document for a config (defaults left out, as open_clip's files do). */
export function openClipConfigJson(config: ClipConfig, preprocess?: PreprocessCfg): Json {
  const v = config.vision_cfg;
  const t = config.text_cfg;
  const vision: Json = { image_size: v.image_size, layers: isResNet(v) ? [...v.layers] : v.layers, width: v.width, patch_size: v.patch_size };
  if (v.head_width !== 64) vision.head_width = v.head_width;
  if (v.mlp_ratio !== 4) vision.mlp_ratio = v.mlp_ratio;
  const text: Json = { context_length: t.context_length, vocab_size: t.vocab_size, width: t.width, heads: t.heads, layers: t.layers };
  if (t.mlp_ratio !== 4) text.mlp_ratio = t.mlp_ratio;
  const model: Json = { embed_dim: config.embed_dim };
  if (config.quick_gelu) model.quick_gelu = true;
  if (config.init_logit_bias !== undefined) model.init_logit_bias = config.init_logit_bias;
  model.vision_cfg = vision;
  model.text_cfg = text;
  const p = preprocess ?? defaultPreprocess(v.image_size);
  const pre: Json = { mean: [...p.mean], std: [...p.std] };
  if (p.interpolation !== "bicubic") pre.interpolation = p.interpolation;
  if (p.resize_mode !== "shortest") pre.resize_mode = p.resize_mode;
  if (p.size !== v.image_size) pre.size = p.size;
  if (p.fill_color !== 0) pre.fill_color = p.fill_color;
  return { model_cfg: model, preprocess_cfg: pre };
}

// ---------------------------------------------------------------------------------------------
// parameter keys and shapes

/** One state-dict entry a config expects. `optional` entries may be absent (BatchNorm's num_batches_tracked). */
export interface ParamSpec {
  key: string;
  shape: number[];
  optional?: boolean;
}

function linear(out: ParamSpec[], key: string, outF: number, inF: number): void {
  out.push({ key: `${key}.weight`, shape: [outF, inF] }, { key: `${key}.bias`, shape: [outF] });
}

function layerNorm(out: ParamSpec[], key: string, n: number): void {
  out.push({ key: `${key}.weight`, shape: [n] }, { key: `${key}.bias`, shape: [n] });
}

function batchNorm(out: ParamSpec[], key: string, n: number): void {
  out.push(
    { key: `${key}.weight`, shape: [n] },
    { key: `${key}.bias`, shape: [n] },
    { key: `${key}.running_mean`, shape: [n] },
    { key: `${key}.running_var`, shape: [n] },
    { key: `${key}.num_batches_tracked`, shape: [], optional: true },
  );
}

/** Pre-LN residual attention blocks (OpenAI's ResidualAttentionBlock), in state_dict order. */
function transformerParams(out: ParamSpec[], prefix: string, width: number, layers: number, mlpRatio: number): void {
  const mlp = Math.floor(width * mlpRatio);
  for (let i = 0; i < layers; i++) {
    const b = `${prefix}.resblocks.${i}`;
    out.push({ key: `${b}.attn.in_proj_weight`, shape: [3 * width, width] }, { key: `${b}.attn.in_proj_bias`, shape: [3 * width] });
    linear(out, `${b}.attn.out_proj`, width, width);
    layerNorm(out, `${b}.ln_1`, width);
    linear(out, `${b}.mlp.c_fc`, mlp, width);
    linear(out, `${b}.mlp.c_proj`, width, mlp);
    layerNorm(out, `${b}.ln_2`, width);
  }
}

function visionParams(out: ParamSpec[], config: ClipConfig): void {
  const v = config.vision_cfg;
  if (isResNet(v)) {
    const w = v.width;
    const conv = (key: string, o: number, i: number, k: number): void => void out.push({ key: `${key}.weight`, shape: [o, i, k, k] });
    // 3-conv stem
    conv("visual.conv1", w / 2, 3, 3);
    batchNorm(out, "visual.bn1", w / 2);
    conv("visual.conv2", w / 2, w / 2, 3);
    batchNorm(out, "visual.bn2", w / 2);
    conv("visual.conv3", w, w / 2, 3);
    batchNorm(out, "visual.bn3", w);
    let inplanes = w;
    v.layers.forEach((blocks, l) => {
      const planes = w * 2 ** l;
      const stride = l === 0 ? 1 : 2;
      for (let b = 0; b < blocks; b++) {
        const p = `visual.layer${l + 1}.${b}`;
        conv(`${p}.conv1`, planes, inplanes, 1);
        batchNorm(out, `${p}.bn1`, planes);
        conv(`${p}.conv2`, planes, planes, 3);
        batchNorm(out, `${p}.bn2`, planes);
        conv(`${p}.conv3`, planes * 4, planes, 1);
        batchNorm(out, `${p}.bn3`, planes * 4);
        if (b === 0 && (stride > 1 || inplanes !== planes * 4)) {
          conv(`${p}.downsample.0`, planes * 4, inplanes, 1);
          batchNorm(out, `${p}.downsample.1`, planes * 4);
        }
        inplanes = planes * 4;
      }
    });
    const e = resnetEmbedWidth(v);
    const g = gridSize(v);
    out.push({ key: "visual.attnpool.positional_embedding", shape: [g * g + 1, e] });
    linear(out, "visual.attnpool.k_proj", e, e);
    linear(out, "visual.attnpool.q_proj", e, e);
    linear(out, "visual.attnpool.v_proj", e, e);
    linear(out, "visual.attnpool.c_proj", config.embed_dim, e);
  } else {
    const w = v.width;
    const g = gridSize(v);
    const p = v.patch_size!;
    out.push(
      { key: "visual.class_embedding", shape: [w] },
      { key: "visual.positional_embedding", shape: [g * g + 1, w] },
      { key: "visual.proj", shape: [w, config.embed_dim] },
      { key: "visual.conv1.weight", shape: [w, 3, p, p] },
    );
    layerNorm(out, "visual.ln_pre", w);
    transformerParams(out, "visual.transformer", w, v.layers as number, v.mlp_ratio);
    layerNorm(out, "visual.ln_post", w);
  }
}

/**
 * Every state-dict key a CLIP of this config has, with its shape, in OpenAI's state_dict order.
 * Keys are OpenAI/open_clip names; `logit_scale` is a scalar (shape []).
 */
export function expectedParams(config: ClipConfig): ParamSpec[] {
  const t = config.text_cfg;
  const out: ParamSpec[] = [
    { key: "positional_embedding", shape: [t.context_length, t.width] },
    { key: "text_projection", shape: [t.width, config.embed_dim] },
    { key: "logit_scale", shape: [] },
  ];
  if (config.init_logit_bias !== undefined) out.push({ key: "logit_bias", shape: [] });
  visionParams(out, config);
  transformerParams(out, "transformer", t.width, t.layers, t.mlp_ratio);
  out.push({ key: "token_embedding.weight", shape: [t.vocab_size, t.width] });
  layerNorm(out, "ln_final", t.width);
  return out;
}

/** True for BatchNorm buffers (running statistics), which are state but not trainable parameters. */
export function isBuffer(key: string): boolean {
  return /\.(running_mean|running_var|num_batches_tracked)$/.test(key);
}

/** Number of trainable parameters (as PyTorch's sum(p.numel() for p in model.parameters())). */
export function countParams(config: ClipConfig): number {
  let n = 0;
  for (const p of expectedParams(config)) if (!isBuffer(p.key)) n += p.shape.reduce((a, b) => a * b, 1);
  return n;
}

export interface StateProblems {
  missing: ParamSpec[];
  unexpected: { key: string; shape: number[] }[];
  mismatched: { key: string; expected: number[]; got: number[] }[];
}

/** Compares a state dict's keys and shapes with a config's. */
export function diffState(config: ClipConfig, shapes: Map<string, { shape: readonly number[] }>): StateProblems {
  const specs = expectedParams(config);
  const want = new Map(specs.map((s) => [s.key, s]));
  const missing: ParamSpec[] = [];
  const mismatched: StateProblems["mismatched"] = [];
  for (const s of specs) {
    const got = shapes.get(s.key);
    if (!got) {
      if (!s.optional) missing.push(s);
    } else if (got.shape.length !== s.shape.length || got.shape.some((d, i) => d !== s.shape[i])) {
      mismatched.push({ key: s.key, expected: s.shape, got: [...got.shape] });
    }
  }
  const unexpected = [...shapes].filter(([k]) => !want.has(k)).map(([key, t]) => ({ key, shape: [...t.shape] }));
  return { missing, unexpected, mismatched };
}

/** Throws a UserError listing every missing, unexpected and mis-shaped key (up to `limit` of each). */
export function checkState(config: ClipConfig, shapes: Map<string, { shape: readonly number[] }>, where = "checkpoint", limit = 20): void {
  const p = diffState(config, shapes);
  if (p.missing.length + p.unexpected.length + p.mismatched.length === 0) return;
  const lines: string[] = [];
  const list = <T>(title: string, items: T[], fmt: (x: T) => string): void => {
    if (items.length === 0) return;
    lines.push(`${items.length} ${title}:`);
    for (const x of items.slice(0, limit)) lines.push(`  ${fmt(x)}`);
    if (items.length > limit) lines.push(`  ... and ${items.length - limit} more`);
  };
  list("missing keys", p.missing, (s) => `${s.key} ${fmtShape(s.shape)}`);
  list("unexpected keys", p.unexpected, (s) => `${s.key} ${fmtShape(s.shape)}`);
  list("mis-shaped keys", p.mismatched, (s) => `${s.key}: got ${fmtShape(s.got)}, expected ${fmtShape(s.expected)}`);
  const arch = isResNet(config.vision_cfg) ? `ModifiedResNet ${JSON.stringify(config.vision_cfg.layers)}` : `ViT width ${config.vision_cfg.width}`;
  throw new UserError(`${where} does not match its config (${arch}, embed_dim ${config.embed_dim}):\n${lines.join("\n")}`);
}

// ---------------------------------------------------------------------------------------------
// inference from shapes (openai/CLIP build_model)

export interface InferOptions {
  /** OpenAI's checkpoints all use QuickGELU; default true. */
  quickGelu?: boolean;
  /** Heads cannot be read from shapes: text heads default to width / 64 (OpenAI's rule). */
  textHeads?: number;
  /** Vision head width, default 64 (OpenAI's rule). */
  visionHeadWidth?: number;
}

/** Infers a config from a state dict's key names and shapes, as openai/CLIP's build_model does. */
export function inferConfig(shapes: Map<string, { shape: readonly number[] }>, opts: InferOptions = {}, where = "checkpoint"): ClipConfig {
  const get = (key: string): readonly number[] => {
    const t = shapes.get(key);
    if (!t) throw new UserError(`${where}: cannot infer the model config: key ${key} is missing (not a CLIP state dict?)`);
    return t.shape;
  };
  const countBlocks = (prefix: string): number => {
    const ids = new Set<string>();
    for (const k of shapes.keys()) if (k.startsWith(prefix)) ids.add(k.slice(prefix.length).split(".")[0]);
    return ids.size;
  };
  const sqrtExact = (n: number, what: string): number => {
    const g = Math.round(Math.sqrt(n));
    if (g * g !== n) throw new UserError(`${where}: ${what} has ${n} positions, not a square grid`);
    return g;
  };
  // OpenAI's rule is 64-wide heads; narrower (test-sized) models get one head
  const headWidthFor = (width: number): number => opts.visionHeadWidth ?? Math.min(64, width);
  let vision: VisionCfg;
  if (shapes.has("visual.proj")) {
    const conv = get("visual.conv1.weight");
    const width = conv[0];
    const patch = conv[conv.length - 1];
    const grid = sqrtExact(get("visual.positional_embedding")[0] - 1, "visual.positional_embedding");
    const layers = countBlocks("visual.transformer.resblocks.");
    const mlp = shapes.get("visual.transformer.resblocks.0.mlp.c_fc.weight")?.shape[0] ?? width * 4;
    vision = { image_size: patch * grid, layers, width, patch_size: patch, head_width: headWidthFor(width), mlp_ratio: mlp / width };
  } else if (shapes.has("visual.attnpool.positional_embedding")) {
    const layers = [1, 2, 3, 4].map((b) => countBlocks(`visual.layer${b}.`)) as ResNetLayers;
    const width = get("visual.layer1.0.conv1.weight")[0];
    const grid = sqrtExact(get("visual.attnpool.positional_embedding")[0] - 1, "visual.attnpool.positional_embedding");
    vision = { image_size: grid * 32, layers, width, patch_size: null, head_width: headWidthFor(width * 32), mlp_ratio: 4 };
  } else {
    throw new UserError(`${where}: cannot infer the model config: neither visual.proj (ViT) nor visual.attnpool.* (ModifiedResNet) is present`);
  }
  const textWidth = get("ln_final.weight")[0];
  const textMlp = shapes.get("transformer.resblocks.0.mlp.c_fc.weight")?.shape[0] ?? textWidth * 4;
  const text: TextCfg = {
    context_length: get("positional_embedding")[0],
    vocab_size: get("token_embedding.weight")[0],
    width: textWidth,
    heads: opts.textHeads ?? Math.max(1, Math.floor(textWidth / 64)),
    layers: countBlocks("transformer.resblocks."),
    mlp_ratio: textMlp / textWidth,
  };
  return { embed_dim: get("text_projection")[1], quick_gelu: opts.quickGelu ?? true, vision_cfg: vision, text_cfg: text };
}
