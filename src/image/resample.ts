/**
 * @file Resampling exactly as Pillow does it (libImaging/Resample.c and the nearest-neighbour
 * path of Geometry.c): same filter windows, same fixed-point coefficients, same clipping, same
 * pass order. Pure TypeScript on typed arrays, no Node-only API.
 *
 * Every function computes only a window of the output. Each output pixel of Pillow's separable
 * passes depends only on its own coefficients, so a window (the center crop) is bit-identical to
 * the same pixels of the full resize, at a fraction of the work.
 */

import { scratchI32, scratchU8 } from "./scratch.js";

export type Filter = "bicubic" | "bilinear";

/** Pillow's bicubic convolution kernel with a = -0.5, support 2. */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

/** Pillow's triangle kernel, support 1. */
function bilinear(x: number): number {
  if (x < 0.0) x = -x;
  if (x < 1.0) return 1.0 - x;
  return 0.0;
}

const FILTERS: { [F in Filter]: { fn: (x: number) => number; support: number } } = {
  bicubic: { fn: bicubic, support: 2.0 },
  bilinear: { fn: bilinear, support: 1.0 },
};

/** Coefficients of one resampling pass: for output i, `count` weights starting at input `start`. */
export interface Coeffs {
  /** Maximum number of taps per output sample (row length of kk). */
  ksize: number;
  /** [outSize * 2]: start (first input index), count (number of taps). */
  bounds: Int32Array;
  /** [outSize * ksize] normalized double weights; unused taps are 0. */
  kk: Float64Array;
}

/**
 * precompute_coeffs from Resample.c. The source box [in0, in1) is float32 in Pillow, so it is
 * rounded through Math.fround; the rest is double arithmetic in the same order as the C code.
 */
