/** @file Preprocessing configuration (open_clip's preprocess_cfg) and the decoded-image type. */
import { UserError } from "../errors.js";
import type { PreprocessCfg } from "../models/clip/config.js";

/** Mean and std of the OpenAI CLIP training images, open_clip's OPENAI_DATASET_MEAN/STD. */
export const OPENAI_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
/** Per-channel std of the OpenAI CLIP training images (open_clip's OPENAI_DATASET_STD). */
export const OPENAI_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

export type Interpolation = "bicubic" | "bilinear";
/** open_clip's resize modes: shortest side to N then center crop (CLIP), longest side to N then pad, or squash to N x N. */
export type ResizeMode = "shortest" | "longest" | "squash";

/** The evaluation preprocessing: square side, normalization, resampling filter and resize mode (open_clip's preprocess_cfg). */
export interface PreprocessConfig {
  /** Output side N: tensors are [3, N, N]. */
  size: number;
  mean: [number, number, number];
  std: [number, number, number];
  interpolation?: Interpolation;
  resizeMode?: ResizeMode;
  /** Padding value for resizeMode "longest" (open_clip's fill_color), in 0..255. Default 0. */
  fillColor?: number;
}

/**
 * The PIL mode the reference opens a file in. It decides how the reference resizes before its
 * convert("RGB"): "P" and "1" with nearest neighbour, "RGBA" and "LA" premultiplied by alpha,
 * "I" (16-bit grey PNG) in 32-bit integers and only then clipped to 0..255, "CMYK" (JPEG) in
 * CMYK and only then converted.
 */
export type SourceMode = "RGB" | "L" | "RGBA" | "LA" | "P" | "1" | "I" | "CMYK";

/** Decoded pixels. Only width, height and data are needed; the optional fields make resizing exact. */
export interface RGBImage {
  width: number;
  height: number;
  /** [H, W, 3] RGB bytes, row-major: what PIL's convert("RGB") gives for the whole image. */
  data: Uint8Array;
  /** Mode of the source (default "RGB"). */
  mode?: SourceMode;
  /** [H, W] alpha for modes RGBA and LA: the reference resizes premultiplied RGBa, then drops alpha. */
  alpha?: Uint8Array;
  /** [H, W] grey values for mode "I" (0..65535), resized before clipping. */
  gray32?: Int32Array;
  /** [H, W, 4] CMYK bytes for mode "CMYK". */
  cmyk?: Uint8Array;
  /** [256 * 3] RGB palette for mode "P": torchvision pads P images with an index (fill 0). */
  palette?: Uint8Array;
}

/** A malformed or unsupported image file; the decoder adds the file name. */
export class ImageFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImageFormatError";
  }
}

/** open_clip's preprocess_cfg as stored in open_clip_config.json (all fields optional). */
export interface OpenClipPreprocessCfg {
  size?: number | [number, number];
  mean?: number[];
  std?: number[];
  interpolation?: string;
  resize_mode?: string;
  fill_color?: number;
}

function triple(v: number[] | undefined, name: string, dflt: [number, number, number]): [number, number, number] {
  if (v === undefined) return [...dflt];
  if (v.length === 1 && typeof v[0] === "number") return [v[0], v[0], v[0]];
  if (v.length !== 3 || v.some((x) => typeof x !== "number" || !Number.isFinite(x))) {
    throw new RangeError(`preprocess_cfg.${name}: expected 3 numbers, got ${JSON.stringify(v)}`);
  }
  return [v[0]!, v[1]!, v[2]!];
}

/** Builds a PreprocessConfig from a checkpoint's preprocess_cfg and the vision tower's image_size. */
export function preprocessConfigFrom(
  cfg: OpenClipPreprocessCfg | undefined | null,
  imageSize: number | [number, number],
): PreprocessConfig {
  const c = cfg ?? {};
  const sizeSrc = c.size ?? imageSize;
  const size = Array.isArray(sizeSrc) ? sizeSrc[0] : sizeSrc;
  if (Array.isArray(sizeSrc) && sizeSrc[0] !== sizeSrc[1]) {
    throw new RangeError(`image size ${JSON.stringify(sizeSrc)}: only square inputs are supported`);
  }
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`image size must be a positive integer, got ${size}`);
  const interpolation = c.interpolation ?? "bicubic";
  if (interpolation !== "bicubic" && interpolation !== "bilinear") {
    throw new RangeError(`preprocess_cfg.interpolation: expected "bicubic" or "bilinear", got "${interpolation}"`);
  }
  const resizeMode = c.resize_mode ?? "shortest";
  if (resizeMode !== "shortest" && resizeMode !== "longest" && resizeMode !== "squash") {
    throw new RangeError(`preprocess_cfg.resize_mode: expected shortest, longest or squash, got "${resizeMode}"`);
  }
  const std = triple(c.std, "std", OPENAI_STD);
  if (std.some((s) => s === 0)) throw new RangeError(`preprocess_cfg.std must not contain 0, got [${std.join(",")}]`);
  return {
    size,
    mean: triple(c.mean, "mean", OPENAI_MEAN),
    std,
    interpolation,
    resizeMode,
    fillColor: c.fill_color ?? 0,
  };
}
/** The image preprocessing a checkpoint's preprocess_cfg asks for. */
export function imageConfig(p: PreprocessCfg): PreprocessConfig {
  if (p.interpolation !== "bicubic" && p.interpolation !== "bilinear") {
    throw new UserError(`preprocess_cfg.interpolation "${p.interpolation}" is not supported (bicubic or bilinear)`);
  }
  return { size: p.size, mean: p.mean, std: p.std, interpolation: p.interpolation, resizeMode: p.resize_mode, fillColor: p.fill_color };
}

