/**
 * @file open_clip's names for well-known pretrained checkpoints (`create_model_and_transforms(
 * "ViT-B-32", pretrained="laion2b_s34b_b79k")`) and the Hugging Face repositories open_clip's
 * pretrained.py downloads them from. Plain data, no Node APIs.
 */
import { UserError } from "../../errors.js";

/** One pretrained tag: the hub repository and whether the weights were trained with QuickGELU. */
export interface PretrainedEntry {
  repo: string;
  quickGelu: boolean;
}

const oa = (repo: string): PretrainedEntry => ({ repo, quickGelu: true });
const gelu = (repo: string): PretrainedEntry => ({ repo, quickGelu: false });

/** model name -> tag -> entry, as open_clip's _PRETRAINED (before its -quickgelu copies). */
const BASE: Record<string, Record<string, PretrainedEntry>> = {
  RN50: { openai: oa("timm/resnet50_clip.openai"), yfcc15m: oa("timm/resnet50_clip.yfcc15m"), cc12m: oa("timm/resnet50_clip.cc12m") },
  RN101: { openai: oa("timm/resnet101_clip.openai"), yfcc15m: oa("timm/resnet101_clip.yfcc15m") },
  RN50x4: { openai: oa("timm/resnet50x4_clip.openai") },
  RN50x16: { openai: oa("timm/resnet50x16_clip.openai") },
  RN50x64: { openai: oa("timm/resnet50x64_clip.openai") },
  "ViT-B-32": {
    openai: oa("timm/vit_base_patch32_clip_224.openai"),
    laion400m_e31: oa("timm/vit_base_patch32_clip_224.laion400m_e31"),
    laion400m_e32: oa("timm/vit_base_patch32_clip_224.laion400m_e32"),
    laion2b_e16: gelu("timm/vit_base_patch32_clip_224.laion2b_e16"),
    laion2b_s34b_b79k: gelu("laion/CLIP-ViT-B-32-laion2B-s34B-b79K"),
    datacomp_xl_s13b_b90k: gelu("laion/CLIP-ViT-B-32-DataComp.XL-s13B-b90K"),
    datacomp_m_s128m_b4k: gelu("laion/CLIP-ViT-B-32-DataComp.M-s128M-b4K"),
    datacomp_s_s13m_b4k: gelu("laion/CLIP-ViT-B-32-DataComp.S-s13M-b4K"),
    metaclip_400m: oa("timm/vit_base_patch32_clip_224.metaclip_400m"),
    metaclip_fullcc: oa("timm/vit_base_patch32_clip_224.metaclip_2pt5b"),
  },
  "ViT-B-32-256": { datacomp_s34b_b86k: gelu("laion/CLIP-ViT-B-32-256x256-DataComp-s34B-b86K") },
  "ViT-B-16": {
    openai: oa("timm/vit_base_patch16_clip_224.openai"),
    laion400m_e31: gelu("timm/vit_base_patch16_clip_224.laion400m_e31"),
    laion400m_e32: gelu("timm/vit_base_patch16_clip_224.laion400m_e32"),
    laion2b_s34b_b88k: gelu("laion/CLIP-ViT-B-16-laion2B-s34B-b88K"),
    datacomp_xl_s13b_b90k: gelu("laion/CLIP-ViT-B-16-DataComp.XL-s13B-b90K"),
    datacomp_l_s1b_b8k: gelu("laion/CLIP-ViT-B-16-DataComp.L-s1B-b8K"),
    metaclip_400m: oa("timm/vit_base_patch16_clip_224.metaclip_400m"),
    metaclip_fullcc: oa("timm/vit_base_patch16_clip_224.metaclip_2pt5b"),
  },
  "ViT-B-16-plus-240": {
    laion400m_e31: gelu("timm/vit_base_patch16_plus_clip_240.laion400m_e31"),
    laion400m_e32: gelu("timm/vit_base_patch16_plus_clip_240.laion400m_e32"),
  },
  "ViT-L-14": {
    openai: oa("timm/vit_large_patch14_clip_224.openai"),
    laion400m_e31: gelu("timm/vit_large_patch14_clip_224.laion400m_e31"),
    laion400m_e32: gelu("timm/vit_large_patch14_clip_224.laion400m_e32"),
    laion2b_s32b_b82k: gelu("laion/CLIP-ViT-L-14-laion2B-s32B-b82K"),
    datacomp_xl_s13b_b90k: gelu("laion/CLIP-ViT-L-14-DataComp.XL-s13B-b90K"),
    metaclip_400m: oa("timm/vit_large_patch14_clip_224.metaclip_400m"),
    metaclip_fullcc: oa("timm/vit_large_patch14_clip_224.metaclip_2pt5b"),
  },
  "ViT-L-14-336": { openai: oa("timm/vit_large_patch14_clip_336.openai") },
  "ViT-H-14": {
    laion2b_s32b_b79k: gelu("laion/CLIP-ViT-H-14-laion2B-s32B-b79K"),
    metaclip_fullcc: oa("timm/vit_huge_patch14_clip_224.metaclip_2pt5b"),
  },
  "ViT-g-14": {
    laion2b_s12b_b42k: gelu("laion/CLIP-ViT-g-14-laion2B-s12B-b42K"),
    laion2b_s34b_b88k: gelu("laion/CLIP-ViT-g-14-laion2B-s34B-b88K"),
  },
  "ViT-bigG-14": { laion2b_s39b_b160k: gelu("laion/CLIP-ViT-bigG-14-laion2B-39B-b160k") },
};

