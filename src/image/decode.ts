/**
 * @file Image decoding without Node: format sniffing, header checks (size limits before any pixel
 * is decoded) and our own decoders (baseline and progressive JPEG, BMP, GIF) -> RGBImage with the
 * PIL mode the reference would open the file in. Formats they do not cover come back as null
 * for decode.node.ts (sharp). Every failure is a UserError that names the input.
 */
import { UserError } from "../errors.js";
import { ImageFormatError, type RGBImage, type SourceMode } from "./config.js";
import { decodeBmp, isBmp, readBmpHeader } from "./bmp.js";
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
export function pngInfo(b: Uint8Array): PngInfo {
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
export function pngMode(depth: number, colorType: number): SourceMode {
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

export function checkSize(width: number, height: number, maxPixels: number): void {
  if (!(width > 0 && height > 0)) throw new ImageFormatError(`zero-size image (${width}x${height})`);
  if (width * height > maxPixels) {
    throw new ImageFormatError(
      `image is ${width}x${height} = ${width * height} pixels, more than the limit of ${maxPixels} (maxPixels)`,
    );
  }
}

export function asUserError(name: string, e: unknown): Error {
  if (e instanceof UserError) return e;
  if (e instanceof ImageFormatError || (e instanceof Error && !(e instanceof RangeError) && !(e instanceof TypeError))) {
    const msg = e.message.split("\n")[0]!.trim();
    return new UserError(`${name}: cannot decode image: ${msg}`);
  }
  return e instanceof Error ? e : new Error(String(e));
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

export function decodeSync(b: Uint8Array, opts: DecodeOptions, alloc?: (bytes: number) => Uint8Array): RGBImage | null {
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
