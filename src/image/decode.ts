/**
 * @file Node image decoding: files or bytes -> RGBImage with the PIL mode the reference would
 * open them in. sharp (libvips) decodes JPEG, PNG, WebP, TIFF, AVIF/HEIF; our own decoders do
 * BMP (libvips has none) and GIF (libvips composites transparency). Every failure is a
 * UserError that names the file.
 */
import { readFile } from "node:fs/promises";
import sharp from "sharp";
import { UserError } from "../errors.js";
import { ImageFormatError, type RGBImage, type SourceMode } from "./config.js";
import { decodeBmp, isBmp, readBmpHeader } from "./bmp.js";
import { cmykToRGB } from "./resample.js";
import { decodeJpeg } from "./jpeg.js";
import { decodeGif, gifSize, isGif } from "./gif.js";

/** Pillow's MAX_IMAGE_PIXELS (it warns above, refuses above twice that): 89,478,485 pixels. */
export const DEFAULT_MAX_PIXELS = 89_478_485;

export interface DecodeOptions {
  /** Name used in error messages (defaults to the path, or "<bytes>"). */
  name?: string;
  /** Apply EXIF orientation (the reference does not; default false). */
  applyExif?: boolean;
  /** Refuse images with more pixels than this (default DEFAULT_MAX_PIXELS). */
  maxPixels?: number;
}

export type ImageFormat = "jpeg" | "png" | "gif" | "bmp" | "webp" | "tiff" | "heif";

/** Identifies the format from the first bytes; null when it is none we read. */
export function sniffFormat(b: Uint8Array): ImageFormat | null {
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "png";
  if (isGif(b)) return "gif";
  if (isBmp(b)) return "bmp";
  if (b.length >= 12 && ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 4) === "WEBP") return "webp";
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a))) {
    return "tiff";
  }
  if (b.length >= 12 && ascii(b, 4, 4) === "ftyp") {
    const brand = ascii(b, 8, 4);
    if (["avif", "avis", "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"].includes(brand)) return "heif";
  }
  return null;
}

function ascii(b: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...b.subarray(at, at + n));
}

interface PngInfo {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  palette?: Uint8Array;
}

/** IHDR and PLTE of a PNG (chunk headers only are walked, up to the first IDAT). */
function pngInfo(b: Uint8Array): PngInfo {
  if (b.length < 33) throw new ImageFormatError("truncated PNG header");
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const info: PngInfo = { width: dv.getUint32(16), height: dv.getUint32(20), depth: b[24]!, colorType: b[25]! };
  let pos = 33;
  while (pos + 8 <= b.length) {
    const len = dv.getUint32(pos);
    const type = ascii(b, pos + 4, 4);
    if (type === "IDAT" || type === "IEND") break;
    if (type === "PLTE" && pos + 8 + len <= b.length) {
      const pal = new Uint8Array(768);
      for (let i = 0; i < 256; i++) pal[i * 3] = pal[i * 3 + 1] = pal[i * 3 + 2] = i;
      pal.set(b.subarray(pos + 8, pos + 8 + Math.min(len, 768)));
      info.palette = pal;
    }
    pos += 12 + len;
  }
  return info;
}

/** Pillow 9's PngImagePlugin modes by (bit depth, colour type). */
function pngMode(depth: number, colorType: number): SourceMode {
  switch (colorType) {
    case 0: return depth === 1 ? "1" : depth === 16 ? "I" : "L";
    case 2: return "RGB";
    case 3: return "P";
    case 4: return depth === 16 ? "RGBA" : "LA"; // 16-bit grey+alpha opens as RGBA in Pillow 9
    case 6: return "RGBA";
    default: throw new ImageFormatError(`corrupt PNG (colour type ${colorType})`);
  }
}

export interface JpegInfo {
  width: number;
  height: number;
  components: number;
}

/** Frame header (SOFn) of a JPEG: size and number of components. */
export function jpegInfo(b: Uint8Array): JpegInfo {
  let pos = 2;
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) {
      pos++;
      continue;
    }
    const m = b[pos + 1]!;
    if (m === 0xff) {
      pos++;
      continue;
    }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      pos += 2;
      continue;
    }
    const len = (b[pos + 2]! << 8) | b[pos + 3]!;
    const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (isSof) {
      if (pos + 10 > b.length) break;
      return { height: (b[pos + 5]! << 8) | b[pos + 6]!, width: (b[pos + 7]! << 8) | b[pos + 8]!, components: b[pos + 9]! };
    }
    if (m === 0xda || m === 0xd9) break;
    pos += 2 + len;
  }
  throw new ImageFormatError("corrupt JPEG (no frame header)");
}

