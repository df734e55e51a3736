/**
 * @file The reference preprocessing on decoded pixels: clip._transform (Resize shortest side,
 * CenterCrop, convert RGB, ToTensor, Normalize), open_clip's "longest" and "squash" modes, and
 * RandomResizedCrop for training. Pure TypeScript, no Node-only API.
 */
import type { PreprocessConfig, RGBImage, SourceMode } from "./config.js";
import {
  cmykToRGB,
  premultiply,
  resample32,
  resample8,
  resampleNearest,
  unpremultiplyToRGB,
  type Filter,
  type View8,
  type Window,
} from "./resample.js";
import { Rng } from "../util/rng.js";
import { UserError } from "../errors.js";
import { scratchI32, scratchU8 } from "./scratch.js";

/** open_clip's RandomResizedCrop defaults: area fraction and aspect-ratio ranges. */
export const AUG_SCALE: [number, number] = [0.9, 1.0];
export const AUG_RATIO: [number, number] = [3 / 4, 4 / 3];

/** Python's round(): half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Output size [w, h] of the resize step for an image of w x h. */
export function resizedSize(w: number, h: number, size: number, mode: PreprocessConfig["resizeMode"]): [number, number] {
  switch (mode ?? "shortest") {
    case "shortest": {
      // torchvision _compute_resized_output_size: int(size * long / short)
      const short = Math.min(w, h);
      const long = Math.max(w, h);
      const newLong = Math.trunc((size * long) / short);
      return w <= h ? [size, newLong] : [newLong, size];
    }
    case "longest": {
      // open_clip ResizeKeepRatio(longest=1): ratio = max(h/N, w/N); round(x / ratio)
      const ratio = Math.max(h / size, w / size);
      return [roundHalfEven(w / ratio), roundHalfEven(h / ratio)];
    }
    case "squash":
      return [size, size];
  }
}

/**
 * torchvision center_crop (and open_clip CenterCropOrPad): pad symmetrically where the image is
 * smaller than the crop (left/top get the floor half), then crop at round((H - h) / 2) with
 * Python's round. Returns where the crop's (0, 0) lies in image coordinates (may be negative).
 */
export function centerCropOrigin(w: number, h: number, cw: number, ch: number): [number, number] {
  const padL = cw > w ? Math.floor((cw - w) / 2) : 0;
  const padT = ch > h ? Math.floor((ch - h) / 2) : 0;
  const pw = cw > w ? cw : w;
  const ph = ch > h ? ch : h;
  const left = roundHalfEven((pw - cw) / 2);
  const top = roundHalfEven((ph - ch) / 2);
  return [left - padL, top - padT];
}

/** A crop of an image: rectangle [x, x+w) x [y, y+h), all inside the image. */
export interface CropBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Resizes the region `box` of `img` to outW x outH as PIL would in the source mode (after
 * cropping it out), and returns the RGB bytes of the output window `win` ([winH, winW, 3]),
 * i.e. PIL's resize -> crop -> convert("RGB"). Window pixels outside the resized image get
 * `fill` (torchvision pads before cropping). The result lives in this thread's scratch memory:
 * it is valid until the next call.
 */
