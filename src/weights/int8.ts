/**
 * @file The int8 checkpoint layout, our extension of open_clip's: the weights of `int8Keys` stored as
 * I8 [out, in] with F32 per-output-channel scales under `<key>_scale`, every other tensor as usual,
 * and a `clip_ts_int8` entry in open_clip_config.json listing them. open_clip cannot load it (it
 * would read the int8 values as weights); clip-ts loads it at either precision: int8 as stored, or
 * fp32 from the dequantized weights.
 */
import { UserError } from "../errors.js";
import type { StateDict } from "../models/clip/config.js";
import { INT8_SCALE_SUFFIX, type Int8Tensor } from "../models/clip/int8.js";
import { dequantizePerChannel } from "../nn/quantize.js";
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

/**
 * Takes an int8 checkpoint's quantized weights out of a state read as float32: each listed key's
 * values become int8 again (they are integers) with its scales, its scale entry leaves the state,
 * and the state keeps the dequantized weight so the checkpoint also runs in fp32.
 */
export function splitInt8(marker: unknown, state: StateDict, where: string): Map<string, Int8Tensor> {
  const m = marker as Partial<Int8Marker> | null;
  if (typeof m !== "object" || m === null || m.format !== "clip-ts int8 v1" || !Array.isArray(m.weights) || m.scale_suffix !== INT8_SCALE_SUFFIX) {
    throw new UserError(`${where}: "${INT8_CONFIG_KEY}" is not a clip-ts int8 v1 marker (written by a newer clip-ts?)`);
  }
  const out = new Map<string, Int8Tensor>();
  for (const key of m.weights) {
    const w = state.get(key);
    const s = state.get(`${key}${INT8_SCALE_SUFFIX}`);
    if (!w || !s || w.shape.length !== 2 || s.data.length !== w.shape[0]) {
      throw new UserError(`${where}: int8 weight '${key}' needs ${key} [out, in] and ${key}${INT8_SCALE_SUFFIX} [out]`);
    }
    const q = Int8Array.from(w.data);
    const t: Int8Tensor = { q, scale: Float32Array.from(s.data), shape: [...w.shape] };
    out.set(key, t);
    state.delete(`${key}${INT8_SCALE_SUFFIX}`);
    state.set(key, { shape: t.shape, data: dequantizePerChannel(t, w.shape[0], w.shape[1], 0) });
  }
  return out;
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
