/** @file The synchronous decode + preprocess path the pool workers use (no Node API). */
import type { PreprocessConfig } from "./config.js";
import { DEFAULT_MAX_PIXELS, decodeImageSync, jpegInfo, sniffFormat, type DecodeOptions } from "./decode.js";
import { decodeJpeg } from "./jpeg.js";
import { scratchU8 } from "./scratch.js";
import { centerCropOrigin, normalizeLut, preprocessRGB, resizedSize } from "./transform.js";


/**
 * Evaluation preprocessing of encoded bytes into out[offset ...] without leaving the thread,
 * when our own decoders read the format; false when the file needs sharp (the caller then takes
 * the async path). A JPEG whose preprocessing is a pure crop (already N on its short side) is
 * colour-converted straight into the tensor. Temporaries are per-thread scratch buffers.
 */
export function preprocessBytesSync(
  bytes: Uint8Array,
  cfg: PreprocessConfig,
  out: Float32Array,
  offset: number,
  opts: DecodeOptions = {},
): boolean {
  if (!opts.applyExif && sniffFormat(bytes) === "jpeg") {
    let info: ReturnType<typeof jpegInfo> | null = null;
    try {
      info = jpegInfo(bytes);
    } catch {
      info = null; // the general path reports the error with the file name
    }
    const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
    if (info && (info.components === 1 || info.components === 3) && info.width * info.height <= maxPixels) {
      const n = cfg.size;
      const [rw, rh] = resizedSize(info.width, info.height, n, cfg.resizeMode);
      if (rw === info.width && rh === info.height) {
        const [x0, y0] = cfg.resizeMode === "squash" ? [0, 0] : centerCropOrigin(rw, rh, n, n);
        if (x0 >= 0 && y0 >= 0 && x0 + n <= rw && y0 + n <= rh) {
          const sink = { x0, y0, n, lut: normalizeLut(cfg.mean, cfg.std), out, offset };
          let done = false;
          try {
            done = decodeJpeg(bytes, maxPixels, undefined, sink) !== null;
          } catch {
            done = false; // let the general path name the file in its error
          }
          if (done) return true;
        }
      }
    }
  }
  const img = decodeImageSync(bytes, opts, (n) => scratchU8("pipeline.rgb", n));
  if (!img) return false;
  preprocessRGB(img, cfg, out, offset);
  return true;
}
