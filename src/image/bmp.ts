/**
 * @file BMP decoder (libvips in sharp has none) following Pillow 9's BmpImagePlugin: the same
 * headers, bit depths, bitfield layouts, RLE quirks and the same choice of PIL mode (a grey
 * palette becomes "L" or "1", any other palette "P"). Pure TypeScript, no Node-only API.
 */
import { ImageFormatError, type RGBImage, type SourceMode } from "./config.js";

const RAW = 0, RLE8 = 1, RLE4 = 2, BITFIELDS = 3;

export function isBmp(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d;
}

interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  bits: number;
  compression: number;
  colors: number;
  paletteStart: number;
  palettePadding: number;
  dataOffset: number;
  masks: number[] | null;
}

/** Reads the headers only: size and layout, for the pixel limit check before decoding. */
export function readBmpHeader(b: Uint8Array): BmpHeader {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const need = (n: number) => {
    if (b.length < n) throw new ImageFormatError("truncated BMP header");
  };
  need(18);
  let offset = dv.getUint32(10, true);
  const headerSize = dv.getUint32(14, true);
  need(14 + headerSize);
  let width: number, height: number, bits: number, compression: number, colors = 0, palettePadding: number;
  let topDown = false;
  let masks: number[] | null = null;
  let pos = 14 + headerSize;
  if (headerSize === 12) {
    width = dv.getUint16(18, true);
    height = dv.getUint16(20, true);
    bits = dv.getUint16(24, true);
    compression = RAW;
    palettePadding = 3;
  } else if (headerSize === 40 || headerSize === 64 || headerSize === 108 || headerSize === 124) {
    width = dv.getInt32(18, true);
    const h = dv.getInt32(22, true);
    topDown = b[25] === 0xff; // Pillow tests the top byte of the height
    height = topDown ? -h : h;
    bits = dv.getUint16(28, true);
    compression = dv.getUint32(30, true);
    colors = dv.getUint32(46, true);
    palettePadding = 4;
    if (compression === BITFIELDS) {
      if (headerSize >= 56) {
        masks = [0, 1, 2, 3].map((i) => dv.getUint32(54 + i * 4, true));
      } else {
        need(pos + 12);
        masks = [0, 1, 2].map((i) => dv.getUint32(pos + i * 4, true));
        masks.push(0);
        pos += 12;
      }
    }
  } else {
    throw new ImageFormatError(`unsupported BMP header type (${headerSize})`);
  }
  if (colors === 0) colors = 2 ** bits;
  if (offset === 14 + headerSize && bits <= 8) offset += 4 * colors;
  return { width, height, topDown, bits, compression, colors, paletteStart: pos, palettePadding, dataOffset: offset, masks };
}

const MASK_MODES: { bits: number; masks: number[]; raw: string }[] = [
  { bits: 32, masks: [0xff0000, 0xff00, 0xff, 0x0], raw: "BGRX" },
  { bits: 32, masks: [0xff000000, 0xff0000, 0xff00, 0x0], raw: "XBGR" },
  { bits: 32, masks: [0xff000000, 0xff0000, 0xff00, 0xff], raw: "ABGR" },
  { bits: 32, masks: [0xff, 0xff00, 0xff0000, 0xff000000], raw: "RGBA" },
  { bits: 32, masks: [0xff0000, 0xff00, 0xff, 0xff000000], raw: "BGRA" },
  { bits: 32, masks: [0x0, 0x0, 0x0, 0x0], raw: "BGRA" },
  { bits: 24, masks: [0xff0000, 0xff00, 0xff], raw: "BGR" },
  { bits: 16, masks: [0xf800, 0x7e0, 0x1f], raw: "BGR;16" },
  { bits: 16, masks: [0x7c00, 0x3e0, 0x1f], raw: "BGR;15" },
];