export function precomputeCoeffs(inSize: number, in0: number, in1: number, outSize: number, filter: Filter): Coeffs {
  const f = FILTERS[filter];
  const b0 = Math.fround(in0);
  const b1 = Math.fround(in1);
  const scale = Math.fround(b1 - b0) / outSize;
  const filterscale = scale < 1.0 ? 1.0 : scale;
  const support = f.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Float64Array(outSize * ksize);
  const ss = 1.0 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = b0 + (xx + 0.5) * scale;
    let ww = 0.0;
    // (int) casts truncate toward zero
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    const base = xx * ksize;
    for (let x = 0; x < xmax; x++) {
      const w = f.fn((x + xmin - center + 0.5) * ss);
      kk[base + x] = w;
      ww += w;
    }
    if (ww !== 0.0) for (let x = 0; x < xmax; x++) kk[base + x] /= ww;
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

/** PRECISION_BITS = 32 - 8 - 2: weights are 22-bit fixed point for 8-bit images. */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/** normalize_coeffs_8bpc: round half away from zero to 22-bit fixed point. */
export function fixedCoeffs(kk: Float64Array): Int32Array {
  const out = new Int32Array(kk.length);
  for (let i = 0; i < kk.length; i++) {
    const v = kk[i]!;
    out[i] = v < 0 ? Math.trunc(-0.5 + v * ONE) : Math.trunc(0.5 + v * ONE);
  }
  return out;
}

/**
 * A rectangular view into an interleaved 8-bit image: `channels` bytes per pixel, `stride` bytes
 * per row, the view's top-left pixel at (x0, y0) of the buffer.
 */
export interface View8 {
  data: Uint8Array;
  stride: number;
  channels: number;
  x0: number;
  y0: number;
  width: number;
  height: number;
}

/** Output window [x0, x1) x [y0, y1) of an outW x outH resize. */
export interface Window {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * Pillow's ImagingResample for 8-bit images (modes L, RGB, RGBA, RGBa, LA, La all go through
 * here), for 1, 3 or 4 interleaved channels: horizontal pass into 8-bit rows, then vertical pass,
 * each clipped to 0..255; a pass is skipped when its size does not change. Returns the window
 * as [winH, winW, channels] bytes, in `into` when given (else a new array).
 */
export function resample8(src: View8, outW: number, outH: number, filter: Filter, win: Window, into?: Uint8Array): Uint8Array {
  const C = src.channels;
  const winW = win.x1 - win.x0;
  const winH = win.y1 - win.y0;
  const out = into ? into.subarray(0, Math.max(0, winW * winH * C)) : new Uint8Array(Math.max(0, winW * winH * C));
  if (winW <= 0 || winH <= 0) return out;
  const needH = outW !== src.width;
  const needV = outH !== src.height;
  const cv = needV ? precomputeCoeffs(src.height, 0, src.height, outH, filter) : null;

  // Source of the vertical pass: either the horizontally resampled rows or the input itself.
  let mid: Uint8Array;
  let midStride: number;
  let midX0: number; // byte offset of window column 0 within a row
  let midY0: number; // source row held in mid's row 0
  if (needH) {
    const ch = precomputeCoeffs(src.width, 0, src.width, outW, filter);
    const kh = fixedCoeffs(ch.kk);
    let yFirst: number, yLast: number;
    if (cv) {
      yFirst = cv.bounds[win.y0 * 2]!;
      yLast = cv.bounds[(win.y1 - 1) * 2]! + cv.bounds[(win.y1 - 1) * 2 + 1]!;
    } else {
      yFirst = win.y0;
      yLast = win.y1;
    }
    midStride = winW * C;
    mid = scratchU8("resample.mid", (yLast - yFirst) * midStride); // fully overwritten
    horizontal8(src, yFirst, yLast, ch, kh, win.x0, win.x1, mid);
    midX0 = 0;
    midY0 = yFirst;
  } else {
    mid = src.data;
    midStride = src.stride;
    midX0 = (src.x0 + win.x0) * C;
    midY0 = -src.y0;
  }

  const rowBytes = winW * C;
  if (cv) {
    const kv = fixedCoeffs(cv.kk);
    const acc = scratchI32("resample.acc", rowBytes);
    for (let yy = win.y0; yy < win.y1; yy++) {
      const ymin = cv.bounds[yy * 2]!;
      const n = cv.bounds[yy * 2 + 1]!;
      const kb = yy * cv.ksize;
      acc.fill(HALF);
      // integer sums are exact, so accumulating row by row equals Pillow's per-pixel loop
      for (let y = 0; y < n; y++) {
        const w = kv[kb + y]!;
        if (w === 0) continue;
        const r = (ymin + y - midY0) * midStride + midX0;
        for (let j = 0; j < rowBytes; j++) acc[j] += mid[r + j]! * w;
      }
      const o = (yy - win.y0) * rowBytes;
      for (let j = 0; j < rowBytes; j++) {
        const v = acc[j]! >> PRECISION_BITS;
        out[o + j] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  } else {
    for (let yy = win.y0; yy < win.y1; yy++) {
      const r = (yy - midY0) * midStride + midX0;
      out.set(mid.subarray(r, r + rowBytes), (yy - win.y0) * rowBytes);
    }
  }
  return out;
}

/** Horizontal 8-bit pass over source rows [yFirst, yLast), output columns [x0, x1). */
function horizontal8(
  src: View8,
  yFirst: number,
  yLast: number,
  ch: Coeffs,
  kh: Int32Array,
  x0: number,
  x1: number,
  mid: Uint8Array,
): void {
  const C = src.channels;
  const data = src.data;
  const bounds = ch.bounds;
  const ksize = ch.ksize;
  let o = 0;
  for (let y = yFirst; y < yLast; y++) {
    const row = (src.y0 + y) * src.stride + src.x0 * C;
    if (C === 3) {
      for (let xx = x0; xx < x1; xx++) {
        const n = bounds[xx * 2 + 1]!;
        let p = row + bounds[xx * 2]! * 3;
        let kb = xx * ksize;
        let s0 = HALF, s1 = HALF, s2 = HALF;
        for (let i = 0; i < n; i++, p += 3) {
          const w = kh[kb++]!;
          s0 += data[p]! * w;
          s1 += data[p + 1]! * w;
          s2 += data[p + 2]! * w;
        }
        mid[o++] = clip8(s0);
        mid[o++] = clip8(s1);
        mid[o++] = clip8(s2);
      }
    } else if (C === 4) {
      for (let xx = x0; xx < x1; xx++) {
        const n = bounds[xx * 2 + 1]!;
        let p = row + bounds[xx * 2]! * 4;
        let kb = xx * ksize;
        let s0 = HALF, s1 = HALF, s2 = HALF, s3 = HALF;
        for (let i = 0; i < n; i++, p += 4) {
          const w = kh[kb++]!;
          s0 += data[p]! * w;
          s1 += data[p + 1]! * w;
          s2 += data[p + 2]! * w;
          s3 += data[p + 3]! * w;
        }
        mid[o++] = clip8(s0);
        mid[o++] = clip8(s1);
        mid[o++] = clip8(s2);
        mid[o++] = clip8(s3);
      }
    } else {
      for (let xx = x0; xx < x1; xx++) {
        const n = bounds[xx * 2 + 1]!;
        const p0 = row + bounds[xx * 2]! * C;
        const kb = xx * ksize;
        for (let c = 0; c < C; c++) {
          let s = HALF;
          for (let i = 0; i < n; i++) s += data[p0 + i * C + c]! * kh[kb + i]!;
          mid[o++] = clip8(s);
        }
      }
    }
  }
}

function clip8(s: number): number {
  const v = s >> PRECISION_BITS;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Pillow's 32-bit integer resample (mode "I"): double weights, double sums, ROUND_UP to int32
 * after each pass, no clipping. `src` is one channel, width x height. Returns the window.
 */
export function resample32(
  src: Int32Array,
  width: number,
  height: number,
  outW: number,
  outH: number,
  filter: Filter,
  win: Window,
): Int32Array {
  const winW = win.x1 - win.x0;
  const winH = win.y1 - win.y0;
  const out = new Int32Array(Math.max(0, winW * winH));
  if (winW <= 0 || winH <= 0) return out;
  const needH = outW !== width;
  const needV = outH !== height;
  const cv = needV ? precomputeCoeffs(height, 0, height, outH, filter) : null;
  let mid: Int32Array;
  let midStride: number, midX0: number, midY0: number;
  if (needH) {
    const ch = precomputeCoeffs(width, 0, width, outW, filter);
    const yFirst = cv ? cv.bounds[win.y0 * 2]! : win.y0;
    const yLast = cv ? cv.bounds[(win.y1 - 1) * 2]! + cv.bounds[(win.y1 - 1) * 2 + 1]! : win.y1;
    mid = new Int32Array((yLast - yFirst) * winW);
    let o = 0;
    for (let y = yFirst; y < yLast; y++) {
      for (let xx = win.x0; xx < win.x1; xx++) {
        const xmin = ch.bounds[xx * 2]!;
        const n = ch.bounds[xx * 2 + 1]!;
        const kb = xx * ch.ksize;
        let ss = 0.0;
        for (let i = 0; i < n; i++) ss += src[y * width + xmin + i]! * ch.kk[kb + i]!;
        mid[o++] = roundUp(ss);
      }
    }
    midStride = winW;
    midX0 = 0;
    midY0 = yFirst;
  } else {
    mid = src;
    midStride = width;
    midX0 = win.x0;
    midY0 = 0;
  }
  if (cv) {
    const acc = new Float64Array(winW);
    for (let yy = win.y0; yy < win.y1; yy++) {
      const ymin = cv.bounds[yy * 2]!;
      const n = cv.bounds[yy * 2 + 1]!;
      const kb = yy * cv.ksize;
      acc.fill(0);
      // same addition order per pixel as Pillow's inner loop over y
      for (let y = 0; y < n; y++) {
        const w = cv.kk[kb + y]!;
        const r = (ymin + y - midY0) * midStride + midX0;
        for (let j = 0; j < winW; j++) acc[j] += mid[r + j]! * w;
      }
      const o = (yy - win.y0) * winW;
      for (let j = 0; j < winW; j++) out[o + j] = roundUp(acc[j]!);
    }
  } else {
    for (let yy = win.y0; yy < win.y1; yy++) {
      const r = (yy - midY0) * midStride + midX0;
      out.set(mid.subarray(r, r + winW), (yy - win.y0) * winW);
    }
  }
  return out;
}

/** ROUND_UP from Resample.c: round half away from zero, then truncate to int. */
function roundUp(f: number): number {
  return Math.trunc(f >= 0.0 ? f + 0.5 : f - 0.5) | 0;
}

/**
 * Source index of each output sample for Pillow's nearest-neighbour resize (ImagingScaleAffine):
 * the position is accumulated in doubles exactly as the C loop does; -1 where it falls outside.
 */
export function nearestIndex(inSize: number, in0: number, in1: number, outSize: number): Int32Array {
  const a = Math.fround(Math.fround(in1) - Math.fround(in0)) / outSize;
  let xo = Math.fround(in0) + a * 0.5;
  const idx = new Int32Array(outSize);
  for (let x = 0; x < outSize; x++) {
    const xin = xo < 0.0 ? -1 : Math.trunc(xo);
    idx[x] = xin >= 0 && xin < inSize ? xin : -1;
    xo += a;
  }
  return idx;
}

/**
 * Nearest-neighbour resize window (Pillow forces it for modes "P" and "1"), any channel count.
 * Samples that fall outside the source are 0, as Pillow's fill.
 */
export function resampleNearest(src: View8, outW: number, outH: number, win: Window, into?: Uint8Array): Uint8Array {
  const C = src.channels;
  const winW = win.x1 - win.x0;
  const winH = win.y1 - win.y0;
  const out = into ? into.subarray(0, Math.max(0, winW * winH * C)).fill(0) : new Uint8Array(Math.max(0, winW * winH * C));
  if (winW <= 0 || winH <= 0) return out;
  const xi = nearestIndex(src.width, 0, src.width, outW);
  const yi = nearestIndex(src.height, 0, src.height, outH);
  let o = 0;
  for (let yy = win.y0; yy < win.y1; yy++) {
    const sy = yi[yy]!;
    if (sy < 0) {
      o += winW * C;
      continue;
    }
    const row = (src.y0 + sy) * src.stride + src.x0 * C;
    for (let xx = win.x0; xx < win.x1; xx++) {
      const sx = xi[xx]!;
      if (sx < 0) {
        o += C;
        continue;
      }
      const p = row + sx * C;
      for (let c = 0; c < C; c++) out[o++] = src.data[p + c]!;
    }
  }
  return out;
}

/** MULDIV255 from Pillow: a * b / 255 rounded, in integers. */
function mulDiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

/** RGBA -> RGBa (premultiplied) as Pillow's rgbA2rgba, for the [W*H] view given. */
export function premultiply(rgb: Uint8Array, alpha: Uint8Array, pixels: number, into?: Uint8Array): Uint8Array {
  const out = into ? into.subarray(0, pixels * 4) : new Uint8Array(pixels * 4);
  for (let i = 0, p = 0, q = 0; i < pixels; i++, p += 3, q += 4) {
    const a = alpha[i]!;
    out[q] = mulDiv255(rgb[p]!, a);
    out[q + 1] = mulDiv255(rgb[p + 1]!, a);
    out[q + 2] = mulDiv255(rgb[p + 2]!, a);
    out[q + 3] = a;
  }
  return out;
}

/** RGBa -> RGB as Pillow's rgba2rgbA followed by dropping alpha: integer division, clipped. */
export function unpremultiplyToRGB(rgba: Uint8Array, pixels: number, into?: Uint8Array): Uint8Array {
  const out = into ? into.subarray(0, pixels * 3) : new Uint8Array(pixels * 3);
  for (let i = 0, p = 0, q = 0; i < pixels; i++, p += 3, q += 4) {
    const a = rgba[q + 3]!;
    if (a === 255 || a === 0) {
      out[p] = rgba[q]!;
      out[p + 1] = rgba[q + 1]!;
      out[p + 2] = rgba[q + 2]!;
    } else {
      out[p] = Math.min(255, ((255 * rgba[q]!) / a) | 0);
      out[p + 1] = Math.min(255, ((255 * rgba[q + 1]!) / a) | 0);
      out[p + 2] = Math.min(255, ((255 * rgba[q + 2]!) / a) | 0);
    }
  }
  return out;
}

/** Pillow's cmyk2rgb: nk = 255 - k; channel = nk - c * nk / 255 (MULDIV255), clipped. */
export function cmykToRGB(cmyk: Uint8Array, pixels: number, into?: Uint8Array): Uint8Array {
  const rgb = into ? into.subarray(0, pixels * 3) : new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const nk = 255 - cmyk[i * 4 + 3]!;
    for (let c = 0; c < 3; c++) {
      const t = cmyk[i * 4 + c]! * nk + 128;
      const v = nk - (((t >> 8) + t) >> 8);
      rgb[i * 3 + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return rgb;
}
