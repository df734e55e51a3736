/**
 * @file Hugging Face transformers CLIPModel layout <-> OpenAI/open_clip keys: one mapping table,
 * a shape assert per entry (nanoGPT from_pretrained style). HF splits attention into q/k/v
 * projections, stores the projections as nn.Linear weights (transposed) and spells pre_layrnorm so.
 * No Node APIs.
 */
import { UserError, fmtShape } from "../errors.js";
import {
  type ClipConfig,
  type PreprocessCfg,
  type StateDict,
  type StateTensor,
  checkState,
  defaultPreprocess,
  expectedParams,
  isResNet,
  visionHeads,
} from "../models/clip/config.js";

/** How one of our tensors is made from HF tensors. */
export type HfOp =
  | "copy"
  /** ours = hf^T (2-D). */
  | "transpose"
  /** ours = concat(q, k, v) along dim 0. */
  | "concat_qkv";

export interface HfEntry {
  ours: string;
  hf: string[];
  op: HfOp;
}

/** HF keys that carry no weights (buffers HF saves in some versions). */
const HF_IGNORED = /^(text_model|vision_model)\.embeddings\.position_ids$/;

function blockEntries(out: HfEntry[], ours: string, hf: string): void {
  const qkv = (suffix: string): string[] => ["q", "k", "v"].map((p) => `${hf}.self_attn.${p}_proj.${suffix}`);
  out.push({ ours: `${ours}.attn.in_proj_weight`, hf: qkv("weight"), op: "concat_qkv" });
  out.push({ ours: `${ours}.attn.in_proj_bias`, hf: qkv("bias"), op: "concat_qkv" });
  const pairs: [string, string][] = [
    ["attn.out_proj", "self_attn.out_proj"],
    ["ln_1", "layer_norm1"],
    ["mlp.c_fc", "mlp.fc1"],
    ["mlp.c_proj", "mlp.fc2"],
    ["ln_2", "layer_norm2"],
  ];
  for (const [o, h] of pairs) for (const s of ["weight", "bias"]) out.push({ ours: `${ours}.${o}.${s}`, hf: [`${hf}.${h}.${s}`], op: "copy" });
}

/** The whole mapping for a (ViT) config, one entry per OpenAI/open_clip key. */
export function hfMapping(config: ClipConfig): HfEntry[] {
  if (isResNet(config.vision_cfg)) throw new UserError("the Hugging Face CLIPModel layout has no ModifiedResNet; use the open_clip layout");
  const out: HfEntry[] = [];
  const copy = (ours: string, hf: string): void => void out.push({ ours, hf: [hf], op: "copy" });
  const norm = (ours: string, hf: string): void => {
    copy(`${ours}.weight`, `${hf}.weight`);
    copy(`${ours}.bias`, `${hf}.bias`);
  };
  copy("positional_embedding", "text_model.embeddings.position_embedding.weight");
  out.push({ ours: "text_projection", hf: ["text_projection.weight"], op: "transpose" });
  copy("logit_scale", "logit_scale");
  copy("visual.class_embedding", "vision_model.embeddings.class_embedding");
  copy("visual.positional_embedding", "vision_model.embeddings.position_embedding.weight");
  out.push({ ours: "visual.proj", hf: ["visual_projection.weight"], op: "transpose" });
  copy("visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight");
  norm("visual.ln_pre", "vision_model.pre_layrnorm");
  for (let i = 0; i < (config.vision_cfg.layers as number); i++) {
    blockEntries(out, `visual.transformer.resblocks.${i}`, `vision_model.encoder.layers.${i}`);
  }
  norm("visual.ln_post", "vision_model.post_layernorm");
  for (let i = 0; i < config.text_cfg.layers; i++) blockEntries(out, `transformer.resblocks.${i}`, `text_model.encoder.layers.${i}`);
  copy("token_embedding.weight", "text_model.embeddings.token_embedding.weight");
  norm("ln_final", "text_model.final_layer_norm");
  return out;
}

/** The HF shapes an entry needs, given our key's shape. */
function hfShapes(e: HfEntry, ours: number[]): number[][] {
  if (e.op === "transpose") return [[ours[1], ours[0]]];
  if (e.op === "concat_qkv") return [0, 1, 2].map(() => [ours[0] / 3, ...ours.slice(1)]);
  return [ours];
}

