/**
 * @file GIF first-frame decoder following Pillow 9's GifImagePlugin: the canvas is the logical
 * screen (grown to fit the frame), pre-filled with the transparent index (else index 0), and the
 * image stays palette-based ("P", resized nearest) unless its palette is the identity grey ramp
 * ("L"). libvips composites transparency to black instead, hence our own LZW decoder.
 * Pure TypeScript, no Node-only API.
 */
import { ImageFormatError, type RGBImage, type SourceMode } from "./config.js";

export function isGif(b: Uint8Array): boolean {
  return b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38;
}

/** Logical screen size from the header, for the pixel limit check before decoding. */
export function gifSize(b: Uint8Array): [number, number] {
  if (b.length < 13) throw new ImageFormatError("truncated GIF header");
  return [b[6]! | (b[7]! << 8), b[8]! | (b[9]! << 8)];
}

/** Pillow drops a palette that is exactly (i, i, i) for every entry i. */
function paletteNeeded(p: Uint8Array): boolean {
  for (let i = 0; i + 2 < p.length; i += 3) {
    const k = i / 3;
    if (!(p[i] === k && p[i + 1] === k && p[i + 2] === k)) return true;
  }
  return false;
}

export function decodeGif(b: Uint8Array, maxPixels = Infinity): RGBImage {
  let [width, height] = gifSize(b);
  const flags = b[10]!;
  let pos = 13;
  let globalPalette: Uint8Array | null = null;
  if (flags & 0x80) {
    const n = 3 << ((flags & 7) + 1);
    if (pos + n > b.length) throw new ImageFormatError("truncated GIF palette");
    const p = b.subarray(pos, pos + n);
    if (paletteNeeded(p)) globalPalette = p;
    pos += n;
  }
  let transparency: number | null = null;
  const need = (n: number) => {
    if (pos + n > b.length) throw new ImageFormatError("image file is truncated");
  };
  for (;;) {
    need(1);
    const tag = b[pos++]!;
    if (tag === 0x21) {
      need(1);
      const label = b[pos++]!;
      // sub-blocks until a zero-length one
      for (;;) {
        need(1);
        const len = b[pos++]!;
        if (len === 0) break;
        need(len);
        if (label === 0xf9 && len >= 4 && b[pos]! & 1) transparency = b[pos + 3]!;
        pos += len;
      }
    } else if (tag === 0x2c) {
      need(9);
      const x0 = b[pos]! | (b[pos + 1]! << 8);
      const y0 = b[pos + 2]! | (b[pos + 3]! << 8);
      const fw = b[pos + 4]! | (b[pos + 5]! << 8);
      const fh = b[pos + 6]! | (b[pos + 7]! << 8);
      const iflags = b[pos + 8]!;
      pos += 9;
      let palette = globalPalette;
      if (iflags & 0x80) {
        const n = 3 << ((iflags & 7) + 1);
        need(n);
        const p = b.subarray(pos, pos + n);
        palette = paletteNeeded(p) ? p : null;
        pos += n;
      }
      width = Math.max(width, x0 + fw);
      height = Math.max(height, y0 + fh);
      if (width <= 0 || height <= 0) throw new ImageFormatError(`GIF has zero size ${width}x${height}`);
      if (width * height > maxPixels) {
        throw new ImageFormatError(`image is ${width}x${height} = ${width * height} pixels, more than the limit ${maxPixels}`);
      }
      need(1);
      const minCode = b[pos++]!;
      const [frame, got] = lzw(b, pos, minCode, fw * fh);
      const idx = new Uint8Array(width * height).fill(transparency ?? 0);
      const interlace = (iflags & 0x40) !== 0;
      const rows = interlace ? interlacedRows(fh) : null;
      // a stream that ends early (end code) leaves the rest of the canvas as it was
      for (let r = 0; r < fh && r * fw < got; r++) {
        const y = y0 + (rows ? rows[r]! : r);
        const k = Math.min(fw, got - r * fw);
        idx.set(frame.subarray(r * fw, r * fw + k), y * width + x0);
      }
      return toRGB(idx, width, height, palette);
    } else if (tag === 0x3b) {
      throw new ImageFormatError("GIF has no image");
    } else {
      throw new ImageFormatError(`corrupt GIF block 0x${tag.toString(16)}`);
    }
  }
}