/**
 * The whole table: each model's tags, plus `NAME-quickgelu` holding the tags trained with
 * QuickGELU (open_clip builds the same copies). The metaclip tags exist only under -quickgelu.
 */
export const PRETRAINED: Readonly<Record<string, Readonly<Record<string, PretrainedEntry>>>> = (() => {
  const out: Record<string, Record<string, PretrainedEntry>> = {};
  for (const [model, tags] of Object.entries(BASE)) {
    const plain = Object.fromEntries(Object.entries(tags).filter(([t]) => !t.startsWith("metaclip")));
    const quick = Object.fromEntries(Object.entries(tags).filter(([, e]) => e.quickGelu));
    if (Object.keys(plain).length) out[model] = plain;
    if (Object.keys(quick).length) out[`${model}-quickgelu`] = quick;
  }
  return out;
})();

/** Every (model, tag) pair, as open_clip.list_pretrained() gives them. */
export function listPretrained(): [string, string][] {
  return Object.entries(PRETRAINED).flatMap(([m, tags]) => Object.keys(tags).map((t): [string, string] => [m, t]));
}

/** open_clip's _clean_tag: lower case, "-" as "_". */
const cleanTag = (tag: string): string => tag.toLowerCase().replace(/-/g, "_");

/** True when `name` is one of the model names of the table ("ViT-B/32" spelled either way). */
export function isPretrainedModelName(name: string): boolean {
  return Object.hasOwn(PRETRAINED, name.replace(/\//g, "-"));
}

/**
 * The hub repository of an open_clip model name and pretrained tag, e.g. ("ViT-B-32", "openai")
 * -> timm/vit_base_patch32_clip_224.openai. Unknown names and tags throw a UserError listing the
 * known ones.
 */
export function pretrainedRepo(model: string, tag: string): PretrainedEntry {
  const name = model.replace(/\//g, "-");
  const tags = Object.hasOwn(PRETRAINED, name) ? PRETRAINED[name] : undefined;
  if (!tags) {
    throw new UserError(`unknown open_clip model ${JSON.stringify(model)} for --pretrained; known: ${Object.keys(PRETRAINED).join(", ")}`);
  }
  const t = cleanTag(tag);
  if (!Object.hasOwn(tags, t)) throw new UserError(`${name} has no pretrained tag ${JSON.stringify(tag)}; known: ${Object.keys(tags).join(", ")}`);
  return tags[t];
}

/** The pretrained tags of a model name (empty for an unknown name). */
export function pretrainedTags(model: string): string[] {
  const name = model.replace(/\//g, "-");
  return Object.hasOwn(PRETRAINED, name) ? Object.keys(PRETRAINED[name]) : [];
}
