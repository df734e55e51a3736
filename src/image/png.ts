/**
 * @file A PNG decoder without Node (fflate's inflate): all colour types and bit depths, both
 * interlace methods, into RGBImage with the PIL mode the reference opens the file in, as
 * decode.node.ts builds it from sharp (16-bit channels by their high byte, grey 16-bit as mode "I").
 * Used where sharp is absent (the browser); Node keeps sharp.
 */
import { unzlibSync } from "fflate";
import { ImageFormatError, type RGBImage } from "./config.js";
import { checkSize, pngInfo, pngMode } from "./decode.js";

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7 passes: x0, y0, dx, dy. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];

/** Decodes a PNG file's bytes; throws ImageFormatError on a malformed file. */
export function decodePng(b: Uint8Array, maxPixels: number): RGBImage {
  const info = pngInfo(b);
  const { width, height, depth, colorType } = info;
  checkSize(width, height, maxPixels);
  const mode = pngMode(depth, colorType);
  const ch = CHANNELS[colorType]!;
  if (![1, 2, 4, 8, 16].includes(depth)) throw new ImageFormatError(`corrupt PNG (bit depth ${depth})`);
  const interlaced = b[28] === 1;
  const raw = unzlibSync(idat(b));
  // samples [H * W * ch] at full precision (16-bit kept), in raster order
  const n = width * height;
  const samples = new Uint16Array(n * ch);
  let pos = 0;
  const passes = interlaced ? ADAM7 : [[0, 0, 1, 1]];
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const rowBytes = Math.ceil((pw * ch * depth) / 8);
    const bpp = Math.max(1, (ch * depth) >> 3);
    let prev = new Uint8Array(rowBytes);
    for (let r = 0; r < ph; r++) {
      if (pos + 1 + rowBytes > raw.length) throw new ImageFormatError("truncated PNG image data");
      const filter = raw[pos]!;
      const row = raw.slice(pos + 1, pos + 1 + rowBytes);
      pos += 1 + rowBytes;
      unfilter(filter, row, prev, bpp);
      prev = row;
      const y = y0 + r * dy;
      for (let c = 0; c < pw; c++) {
        const x = x0 + c * dx;
        for (let k = 0; k < ch; k++) samples[(y * width + x) * ch + k] = sample(row, c * ch + k, depth);
      }
    }
  }
  const rgb = new Uint8Array(n * 3);
  const byte = (v: number): number => (depth === 16 ? v >> 8 : depth === 8 ? v : Math.round((v * 255) / ((1 << depth) - 1)));
  if (colorType === 3) {
    const pal = info.palette;
    if (!pal) throw new ImageFormatError("corrupt PNG (palette image without PLTE)");
    for (let i = 0; i < n; i++) {
      const p = samples[i]! * 3;
      rgb[i * 3] = pal[p]!;
      rgb[i * 3 + 1] = pal[p + 1]!;
      rgb[i * 3 + 2] = pal[p + 2]!;
    }
    return { width, height, data: rgb, mode, palette: pal };
  }
  if (mode === "I") {
    const gray32 = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = samples[i]!;
      gray32[i] = v;
      rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = v > 255 ? 255 : v; // Pillow's I -> RGB clips
    }
    return { width, height, data: rgb, mode, gray32 };
  }
  const grey = colorType === 0 || colorType === 4;
  const alpha = colorType === 4 || colorType === 6 ? new Uint8Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const s = i * ch;
    if (grey) rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = byte(samples[s]!);
    else {
      rgb[i * 3] = byte(samples[s]!);
      rgb[i * 3 + 1] = byte(samples[s + 1]!);
      rgb[i * 3 + 2] = byte(samples[s + 2]!);
    }
    if (alpha) alpha[i] = byte(samples[s + ch - 1]!);
  }
  return alpha ? { width, height, data: rgb, mode, alpha } : { width, height, data: rgb, mode };
}

/** The concatenated IDAT payloads. */
function idat(b: Uint8Array): Uint8Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let pos = 8; pos + 8 <= b.length; ) {
    const len = dv.getUint32(pos);
    const type = String.fromCharCode(b[pos + 4]!, b[pos + 5]!, b[pos + 6]!, b[pos + 7]!);
    if (pos + 12 + len > b.length) throw new ImageFormatError(`truncated PNG (${type} chunk)`);
    if (type === "IDAT") {
      parts.push(b.subarray(pos + 8, pos + 8 + len));
      total += len;
    }
    if (type === "IEND") break;
    pos += 12 + len;
  }
  if (!parts.length) throw new ImageFormatError("corrupt PNG (no IDAT chunk)");
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Reverses one scanline's filter in place (PNG spec, section 9). */
function unfilter(f: number, row: Uint8Array, prev: Uint8Array, bpp: number): void {
  const n = row.length;
  switch (f) {
    case 0: return;
    case 1: for (let i = bpp; i < n; i++) row[i] = (row[i]! + row[i - bpp]!) & 255; return;
    case 2: for (let i = 0; i < n; i++) row[i] = (row[i]! + prev[i]!) & 255; return;
    case 3: for (let i = 0; i < n; i++) row[i] = (row[i]! + (((i >= bpp ? row[i - bpp]! : 0) + prev[i]!) >> 1)) & 255; return;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? row[i - bpp]! : 0;
        const b = prev[i]!;
        const c = i >= bpp ? prev[i - bpp]! : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        row[i] = (row[i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
      }
      return;
    default: throw new ImageFormatError(`corrupt PNG (filter type ${f})`);
  }
}

/** The i-th sample of a scanline at `depth` bits. */
function sample(row: Uint8Array, i: number, depth: number): number {
  if (depth === 8) return row[i]!;
  if (depth === 16) return (row[2 * i]! << 8) | row[2 * i + 1]!;
  const bit = i * depth;
  return (row[bit >> 3]! >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
}
