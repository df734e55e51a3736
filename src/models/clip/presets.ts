/**
 * @file The published CLIP architectures, with the exact values of open_clip's
 * src/open_clip/model_configs/*.json. Plain names use GELU as open_clip's files do; the
 * "-quickgelu" names (QuickGELU, what OpenAI's released weights need) match open_clip's too.
 */
import { UserError } from "../../errors.js";
import { type ClipConfig, type ResNetLayers, parseModelCfg } from "./config.js";

interface PresetJson {
  embed_dim: number;
  quick_gelu?: boolean;
  vision_cfg: { image_size: number; layers: number | ResNetLayers; width: number; patch_size: number | null };
  text_cfg: { context_length: number; vocab_size: number; width: number; heads: number; layers: number };
}

const text = (width: number, heads: number) => ({ context_length: 77, vocab_size: 49408, width, heads, layers: 12 });
const resnet = (embed_dim: number, image_size: number, layers: ResNetLayers, width: number, tw: number, th: number): PresetJson => ({
  embed_dim,
  vision_cfg: { image_size, layers, width, patch_size: null },
  text_cfg: text(tw, th),
});
const vit = (embed_dim: number, image_size: number, layers: number, width: number, patch_size: number, tw: number, th: number): PresetJson => ({
  embed_dim,
  vision_cfg: { image_size, layers, width, patch_size },
  text_cfg: text(tw, th),
});

/** open_clip model_configs, by name. */
const BASE: Record<string, PresetJson> = {
  RN50: resnet(1024, 224, [3, 4, 6, 3], 64, 512, 8),
  RN101: resnet(512, 224, [3, 4, 23, 3], 64, 512, 8),
  RN50x4: resnet(640, 288, [4, 6, 10, 6], 80, 640, 10),
  RN50x16: resnet(768, 384, [6, 8, 18, 8], 96, 768, 12),
  RN50x64: resnet(1024, 448, [3, 15, 36, 10], 128, 1024, 16),
  "ViT-B-32": vit(512, 224, 12, 768, 32, 512, 8),
  "ViT-B-16": vit(512, 224, 12, 768, 16, 512, 8),
  "ViT-L-14": vit(768, 224, 24, 1024, 14, 768, 12),
  "ViT-L-14-336": vit(768, 336, 24, 1024, 14, 768, 12),
};

/** Every preset name: the base architectures and their "-quickgelu" variants. */
export const PRESET_NAMES: readonly string[] = Object.keys(BASE).flatMap((n) => [n, `${n}-quickgelu`]);

/** The open_clip model_cfg JSON of a preset (as in model_configs/NAME.json). */
export function presetJson(name: string): PresetJson {
  const quick = name.endsWith("-quickgelu");
  const base = BASE[quick ? name.slice(0, -"-quickgelu".length) : name];
  if (!base) throw new UserError(`unknown architecture ${JSON.stringify(name)}; known: ${PRESET_NAMES.join(", ")}`);
  const json = structuredClone(base);
  return quick ? { embed_dim: json.embed_dim, quick_gelu: true, vision_cfg: json.vision_cfg, text_cfg: json.text_cfg } : json;
}

/** The config of a preset architecture (e.g. "ViT-B-32", "RN50-quickgelu"). */
export function presetConfig(name: string): ClipConfig {
  return parseModelCfg(presetJson(name), `preset ${name}`);
}

/** The browser demo's model (and `clip demo`'s before the ResNet below): a small ViT over 64 px images and a short-context text transformer. */
export const DEMO_CONFIG = {
  model_cfg: {
    embed_dim: 128,
    quick_gelu: true,
    vision_cfg: { image_size: 64, layers: 4, width: 128, patch_size: 8, head_width: 32 },
    text_cfg: { context_length: 32, vocab_size: 1024, width: 128, heads: 4, layers: 3 },
  },
  preprocess_cfg: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
};

/**
 * `clip demo`'s model: the same text transformer and preprocessing with a width-16 ModifiedResNet
 * over 64 px images as the image tower (recipes/demo-rn16.json). In the demo's budget it learns
 * count, and shape in part, where the ViT above learns colour alone (README, "The main job").
 */
export const DEMO_RESNET_CONFIG = {
  ...DEMO_CONFIG,
  model_cfg: { ...DEMO_CONFIG.model_cfg, vision_cfg: { image_size: 64, layers: [1, 1, 1, 1], width: 16, head_width: 32 } },
};