/** Decodes a BMP into RGB (+ alpha, PIL mode) the way Pillow opens it. */
export function decodeBmp(b: Uint8Array, maxPixels = Infinity): RGBImage {
  const h = readBmpHeader(b);
  const { width, height, bits } = h;
  if (width <= 0 || height <= 0) throw new ImageFormatError(`BMP has zero or negative size ${width}x${height}`);
  if (width * height > maxPixels) throw new ImageFormatError(`image is ${width}x${height} = ${width * height} pixels, more than the limit ${maxPixels}`);
  let mode: SourceMode;
  let raw: string;
  switch (bits) {
    case 1: case 4: case 8: mode = "P"; raw = `P;${bits}`; break;
    case 16: mode = "RGB"; raw = "BGR;15"; break;
    case 24: mode = "RGB"; raw = "BGR"; break;
    case 32: mode = "RGB"; raw = "BGRX"; break;
    default: throw new ImageFormatError(`unsupported BMP pixel depth (${bits})`);
  }
  if (h.compression === BITFIELDS) {
    const m = h.masks!;
    const hit = MASK_MODES.find(
      (e) => e.bits === bits && e.masks.every((v, i) => v === (i < 3 || bits === 32 ? m[i] : v)),
    );
    if (!hit) throw new ImageFormatError("unsupported BMP bitfields layout");
    raw = hit.raw;
    if (raw.includes("A")) mode = "RGBA";
  } else if (h.compression !== RAW && h.compression !== RLE8 && h.compression !== RLE4) {
    throw new ImageFormatError(`unsupported BMP compression (${h.compression})`);
  }

  let palette: Uint8Array | undefined;
  if (mode === "P") {
    if (!(h.colors > 0 && h.colors <= 65536)) throw new ImageFormatError(`unsupported BMP palette size (${h.colors})`);
    const pad = h.palettePadding;
    const p = b.subarray(h.paletteStart, h.paletteStart + pad * h.colors);
    const indices = h.colors === 2 ? [0, 255] : Array.from({ length: h.colors }, (_, i) => i);
    let grey = true;
    for (let i = 0; i < indices.length; i++) {
      const v = indices[i]!;
      // Pillow compares byte strings: a short palette is not grey
      if (i * pad + 3 > p.length || p[i * pad] !== v || p[i * pad + 1] !== v || p[i * pad + 2] !== v) grey = false;
    }
    if (grey) {
      mode = h.colors === 2 ? "1" : "L";
    } else {
      palette = new Uint8Array(768);
      for (let i = 0; i < 256; i++) palette[i * 3] = palette[i * 3 + 1] = palette[i * 3 + 2] = i;
      for (let i = 0; i < Math.min(256, Math.floor(p.length / pad)); i++) {
        palette[i * 3] = p[i * pad + 2]!; // stored B, G, R
        palette[i * 3 + 1] = p[i * pad + 1]!;
        palette[i * 3 + 2] = p[i * pad]!;
      }
    }
  }

  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  const alpha = mode === "RGBA" ? new Uint8Array(n) : undefined;
  // row y of the image is stored at file row (topDown ? y : height - 1 - y)
  const rowOf = (y: number) => (h.topDown ? y : height - 1 - y);

  if (h.compression === RLE8 || h.compression === RLE4) {
    const idx = decodeRle(b, h.dataOffset, width, height, h.compression === RLE4);
    for (let y = 0; y < height; y++) {
      const s = rowOf(y) * width;
      for (let x = 0; x < width; x++) putIndex(rgb, (y * width + x) * 3, idx[s + x]!, mode, palette);
    }
  } else {
    const stride = ((width * bits + 31) >> 3) & ~3;
    if (h.dataOffset + stride * (height - 1) + Math.ceil((width * bits) / 8) > b.length) {
      throw new ImageFormatError("image file is truncated");
    }
    for (let y = 0; y < height; y++) {
      const r = h.dataOffset + rowOf(y) * stride;
      const o = y * width;
      if (bits <= 8) {
        const perByte = 8 / bits;
        const mask = (1 << bits) - 1;
        for (let x = 0; x < width; x++) {
          const byte = b[r + Math.floor(x / perByte)]!;
          const v = (byte >> (8 - bits * ((x % perByte) + 1))) & mask; // MSB first
          putIndex(rgb, (o + x) * 3, v, mode, palette);
        }
      } else {
        unpackRow(b, r, width, raw, rgb, o * 3, alpha, o);
      }
    }
  }
  return { width, height, data: rgb, mode, alpha, palette };
}