export function resizeWindowRGB(
  img: RGBImage,
  box: CropBox,
  outW: number,
  outH: number,
  filter: Filter,
  win: Window,
  fill: number,
): Uint8Array {
  const mode: SourceMode = img.mode ?? "RGB";
  const winW = win.x1 - win.x0;
  const winH = win.y1 - win.y0;
  // the part of the window inside the resized image
  const inner: Window = {
    x0: Math.max(win.x0, 0),
    y0: Math.max(win.y0, 0),
    x1: Math.min(win.x1, outW),
    y1: Math.min(win.y1, outH),
  };
  const same = outW === box.w && outH === box.h;
  const innerPixels = Math.max(0, inner.x1 - inner.x0) * Math.max(0, inner.y1 - inner.y0);
  const innerBytes = innerPixels * 3;
  let rgb: Uint8Array; // [innerH, innerW, 3]
  const view: View8 = { data: img.data, stride: img.width * 3, channels: 3, x0: box.x, y0: box.y, width: box.w, height: box.h };
  if (same) {
    rgb = copyWindow(view, inner); // PIL returns a copy: no resampling, no premultiply
  } else if (mode === "P" || mode === "1") {
    rgb = resampleNearest(view, outW, outH, inner, scratchU8("tf.rgb", innerBytes));
  } else if ((mode === "RGBA" || mode === "LA") && img.alpha) {
    const sub = cropPixels(img, box);
    const rgba = premultiply(sub.rgb, sub.alpha!, box.w * box.h, scratchU8("tf.premul", box.w * box.h * 4));
    const v4: View8 = { data: rgba, stride: box.w * 4, channels: 4, x0: 0, y0: 0, width: box.w, height: box.h };
    const out4 = resample8(v4, outW, outH, filter, inner, scratchU8("tf.out4", innerPixels * 4));
    rgb = unpremultiplyToRGB(out4, innerPixels, scratchU8("tf.rgb", innerBytes));
  } else if (mode === "CMYK" && img.cmyk) {
    const v4: View8 = { data: img.cmyk, stride: img.width * 4, channels: 4, x0: box.x, y0: box.y, width: box.w, height: box.h };
    const out4 = resample8(v4, outW, outH, filter, inner, scratchU8("tf.out4", innerPixels * 4));
    rgb = cmykToRGB(out4, innerPixels, scratchU8("tf.rgb", innerBytes));
  } else if (mode === "I" && img.gray32) {
    const sub = cropGray32(img, box);
    const g = resample32(sub, box.w, box.h, outW, outH, filter, inner);
    rgb = scratchU8("tf.rgb", g.length * 3);
    for (let i = 0; i < g.length; i++) {
      const v = g[i]!;
      const c = v <= 0 ? 0 : v >= 255 ? 255 : v; // Pillow's i2rgb clips
      rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = c;
    }
  } else {
    rgb = resample8(view, outW, outH, filter, inner, scratchU8("tf.rgb", innerBytes));
  }
  if (inner.x0 === win.x0 && inner.y0 === win.y0 && inner.x1 === win.x1 && inner.y1 === win.y1) return rgb;
  return padInto(rgb, inner, win, winW, winH, padColor(img, fill));
}

/** The window of an RGB view, unchanged. */
function copyWindow(view: View8, win: Window): Uint8Array {
  const w = win.x1 - win.x0;
  const h = win.y1 - win.y0;
  if (w <= 0 || h <= 0) return new Uint8Array(0);
  const rowBytes = w * 3;
  const start = (view.y0 + win.y0) * view.stride + (view.x0 + win.x0) * 3;
  if (rowBytes === view.stride) return view.data.subarray(start, start + h * rowBytes);
  const out = scratchU8("tf.rgb", h * rowBytes);
  for (let y = 0; y < h; y++) {
    const s = start + y * view.stride;
    out.set(view.data.subarray(s, s + rowBytes), y * rowBytes);
  }
  return out;
}

function padColor(img: RGBImage, fill: number): [number, number, number] {
  if (img.mode === "P" && img.palette && img.palette.length >= fill * 3 + 3) {
    return [img.palette[fill * 3]!, img.palette[fill * 3 + 1]!, img.palette[fill * 3 + 2]!];
  }
  const f = Math.max(0, Math.min(255, Math.round(fill)));
  if (img.mode === "CMYK") {
    // the fill is a CMYK value: 0 pads white
    const c = cmykToRGB(new Uint8Array([f, f, f, f]), 1);
    return [c[0]!, c[1]!, c[2]!];
  }
  return [f, f, f];
}

function padInto(
  rgb: Uint8Array,
  inner: Window,
  win: Window,
  winW: number,
  winH: number,
  color: [number, number, number],
): Uint8Array {
  const out = scratchU8("tf.pad", winW * winH * 3);
  for (let i = 0; i < winW * winH; i++) {
    out[i * 3] = color[0];
    out[i * 3 + 1] = color[1];
    out[i * 3 + 2] = color[2];
  }
  const iw = inner.x1 - inner.x0;
  if (iw <= 0 || inner.y1 <= inner.y0) return out;
  for (let y = inner.y0; y < inner.y1; y++) {
    const s = (y - inner.y0) * iw * 3;
    out.set(rgb.subarray(s, s + iw * 3), ((y - win.y0) * winW + (inner.x0 - win.x0)) * 3);
  }
  return out;
}