function transpose2d(t: StateTensor): StateTensor {
  const [r, c] = t.shape;
  const out = new Float32Array(r * c);
  // [r, c] -> [c, r]
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return { shape: [c, r], data: out };
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** True when a state dict uses HF CLIPModel names. */
export function isHfState(keys: Iterable<string>): boolean {
  for (const k of keys) if (k.startsWith("text_model.") || k.startsWith("vision_model.")) return true;
  return false;
}

/** Maps an HF CLIPModel state dict to OpenAI/open_clip keys; throws a UserError listing every missing, unexpected or mis-shaped key. */
export function hfToOpenClip(config: ClipConfig, hf: StateDict, where = "model.safetensors"): StateDict {
  const shapes = new Map(expectedParams(config).map((p) => [p.key, p.shape]));
  const missing: string[] = [];
  const mismatched: string[] = [];
  const used = new Set<string>();
  const out: StateDict = new Map();
  for (const e of hfMapping(config)) {
    const want = hfShapes(e, shapes.get(e.ours)!);
    const parts: StateTensor[] = [];
    e.hf.forEach((k, i) => {
      const t = hf.get(k);
      used.add(k);
      if (!t) missing.push(`${k} ${fmtShape(want[i])}`);
      else if (!sameShape(t.shape, want[i])) mismatched.push(`${k}: got ${fmtShape(t.shape)}, expected ${fmtShape(want[i])}`);
      else parts.push(t);
    });
    if (parts.length !== e.hf.length) continue;
    if (e.op === "copy") out.set(e.ours, { shape: [...parts[0].shape], data: parts[0].data });
    else if (e.op === "transpose") out.set(e.ours, transpose2d(parts[0]));
    else {
      const n = parts[0].data.length;
      const data = new Float32Array(3 * n);
      parts.forEach((p, i) => data.set(p.data, i * n));
      out.set(e.ours, { shape: [3 * parts[0].shape[0], ...parts[0].shape.slice(1)], data });
    }
  }
  const unexpected = [...hf].filter(([k]) => !used.has(k) && !HF_IGNORED.test(k)).map(([k, t]) => `${k} ${fmtShape(t.shape)}`);
  if (missing.length + mismatched.length + unexpected.length > 0) {
    const sec = (title: string, xs: string[]): string =>
      xs.length ? `\n${xs.length} ${title}:\n${xs.slice(0, 20).map((x) => `  ${x}`).join("\n")}${xs.length > 20 ? `\n  ... and ${xs.length - 20} more` : ""}` : "";
    throw new UserError(
      `${where} (Hugging Face CLIPModel layout) does not match its config:` +
        sec("missing keys", missing) +
        sec("unexpected keys", unexpected) +
        sec("mis-shaped keys", mismatched),
    );
  }
  return out;
}

/** Maps an OpenAI/open_clip state dict to HF CLIPModel names (q/k/v split, projections transposed). */
export function openClipToHf(config: ClipConfig, state: StateDict): StateDict {
  checkState(config, state, "state dict");
  const out: StateDict = new Map();
  for (const e of hfMapping(config)) {
    const t = state.get(e.ours)!;
    if (e.op === "copy") out.set(e.hf[0], { shape: [...t.shape], data: t.data });
    else if (e.op === "transpose") out.set(e.hf[0], transpose2d(t));
    else {
      const rows = t.shape[0] / 3;
      const n = t.data.length / 3;
      e.hf.forEach((k, i) => out.set(k, { shape: [rows, ...t.shape.slice(1)], data: t.data.slice(i * n, (i + 1) * n) }));
    }
  }
  return out;
}

type Json = Record<string, unknown>;

const obj = (x: unknown): Json => (typeof x === "object" && x !== null && !Array.isArray(x) ? (x as Json) : {});

/**
 * The config of an HF CLIPModel checkpoint: sizes from the tensors' shapes, heads and activation
 * from config.json (HF's defaults where it is silent: 8 text heads, 12 vision heads, quick_gelu).
 */
export function inferHfConfig(hf: Map<string, { shape: readonly number[] }>, configJson: unknown, where = "config.json"): ClipConfig {
  const get = (key: string): readonly number[] => {
    const t = hf.get(key);
    if (!t) throw new UserError(`${where}: Hugging Face CLIP weights lack ${key}`);
    return t.shape;
  };
  const count = (prefix: string): number => {
    const ids = new Set<string>();
    for (const k of hf.keys()) if (k.startsWith(prefix)) ids.add(k.slice(prefix.length).split(".")[0]);
    return ids.size;
  };
  const c = obj(configJson);
  const tc = { ...obj(c.text_config_dict), ...obj(c.text_config) };
  const vc = { ...obj(c.vision_config_dict), ...obj(c.vision_config) };
  const act = (x: Json): unknown => x.hidden_act ?? "quick_gelu";
  const ta = act(tc);
  const va = act(vc);
  for (const a of [ta, va]) {
    if (a !== "quick_gelu" && a !== "gelu") throw new UserError(`${where}: hidden_act ${JSON.stringify(a)} is not supported (quick_gelu or gelu)`);
  }
  if (ta !== va) throw new UserError(`${where}: text hidden_act ${String(ta)} and vision hidden_act ${String(va)} differ; CLIP uses one activation`);

  const patch = get("vision_model.embeddings.patch_embedding.weight");
  const vWidth = patch[0];
  const positions = get("vision_model.embeddings.position_embedding.weight")[0] - 1;
  const grid = Math.round(Math.sqrt(positions));
  if (grid * grid !== positions) throw new UserError(`${where}: vision position embedding has ${positions + 1} rows, not a square grid + 1`);
  const vHeads = typeof vc.num_attention_heads === "number" ? vc.num_attention_heads : 12;
  const tWidth = get("text_model.final_layer_norm.weight")[0];
  const tHeads = typeof tc.num_attention_heads === "number" ? tc.num_attention_heads : 8;
  if (vWidth % vHeads !== 0) throw new UserError(`${where}: vision hidden_size ${vWidth} is not divisible by num_attention_heads ${vHeads}`);
  if (tWidth % tHeads !== 0) throw new UserError(`${where}: text hidden_size ${tWidth} is not divisible by num_attention_heads ${tHeads}`);
  const vMlp = hf.get("vision_model.encoder.layers.0.mlp.fc1.weight")?.shape[0] ?? 4 * vWidth;
  const tMlp = hf.get("text_model.encoder.layers.0.mlp.fc1.weight")?.shape[0] ?? 4 * tWidth;
  return {
    embed_dim: get("text_projection.weight")[0],
    quick_gelu: ta === "quick_gelu",
    vision_cfg: {
      image_size: grid * patch[3],
      layers: count("vision_model.encoder.layers."),
      width: vWidth,
      patch_size: patch[3],
      head_width: vWidth / vHeads,
      mlp_ratio: vMlp / vWidth,
    },
    text_cfg: {
      context_length: get("text_model.embeddings.position_embedding.weight")[0],
      vocab_size: get("text_model.embeddings.token_embedding.weight")[0],
      width: tWidth,
      heads: tHeads,
      layers: count("text_model.encoder.layers."),
      mlp_ratio: tMlp / tWidth,
    },
  };
}

/** The HF config.json of a CLIPModel for a (ViT) config. */
export function hfConfigJson(config: ClipConfig, logitScale = 2.6592): Json {
  const v = config.vision_cfg;
  const t = config.text_cfg;
  if (isResNet(v)) throw new UserError("the Hugging Face CLIPModel layout has no ModifiedResNet");
  const act = config.quick_gelu ? "quick_gelu" : "gelu";
  return {
    architectures: ["CLIPModel"],
    model_type: "clip",
    projection_dim: config.embed_dim,
    logit_scale_init_value: logitScale,
    text_config: {
      model_type: "clip_text_model",
      hidden_size: t.width,
      intermediate_size: Math.floor(t.width * t.mlp_ratio),
      num_attention_heads: t.heads,
      num_hidden_layers: t.layers,
      max_position_embeddings: t.context_length,
      vocab_size: t.vocab_size,
      hidden_act: act,
      layer_norm_eps: 1e-5,
      projection_dim: config.embed_dim,
    },
    vision_config: {
      model_type: "clip_vision_model",
      hidden_size: v.width,
      intermediate_size: Math.floor(v.width * v.mlp_ratio),
      num_attention_heads: visionHeads(v),
      num_hidden_layers: v.layers,
      image_size: v.image_size,
      patch_size: v.patch_size,
      num_channels: 3,
      hidden_act: act,
      layer_norm_eps: 1e-5,
      projection_dim: config.embed_dim,
    },
  };
}

/** HF preprocessor_config.json for a preprocess config (CLIPImageProcessor). */
export function hfPreprocessorJson(p: PreprocessCfg): Json {
  const resample = { nearest: 0, lanczos: 1, bilinear: 2, bicubic: 3 }[p.interpolation];
  return {
    image_processor_type: "CLIPImageProcessor",
    do_resize: true,
    size: { shortest_edge: p.size },
    resample,
    do_center_crop: true,
    crop_size: { height: p.size, width: p.size },
    do_normalize: true,
    image_mean: [...p.mean],
    image_std: [...p.std],
    do_convert_rgb: true,
  };
}

/** Preprocessing from HF preprocessor_config.json (mean, std, size, resample); defaults are OpenAI's. */
export function preprocessFromHf(json: unknown, imageSize: number): PreprocessCfg {
  const p = defaultPreprocess(imageSize);
  const j = obj(json);
  const triple = (x: unknown): [number, number, number] | null =>
    Array.isArray(x) && x.length === 3 && x.every((n) => typeof n === "number") ? [x[0], x[1], x[2]] : null;
  p.mean = triple(j.image_mean) ?? p.mean;
  p.std = triple(j.image_std) ?? p.std;
  const crop = j.crop_size;
  const size = typeof crop === "number" ? crop : typeof obj(crop).height === "number" ? (obj(crop).height as number) : undefined;
  if (size !== undefined) p.size = size;
  const interp = ({ 0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic" } as Record<number, PreprocessCfg["interpolation"]>)[
    typeof j.resample === "number" ? j.resample : 3
  ];
  if (interp) p.interpolation = interp;
  return p;
}