function checkSize(width: number, height: number, maxPixels: number): void {
  if (!(width > 0 && height > 0)) throw new ImageFormatError(`zero-size image (${width}x${height})`);
  if (width * height > maxPixels) {
    throw new ImageFormatError(
      `image is ${width}x${height} = ${width * height} pixels, more than the limit of ${maxPixels} (maxPixels)`,
    );
  }
}

/** Reads a file for decoding; a missing or unreadable file is a UserError naming it. */
export async function readImageFile(path: string, name = path): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${name}: cannot read image file (${code ?? (e as Error).message})`);
  }
}

function asUserError(name: string, e: unknown): Error {
  if (e instanceof UserError) return e;
  if (e instanceof ImageFormatError || (e instanceof Error && !(e instanceof RangeError) && !(e instanceof TypeError))) {
    const msg = e.message.split("\n")[0]!.trim();
    return new UserError(`${name}: cannot decode image: ${msg}`);
  }
  return e instanceof Error ? e : new Error(String(e));
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

/**
 * Decodes without leaving the thread when our own decoders cover the file (baseline and
 * progressive JPEG, BMP, GIF); null when it needs sharp. `alloc` may supply the RGB buffer of a
 * JPEG (W * H * 3 bytes). Errors are UserErrors naming `opts.name`.
 */
export function decodeImageSync(bytes: Uint8Array, opts: DecodeOptions = {}, alloc?: (bytes: number) => Uint8Array): RGBImage | null {
  try {
    return decodeSync(bytes, opts, alloc);
  } catch (e) {
    throw asUserError(opts.name ?? "<bytes>", e);
  }
}

const SUPPORTED = "JPEG, PNG, GIF, BMP, WebP, TIFF or AVIF/HEIF";

function decodeSync(b: Uint8Array, opts: DecodeOptions, alloc?: (bytes: number) => Uint8Array): RGBImage | null {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (b.length === 0) throw new ImageFormatError(`empty file (0 bytes), expected ${SUPPORTED}`);
  const format = sniffFormat(b);
  if (!format) throw new ImageFormatError(`unsupported or unrecognised format, expected ${SUPPORTED}`);
  switch (format) {
    case "bmp": {
      const h = readBmpHeader(b);
      checkSize(h.width, Math.abs(h.height), maxPixels);
      return decodeBmp(b, maxPixels);
    }
    case "gif": {
      const [w, h] = gifSize(b);
      checkSize(w, h, maxPixels);
      return decodeGif(b, maxPixels);
    }
    case "jpeg": {
      const info = jpegInfo(b);
      checkSize(info.width, info.height, maxPixels);
      if (info.components === 4 || opts.applyExif) return null;
      // exact with libjpeg-turbo and far cheaper than a libvips call
      return decodeJpeg(b, maxPixels, alloc?.(info.width * info.height * 3));
    }
    default:
      return null;
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

function sharpInput(b: Uint8Array, opts: DecodeOptions, maxPixels: number): ReturnType<typeof sharp> {
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
  const { data, info } = await sharpInput(b, opts, maxPixels).raw().toBuffer({ resolveWithObject: true });
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
  const { data, info } = await sharpInput(b, opts, maxPixels)
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
  const { data, info } = await sharpInput(b, opts, maxPixels)
    .pipelineColourspace("cmyk")
    .toColourspace("cmyk")
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { width, height, channels } = info;
  if (channels !== 4) throw new ImageFormatError(`expected 4 CMYK channels, decoder gave ${channels}`);
  const cmyk = new Uint8Array(data.buffer, data.byteOffset, width * height * 4);
  return { width, height, data: cmykToRGB(cmyk, width * height), mode: "CMYK", cmyk };
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
    if (b.length === 0) throw new ImageFormatError(`empty file (0 bytes), expected ${SUPPORTED}`);
    const format = sniffFormat(b);
    if (!format) throw new ImageFormatError(`unsupported or unrecognised format, expected ${SUPPORTED}`);
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