function cropPixels(img: RGBImage, box: CropBox): { rgb: Uint8Array; alpha: Uint8Array | undefined } {
  if (box.x === 0 && box.y === 0 && box.w === img.width && box.h === img.height) {
    return { rgb: img.data, alpha: img.alpha };
  }
  const rgb = scratchU8("tf.crop", box.w * box.h * 3);
  const alpha = img.alpha ? scratchU8("tf.cropAlpha", box.w * box.h) : undefined;
  for (let y = 0; y < box.h; y++) {
    const s = (box.y + y) * img.width + box.x;
    rgb.set(img.data.subarray(s * 3, (s + box.w) * 3), y * box.w * 3);
    if (alpha) alpha.set(img.alpha!.subarray(s, s + box.w), y * box.w);
  }
  return { rgb, alpha };
}

function cropGray32(img: RGBImage, box: CropBox): Int32Array {
  const g = img.gray32!;
  if (box.x === 0 && box.y === 0 && box.w === img.width && box.h === img.height) return g;
  const out = scratchI32("tf.cropGray", box.w * box.h);
  for (let y = 0; y < box.h; y++) {
    const s = (box.y + y) * img.width + box.x;
    out.set(g.subarray(s, s + box.w), y * box.w);
  }
  return out;
}

const lutCache = new Map<string, Float32Array>();

/**
 * ToTensor + Normalize as float32 arithmetic, tabulated: lut[c * 256 + v] =
 * f32(f32(f32(v / 255) - mean[c]) / std[c]), the same roundings as torch's float32 kernels.
 */
export function normalizeLut(mean: readonly number[], std: readonly number[]): Float32Array {
  const key = `${mean.join(",")}|${std.join(",")}`;
  let lut = lutCache.get(key);
  if (lut) return lut;
  lut = new Float32Array(768);
  for (let c = 0; c < 3; c++) {
    const m = Math.fround(mean[c]!);
    const s = Math.fround(std[c]!);
    for (let v = 0; v < 256; v++) {
      const x = Math.fround(v / 255);
      lut[c * 256 + v] = Math.fround(Math.fround(x - m) / s);
    }
  }
  if (lutCache.size > 64) lutCache.clear();
  lutCache.set(key, lut);
  return lut;
}

/** [N, N, 3] bytes -> normalized [3, N, N] floats at out[offset ...]. */
export function toTensor(rgb: Uint8Array, n: number, lut: Float32Array, out: Float32Array, offset: number): void {
  const plane = n * n;
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    out[offset + i] = lut[rgb[p]!]!;
    out[offset + plane + i] = lut[256 + rgb[p + 1]!]!;
    out[offset + 2 * plane + i] = lut[512 + rgb[p + 2]!]!;
  }
}