function toRGB(idx: Uint8Array, width: number, height: number, palette: Uint8Array | null): RGBImage {
  const mode: SourceMode = palette ? "P" : "L";
  // Pillow's palettes start as the grey ramp; the file's entries overwrite the first ones
  const pal = new Uint8Array(768);
  for (let i = 0; i < 256; i++) pal[i * 3] = pal[i * 3 + 1] = pal[i * 3 + 2] = i;
  if (palette) pal.set(palette.subarray(0, Math.min(768, palette.length)));
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < idx.length; i++) {
    const k = idx[i]! * 3;
    rgb[i * 3] = pal[k]!;
    rgb[i * 3 + 1] = pal[k + 1]!;
    rgb[i * 3 + 2] = pal[k + 2]!;
  }
  return { width, height, data: rgb, mode, palette: mode === "P" ? pal : undefined };
}

/** Row order of an interlaced frame: passes start 0, 4, 2, 1 with steps 8, 8, 4, 2. */
function interlacedRows(h: number): Int32Array {
  const rows = new Int32Array(h);
  let i = 0;
  for (const [start, step] of [[0, 8], [4, 8], [2, 4], [1, 2]] as const) {
    for (let y = start; y < h; y += step) rows[i++] = y;
  }
  return rows;
}

/** LZW decode of the frame's sub-blocks into at most `count` indices; returns them and how many. */
function lzw(b: Uint8Array, start: number, minCode: number, count: number): [Uint8Array, number] {
  if (minCode < 1 || minCode > 11) throw new ImageFormatError(`corrupt GIF (LZW code size ${minCode})`);
  const out = new Uint8Array(count);
  const clear = 1 << minCode;
  const eoi = clear + 1;
  const prefix = new Int16Array(4096);
  const suffix = new Uint8Array(4096);
  const firstOf = new Uint8Array(4096);
  const stack = new Uint8Array(4097);
  for (let i = 0; i < clear; i++) {
    suffix[i] = i;
    firstOf[i] = i;
    prefix[i] = -1;
  }
  let codeSize = minCode + 1;
  let next = eoi + 1;
  let prev = -1;
  let bits = 0, acc = 0, n = 0;
  let pos = start;
  let blockLeft = 0;
  let ended = false;
  while (n < count) {
    while (bits < codeSize) {
      if (blockLeft === 0) {
        if (pos >= b.length) throw new ImageFormatError("image file is truncated");
        blockLeft = b[pos++]!;
        if (blockLeft === 0) {
          ended = true;
          break;
        }
      }
      if (pos >= b.length) throw new ImageFormatError("image file is truncated");
      acc |= b[pos++]! << bits;
      bits += 8;
      blockLeft--;
    }
    if (ended) break;
    const code = acc & ((1 << codeSize) - 1);
    acc >>>= codeSize;
    bits -= codeSize;
    if (code === clear) {
      codeSize = minCode + 1;
      next = eoi + 1;
      prev = -1;
      continue;
    }
    if (code === eoi) break;
    let sp = 0;
    let c: number;
    if (prev === -1) {
      if (code >= clear) throw new ImageFormatError("corrupt GIF data");
      out[n++] = code;
      prev = code;
      continue;
    }
    if (code < next) {
      c = code;
    } else if (code === next) {
      stack[sp++] = firstOf[prev]!;
      c = prev;
    } else {
      throw new ImageFormatError("corrupt GIF data");
    }
    while (c >= 0 && sp < stack.length) {
      stack[sp++] = suffix[c]!;
      c = c < clear ? -1 : prefix[c]!;
    }
    while (sp > 0 && n < count) out[n++] = stack[--sp]!;
    if (next < 4096) {
      prefix[next] = prev;
      suffix[next] = firstOf[code < next ? code : prev]!;
      firstOf[next] = firstOf[prev]!;
      next++;
      if (next === 1 << codeSize && codeSize < 12) codeSize++;
    }
    prev = code;
  }
  return [out, n];
}
