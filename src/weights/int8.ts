/**
 * @file The int8 checkpoint layout, our extension of open_clip's: the weights of `int8Keys` stored as
 * I8 [out, in] with F32 per-output-channel scales under `<key>_scale`, every other tensor as usual,
 * and a `clip_ts_int8` entry in open_clip_config.json listing them. open_clip cannot load it (it
 * would read the int8 values as weights); clip-ts loads it at either precision: int8 as stored, or
 * fp32 from the dequantized weights. Node only (reads files).
 */
import { UserError } from "../errors.js";
import type { StateDict, StateTensor } from "../models/clip/config.js";
import { INT8_SCALE_SUFFIX, type Int8Tensor } from "../models/clip/int8.js";
import { dequantizePerChannel } from "../nn/quantize.js";
import { toFloat32 } from "./dtype.js";
import { readTensorsFile } from "./files.js";
import type { TensorToWrite } from "./safetensors.js";

/** The open_clip_config.json key that marks an int8 checkpoint. */
export const INT8_CONFIG_KEY = "clip_ts_int8";

/** What the marker holds. */
export interface Int8Marker {
  format: "clip-ts int8 v1";
  note: string;
  scheme: string;
  scale_suffix: string;
  /** The quantized keys, in state_dict order. */
  weights: string[];
}

/** The marker for a set of quantized keys. */
export function int8Marker(keys: string[]): Int8Marker {
  return {
    format: "clip-ts int8 v1",
    note: "written by clip-ts (clip quantize); open_clip cannot load this checkpoint",
    scheme: "symmetric per output channel: w = q * scale[out], scale = max|w| / 127, q = round-half-even(w / scale) in [-127, 127]",
    scale_suffix: INT8_SCALE_SUFFIX,
    weights: keys,
  };
}

/** A state entry whose float32 values are made from the int8 weight on first read (fp32 use of an int8 checkpoint). */
function lazyDequantized(t: Int8Tensor): StateTensor {
  let data: Float32Array | undefined;
  return {
    shape: t.shape,
    get data(): Float32Array {
      return (data ??= dequantizePerChannel(t, t.shape[0], t.shape[1], 0));
    },
  };
}

/**
 * Reads an int8 checkpoint's weights file: the listed keys as int8 with their scales (kept as
 * stored, never re-quantized), every other tensor as float32. The state holds the listed keys too,
 * dequantized only if something reads them (running the checkpoint at fp32).
 */
export function readInt8State(file: string, marker: unknown, where: string): { state: StateDict; int8: Map<string, Int8Tensor> } {
  const m = marker as Partial<Int8Marker> | null;
  if (typeof m !== "object" || m === null || m.format !== "clip-ts int8 v1" || !Array.isArray(m.weights) || m.scale_suffix !== INT8_SCALE_SUFFIX) {
    throw new UserError(`${where}: "${INT8_CONFIG_KEY}" is not a clip-ts int8 v1 marker (written by a newer clip-ts?)`);
  }
  const { tensors } = readTensorsFile(file);
  const int8 = new Map<string, Int8Tensor>();
  const scales = new Set<string>();
  for (const key of m.weights) {
    const w = tensors.get(key);
    const s = tensors.get(`${key}${INT8_SCALE_SUFFIX}`);
    if (!w || !s || w.dtype !== "I8" || w.shape.length !== 2 || s.data.length !== w.shape[0]) {
      throw new UserError(`${file}: int8 weight '${key}' needs ${key} I8 [out, in] and ${key}${INT8_SCALE_SUFFIX} [out]`);
    }
    int8.set(key, { q: w.data as Int8Array, scale: toFloat32(s), shape: [...w.shape] });
    scales.add(`${key}${INT8_SCALE_SUFFIX}`);
  }
  const state: StateDict = new Map();
  for (const [k, t] of tensors) {
    const q = int8.get(k);
    if (q) state.set(k, lazyDequantized(q));
    else if (!scales.has(k)) state.set(k, { shape: t.shape, data: toFloat32(t) });
  }
  return { state, int8 };
}

/** Safetensors entries of an int8 checkpoint: the quantized weights as I8 + F32 scales, the rest in `dtype`. */
export function int8Entries(state: StateDict, quantized: ReadonlyMap<string, Int8Tensor>, dtype: "F32" | "F16" | "BF16"): Map<string, TensorToWrite> {
  const out = new Map<string, TensorToWrite>();
  for (const [k, t] of state) {
    const q = quantized.get(k);
    if (q) {
      out.set(k, { dtype: "I8", shape: q.shape, data: q.q });
      out.set(`${k}${INT8_SCALE_SUFFIX}`, { dtype: "F32", shape: [q.scale.length], data: q.scale });
    } else out.set(k, { dtype: k.endsWith("num_batches_tracked") ? "I64" : dtype, shape: t.shape, data: t.data });
  }
  return out;
}