function checkImage(img: RGBImage): void {
  const { width, height, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`image size must be positive integers, got ${width}x${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new RangeError(`image data: expected ${width * height * 3} bytes for ${width}x${height} RGB, got ${data.length}`);
  }
}

function outBuffer(n: number, out: Float32Array | undefined, offset: number): Float32Array {
  const need = 3 * n * n;
  if (!out) return new Float32Array(need);
  if (!Number.isInteger(offset) || offset < 0 || offset + need > out.length) {
    throw new RangeError(`output buffer too small: need ${need} floats at offset ${offset}, have ${out.length}`);
  }
  return out;
}

/**
 * The evaluation transform (clip._transform, or open_clip's for resizeMode longest/squash) on
 * decoded pixels. Writes [3, N, N] floats into out at offset (a new array when out is omitted)
 * and returns the array written.
 */
export function preprocessRGB(img: RGBImage, cfg: PreprocessConfig, out?: Float32Array, offset = 0): Float32Array {
  checkImage(img);
  const n = cfg.size;
  const dst = outBuffer(n, out, offset);
  const [rw, rh] = resizedSize(img.width, img.height, n, cfg.resizeMode);
  if (rw < 1 || rh < 1) {
    throw new UserError(
      `image of ${img.width}x${img.height} is too thin for resize mode "${cfg.resizeMode}" to ${n}: a side would be ${Math.min(rw, rh)} pixels`,
    );
  }
  let win: Window;
  if (cfg.resizeMode === "squash") {
    win = { x0: 0, y0: 0, x1: n, y1: n };
  } else {
    const [cx, cy] = centerCropOrigin(rw, rh, n, n);
    win = { x0: cx, y0: cy, x1: cx + n, y1: cy + n };
  }
  const box: CropBox = { x: 0, y: 0, w: img.width, h: img.height };
  const rgb = resizeWindowRGB(img, box, rw, rh, cfg.interpolation ?? "bicubic", win, cfg.fillColor ?? 0);
  toTensor(rgb, n, normalizeLut(cfg.mean, cfg.std), dst, offset);
  return dst;
}

/**
 * torchvision RandomResizedCrop.get_params with our own Rng: up to 10 tries of a random area
 * fraction in `scale` and log-uniform aspect ratio in `ratio`, else the central crop clamped to
 * the ratio range.
 */
export function randomResizedCropBox(
  width: number,
  height: number,
  rng: Rng,
  scale: [number, number] = AUG_SCALE,
  ratio: [number, number] = AUG_RATIO,
): CropBox {
  const area = width * height;
  const logR0 = Math.log(ratio[0]);
  const logR1 = Math.log(ratio[1]);
  for (let t = 0; t < 10; t++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logR0, logR1));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const y = rng.int(height - h + 1);
      const x = rng.int(width - w + 1);
      return { x, y, w, h };
    }
  }
  const inRatio = width / height;
  let w: number, h: number;
  if (inRatio < Math.min(ratio[0], ratio[1])) {
    w = width;
    h = roundHalfEven(w / Math.min(ratio[0], ratio[1]));
  } else if (inRatio > Math.max(ratio[0], ratio[1])) {
    h = height;
    w = roundHalfEven(h * Math.max(ratio[0], ratio[1]));
  } else {
    w = width;
    h = height;
  }
  return { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), w, h };
}

/**
 * open_clip's training transform: RandomResizedCrop(N, scale, ratio, bicubic) -> convert RGB ->
 * [RandomHorizontalFlip(hflip), timm's aug_cfg `hflip`] -> [RandomGrayscale(gray), open_clip's
 * aug_cfg `gray_scale_prob`] -> ToTensor -> Normalize. Deterministic for a given Rng state; with
 * hflip 0 (gray 0) no draw is made for the flip (the grayscale).
 */
export function randomResizedCrop(
  img: RGBImage,
  cfg: PreprocessConfig,
  rng: Rng,
  scale: [number, number] = AUG_SCALE,
  ratio: [number, number] = AUG_RATIO,
  out?: Float32Array,
  offset = 0,
  hflip = 0,
  gray = 0,
): Float32Array {
  checkImage(img);
  const n = cfg.size;
  const dst = outBuffer(n, out, offset);
  const box = randomResizedCropBox(img.width, img.height, rng, scale, ratio);
  const win: Window = { x0: 0, y0: 0, x1: n, y1: n };
  const rgb = resizeWindowRGB(img, box, n, n, cfg.interpolation ?? "bicubic", win, 0);
  if (hflip > 0 && rng.uniform(0, 1) < hflip) mirrorRows(rgb, n);
  if (gray > 0 && rng.uniform(0, 1) < gray) grayscaleRGB(rgb);
  toTensor(rgb, n, normalizeLut(cfg.mean, cfg.std), dst, offset);
  return dst;
}

/**
 * Replaces each RGB pixel by its luma in all three channels, in place: PIL's convert("L") (ITU-R
 * 601-2, L = (19595 R + 38470 G + 7471 B + 2^15) >> 16), which torchvision's RandomGrayscale uses
 * on PIL images, then back to three channels.
 */
export function grayscaleRGB(rgb: Uint8Array): void {
  for (let i = 0; i < rgb.length; i += 3) {
    const l = (rgb[i]! * 19595 + rgb[i + 1]! * 38470 + rgb[i + 2]! * 7471 + 0x8000) >> 16;
    rgb[i] = rgb[i + 1] = rgb[i + 2] = l;
  }
}

/** Mirrors an [n, n, 3] RGB image left to right, in place. */
export function mirrorRows(rgb: Uint8Array, n: number): void {
  for (let y = 0; y < n; y++) {
    for (let a = y * n * 3, b = a + (n - 1) * 3; a < b; a += 3, b -= 3) {
      for (let c = 0; c < 3; c++) {
        const t = rgb[a + c];
        rgb[a + c] = rgb[b + c];
        rgb[b + c] = t;
      }
    }
  }
}

/** Per-image generator for augmentation: depends only on (seed, index), not on scheduling. */
export function itemRng(seed: number, index: number): Rng {
  return new Rng((Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
}
