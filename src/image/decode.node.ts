/**
 * @file Node image decoding: files, and the formats our own decoders do not cover, through sharp
 * (libvips: PNG, WebP, TIFF, AVIF/HEIF, CMYK JPEG), with the PIL mode the reference would open
 * them in. Every failure is a UserError that names the file. Node only.
 */
import { readFile } from "node:fs/promises";
import type Sharp from "sharp";
import { UserError } from "../errors.js";
import { ImageFormatError, type PreprocessConfig, type RGBImage, type SourceMode } from "./config.js";
import { DEFAULT_MAX_PIXELS, asUserError, checkSize, decodeSync, jpegInfo, pngInfo, pngMode, sniffFormat, type DecodeOptions, type ImageFormat } from "./decode.js";
import { readBmpHeader } from "./bmp.js";
import { gifSize } from "./gif.js";
import { cmykToRGB } from "./resample.js";
import { preprocessRGB } from "./transform.js";

/** Reads a file for decoding; a missing or unreadable file is a UserError naming it. */
export async function readImageFile(path: string, name = path): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${name}: cannot read image file (${code ?? (e as Error).message})`);
  }
}

/** Reads and decodes an image file or its bytes into RGB with the reference's PIL mode. */
export async function decodeImage(input: string | Uint8Array, opts: DecodeOptions = {}): Promise<RGBImage> {
  const name = opts.name ?? (typeof input === "string" ? input : "<bytes>");
  const bytes = typeof input === "string" ? await readImageFile(input, name) : input;
  try {
    return decodeSync(bytes, opts) ?? (await decodeWithSharp(bytes, opts));
  } catch (e) {
    throw asUserError(name, e);
  }
}

async function decodeWithSharp(b: Uint8Array, opts: DecodeOptions): Promise<RGBImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  switch (sniffFormat(b)) {
    case "png": {
      const info = pngInfo(b);
      checkSize(info.width, info.height, maxPixels);
      const mode = pngMode(info.depth, info.colorType);
      if (mode === "I") return decodeGray16(b, opts, maxPixels);
      const img = await decodeSharp(b, opts, maxPixels, mode);
      if (mode === "P" && info.palette) img.palette = info.palette;
      return img;
    }
    case "jpeg": {
      const info = jpegInfo(b);
      checkSize(info.width, info.height, maxPixels);
      if (info.components === 4) return decodeCmyk(b, opts, maxPixels);
      return decodeSharp(b, opts, maxPixels, info.components === 1 ? "L" : "RGB");
    }
    default:
      return decodeSharp(b, opts, maxPixels, null);
  }
}

/** sharp (libvips), loaded on the first file our own decoders do not cover. */
let sharp: typeof Sharp;

async function sharpInput(b: Uint8Array, opts: DecodeOptions, maxPixels: number): Promise<ReturnType<typeof Sharp>> {
  sharp ??= (await import("sharp")).default;
  return sharp(b, {
    ignoreIcc: true, // PIL ignores embedded profiles
    autoOrient: opts.applyExif === true,
    failOn: "truncated", // like PIL: refuse truncated data, tolerate libjpeg warnings
    limitInputPixels: Number.isFinite(maxPixels) ? Math.max(1, Math.floor(maxPixels)) : false,
    sequentialRead: true,
  });
}

/**
 * sharp decode to 8-bit RGB(A). sharp converts 16-bit channels by their high byte, as Pillow's
 * ";16B" unpackers do. `mode` null: take it from the channel count (WebP, TIFF, HEIF).
 */
async function decodeSharp(b: Uint8Array, opts: DecodeOptions, maxPixels: number, mode: SourceMode | null): Promise<RGBImage> {
  const { data, info } = await (await sharpInput(b, opts, maxPixels)).raw().toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  checkSize(width, height, maxPixels);
  const n = width * height;
  const m: SourceMode = mode ?? (channels === 4 ? "RGBA" : channels === 2 ? "LA" : channels === 1 ? "L" : "RGB");
  if (channels === 3) return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, n * 3), mode: m };
  // alpha is kept only where the reference resizes with it (modes RGBA, LA)
  const hasAlpha = (channels === 4 || channels === 2) && (m === "RGBA" || m === "LA");
  const rgb = new Uint8Array(n * 3);
  const alpha = hasAlpha ? new Uint8Array(n) : undefined;
  if (channels === 4) {
    for (let i = 0, p = 0, q = 0; i < n; i++, p += 3, q += 4) {
      rgb[p] = data[q]!;
      rgb[p + 1] = data[q + 1]!;
      rgb[p + 2] = data[q + 2]!;
      if (alpha) alpha[i] = data[q + 3]!;
    }
  } else if (channels === 2 || channels === 1) {
    for (let i = 0, q = 0; i < n; i++, q += channels) {
      rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = data[q]!;
      if (alpha) alpha[i] = data[q + 1]!;
    }
  } else {
    throw new ImageFormatError(`unexpected ${channels}-channel output from the decoder`);
  }
  if ((m === "RGBA" || m === "LA") && !alpha) return { width, height, data: rgb, mode: m === "RGBA" ? "RGB" : "L" };
  return { width, height, data: rgb, mode: m, alpha };
}

/** 16-bit grey PNG: Pillow opens it as mode "I" and resizes the 16-bit values. */
async function decodeGray16(b: Uint8Array, opts: DecodeOptions, maxPixels: number): Promise<RGBImage> {
  const { data, info } = await (await sharpInput(b, opts, maxPixels))
    .toColourspace("grey16")
    .raw({ depth: "ushort" })
    .toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  const n = width * height;
  const u16 = new Uint16Array(data.buffer, data.byteOffset, data.length >> 1);
  const gray32 = new Int32Array(n);
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const v = u16[i * channels]!;
    gray32[i] = v;
    rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = v > 255 ? 255 : v; // Pillow's I -> RGB clips
  }
  return { width, height, data: rgb, mode: "I", gray32 };
}

/**
 * CMYK JPEG: Pillow keeps CMYK (Adobe inversion undone by the decoder), resizes it, then converts
 * with its naive formula, no colour management. We keep the raw CMYK and convert the same way.
 */
async function decodeCmyk(b: Uint8Array, opts: DecodeOptions, maxPixels: number): Promise<RGBImage> {
  const { data, info } = await (await sharpInput(b, opts, maxPixels))
    .pipelineColourspace("cmyk")
    .toColourspace("cmyk")
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  if (channels !== 4) throw new ImageFormatError(`expected 4 CMYK channels, decoder gave ${channels}`);
  const cmyk = new Uint8Array(data.buffer, data.byteOffset, width * height * 4);
  return { width, height, data: cmykToRGB(cmyk, width * height), mode: "CMYK", cmyk };
}

/** Decodes `input` (path or bytes) and returns its [3, N, N] tensor, as clip's preprocess would. */
export async function preprocessImage(
  input: string | Uint8Array,
  cfg: PreprocessConfig,
  opts: DecodeOptions = {},
): Promise<Float32Array> {
  return preprocessRGB(await decodeImage(input, opts), cfg);
}

/** What an image's headers say, read without decoding any pixels. */
export interface ImageProbe {
  format: ImageFormat;
  width: number;
  height: number;
}

/**
 * Reads format and size from the headers only (our header readers; libvips' header parse for
 * WebP, TIFF and HEIF), so a caller can refuse a decompression bomb before anything is decoded.
 * Unrecognised or corrupt headers are UserErrors naming `name`.
 */
export async function probeImage(b: Uint8Array, name = "<bytes>"): Promise<ImageProbe> {
  try {
    if (b.length === 0) throw new ImageFormatError("empty file (0 bytes)");
    const format = sniffFormat(b);
    if (!format) throw new ImageFormatError("unsupported or unrecognised format, expected JPEG, PNG, GIF, BMP, WebP, TIFF or AVIF/HEIF");
    let width: number, height: number;
    switch (format) {
      case "bmp": {
        const h = readBmpHeader(b);
        [width, height] = [h.width, Math.abs(h.height)];
        break;
      }
      case "gif":
        [width, height] = gifSize(b);
        break;
      case "jpeg":
        ({ width, height } = jpegInfo(b));
        break;
      case "png":
        ({ width, height } = pngInfo(b));
        break;
      default: {
        sharp ??= (await import("sharp")).default;
        const m = await sharp(b, { limitInputPixels: false }).metadata();
        [width, height] = [m.width ?? 0, m.height ?? 0];
      }
    }
    checkSize(width, height, Infinity);
    return { format, width, height };
  } catch (e) {
    throw asUserError(name, e);
  }
}
