/**
 * @file Which CLIP weights `precision: "int8"` quantizes, and the keys their scales take. Kept in
 * float32: the patch embedding and the ResNet convolutions (run as Conv), the token embedding (a
 * gather), LayerNorm, the attention scores and softmax (activation x activation), and the final
 * projections `visual.proj` / `text_projection` (one row per image or text: no time to win, and
 * the embedding's last rounding is the one that reaches the cosine). Pure: no files, no sessions.
 */
import { type QuantizedTensor, quantizePerChannel } from "../../nn/quantize.js";
import { type ClipConfig, expectedParams, type ParamSpec, type StateDict, type StateTensor } from "./config.js";

/** A quantized weight's per-output-channel scales sit under its key plus this suffix. */
export const INT8_SCALE_SUFFIX = "_scale";

const LINEAR_WEIGHT = /(\.attn\.in_proj_weight|\.attn\.out_proj\.weight|\.mlp\.c_fc\.weight|\.mlp\.c_proj\.weight|^visual\.attnpool\.[qkvc]_proj\.weight)$/;

/** The linear-layer weights ([out, in]) that int8 inference quantizes, in state_dict order. */
export function int8Keys(config: ClipConfig): string[] {
  return expectedParams(config)
    .filter((p) => LINEAR_WEIGHT.test(p.key))
    .map((p) => p.key);
}

/** The parameters of an int8 model: every key of the config, plus a [out] scale per quantized weight. */
export function int8Params(config: ClipConfig, quantized: ReadonlySet<string>): (ParamSpec & { dtype: "float32" | "int8" })[] {
  const out: (ParamSpec & { dtype: "float32" | "int8" })[] = [];
  for (const p of expectedParams(config)) {
    if (!quantized.has(p.key)) {
      out.push({ ...p, dtype: "float32" });
      continue;
    }
    out.push({ ...p, dtype: "int8" }, { key: `${p.key}${INT8_SCALE_SUFFIX}`, shape: [p.shape[0]], dtype: "float32" });
  }
  return out;
}

/** Inference precision: "fp32", or "int8" (the weights of `int8Keys` quantized, activations quantized per run). */
export type Precision = "fp32" | "int8";
/** The precisions `ClipModel` runs at (`--precision`). */
export const PRECISIONS: readonly Precision[] = ["fp32", "int8"];

/** An int8 weight as stored: q [out, in] and its per-output-channel scales [out]. */
export interface Int8Tensor extends QuantizedTensor {
  shape: number[];
}

/** Quantizes one linear weight [out, in] of a state dict per output channel. */
export function quantizeLinear(t: StateTensor): Int8Tensor {
  const [rows, cols] = t.shape;
  return { ...quantizePerChannel(t.data, rows, cols, 0), shape: [...t.shape] };
}

/** The weights of `int8Keys` quantized (those `skip` already holds are left out). */
export function quantizeState(config: ClipConfig, state: StateDict, skip: ReadonlyMap<string, Int8Tensor> = new Map()): Map<string, Int8Tensor> {
  const out = new Map<string, Int8Tensor>();
  for (const k of int8Keys(config)) {
    const t = state.get(k);
    if (!skip.has(k) && t) out.set(k, quantizeLinear(t));
  }
  return out;
}