function putIndex(rgb: Uint8Array, p: number, v: number, mode: SourceMode, palette: Uint8Array | undefined): void {
  if (mode === "P") {
    const i = v & 255;
    rgb[p] = palette![i * 3]!;
    rgb[p + 1] = palette![i * 3 + 1]!;
    rgb[p + 2] = palette![i * 3 + 2]!;
  } else {
    const g = mode === "1" ? (v ? 255 : 0) : v;
    rgb[p] = rgb[p + 1] = rgb[p + 2] = g;
  }
}

/** Pillow's Unpack.c for the raw modes BMP uses (5-bit fields scale with integer * 255 / 31). */
function unpackRow(b: Uint8Array, r: number, width: number, raw: string, rgb: Uint8Array, o: number, alpha: Uint8Array | undefined, ao: number): void {
  for (let x = 0; x < width; x++, o += 3) {
    switch (raw) {
      case "BGR;15": {
        const px = b[r + x * 2]! | (b[r + x * 2 + 1]! << 8);
        rgb[o + 2] = (((px & 31) * 255) / 31) | 0;
        rgb[o + 1] = ((((px >> 5) & 31) * 255) / 31) | 0;
        rgb[o] = ((((px >> 10) & 31) * 255) / 31) | 0;
        break;
      }
      case "BGR;16": {
        const px = b[r + x * 2]! | (b[r + x * 2 + 1]! << 8);
        rgb[o + 2] = (((px & 31) * 255) / 31) | 0;
        rgb[o + 1] = ((((px >> 5) & 63) * 255) / 63) | 0;
        rgb[o] = ((((px >> 11) & 31) * 255) / 31) | 0;
        break;
      }
      case "BGR": {
        const p = r + x * 3;
        rgb[o] = b[p + 2]!; rgb[o + 1] = b[p + 1]!; rgb[o + 2] = b[p]!;
        break;
      }
      default: {
        // 32-bit layouts: byte positions of R, G, B, A within the pixel
        const p = r + x * 4;
        const [ri, gi, bi, ai] = LAYOUT32[raw]!;
        rgb[o] = b[p + ri]!; rgb[o + 1] = b[p + gi]!; rgb[o + 2] = b[p + bi]!;
        if (alpha && ai >= 0) alpha[ao + x] = b[p + ai]!;
      }
    }
  }
}

const LAYOUT32: Record<string, [number, number, number, number]> = {
  BGRX: [2, 1, 0, -1],
  XBGR: [3, 2, 1, -1],
  ABGR: [3, 2, 1, 0],
  RGBA: [0, 1, 2, 3],
  BGRA: [2, 1, 0, 3],
};

/** Pillow's BmpRleDecoder, quirks included (odd RLE4 absolute runs lose their last pixel). */
function decodeRle(b: Uint8Array, start: number, width: number, height: number, rle4: boolean): Uint8Array {
  const total = width * height;
  const data = new Uint8Array(total);
  let len = 0;
  let x = 0;
  let pos = start;
  const push = (v: number) => {
    if (len < total) data[len] = v;
    len++;
  };
  while (len < total) {
    if (pos + 2 > b.length) break;
    let count = b[pos]!;
    const byte = b[pos + 1]!;
    pos += 2;
    if (count) {
      if (x + count > width) count = Math.max(0, width - x);
      for (let i = 0; i < count; i++) push(rle4 ? (i % 2 === 0 ? byte >> 4 : byte & 15) : byte);
      x += count;
    } else if (byte === 0) {
      while (len % width !== 0) push(0);
      x = 0;
    } else if (byte === 1) {
      break;
    } else if (byte === 2) {
      if (pos + 2 > b.length) break;
      // Pillow reads two bytes, then the deltas from the two after them
      pos += 2;
      const right = b[pos]!, up = b[pos + 1]!;
      pos += 2;
      for (let i = 0; i < right + up * width; i++) push(0);
      x = len % width;
    } else {
      const byteCount = rle4 ? byte >> 1 : byte;
      const avail = Math.min(byteCount, Math.max(0, b.length - pos));
      for (let i = 0; i < avail; i++) {
        const v = b[pos + i]!;
        if (rle4) {
          push(v >> 4);
          push(v & 15);
        } else push(v);
      }
      pos += avail;
      if (avail < byteCount) break;
      x += byte;
      if (pos % 2 !== 0) pos += 1;
    }
  }
  if (len < total) throw new ImageFormatError("not enough image data (truncated BMP run-length data)");
  return data;
}
