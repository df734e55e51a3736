/**
 * @file open_clip's initialization of a fresh CLIP, seeded: TextTransformer.init_parameters,
 * ModifiedResNet.init_parameters, VisionTransformer's scaled randn embeddings, and PyTorch's
 * nn.Linear / nn.Conv2d / nn.MultiheadAttention / norm-layer defaults everywhere else.
 * Each tensor draws from its own stream (seed + key), so adding a tensor never shifts the others.
 */
import { InternalError } from "../../errors.js";
import { Rng } from "../../util/rng.js";
import { type ClipConfig, type ParamSpec, type StateDict, expectedParams, isResNet, resnetEmbedWidth } from "./config.js";

/** ln(1 / 0.07): CLIP's initial temperature. */
export const INIT_LOGIT_SCALE = Math.log(1 / 0.07);

export interface InitOptions {
  seed?: number;
  /** Initial logit_scale (open_clip's init_logit_scale), default ln(1/0.07). */
  logitScale?: number;
  /** Also create BatchNorm num_batches_tracked (0), as a PyTorch state_dict has. Default false. */
  numBatchesTracked?: boolean;
}

function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

type Rule =
  | { kind: "normal"; std: number }
  | { kind: "uniform"; bound: number }
  | { kind: "const"; value: number };

/**
 * Fills `out` with the next xoshiro128** outputs of `rng`'s stream (the same numbers as
 * rng.nextU32()), in int32 locals: several times faster than a method call per draw.
 */
function drawU32(rng: Rng, out: Uint32Array): void {
  let [s0, s1, s2, s3] = rng.state().map((w) => w | 0);
  for (let i = 0; i < out.length; i++) {
    const m = Math.imul(s1, 5);
    out[i] = Math.imul((m << 7) | (m >>> 25), 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
  }
  rng.setState([s0 >>> 0, s1 >>> 0, s2 >>> 0, s3 >>> 0]);
}

// 32 random bits per value are plenty for float32
const U32 = 2 ** -32;
const CHUNK = 1 << 16;

function fill(data: Float32Array, rule: Rule, rng: () => Rng): void {
  if (rule.kind === "const") {
    data.fill(rule.value);
    return;
  }
  const r = rng();
  const bits = new Uint32Array(Math.min(CHUNK, data.length + 1));
  for (let start = 0; start < data.length; start += CHUNK) {
    const n = Math.min(CHUNK, data.length - start);
    if (rule.kind === "uniform") {
      const b = rule.bound;
      const u = bits.subarray(0, n);
      drawU32(r, u);
      for (let i = 0; i < n; i++) data[start + i] = (2 * (u[i] * U32) - 1) * b;
    } else {
      // Box-Muller, both outputs used; u1 in (0, 1] so log(u1) is finite
      const pairs = (n + 1) >> 1;
      const u = bits.subarray(0, 2 * pairs);
      drawU32(r, u);
      const s = rule.std;
      for (let p = 0; p < pairs; p++) {
        const rad = Math.sqrt(-2 * Math.log((u[2 * p] + 1) * U32)) * s;
        const th = 2 * Math.PI * (u[2 * p + 1] * U32);
        const i = start + 2 * p;
        data[i] = rad * Math.cos(th);
        if (2 * p + 1 < n) data[i + 1] = rad * Math.sin(th);
      }
    }
  }
}

/** fan_in of a weight: product of all dims but the first (PyTorch's _calculate_fan_in_and_fan_out). */
function fanIn(shape: number[]): number {
  return shape.slice(1).reduce((a, b) => a * b, 1);
}

/** The init rule of one tensor, as open_clip (and PyTorch's module defaults) would apply it. */
function ruleFor(config: ClipConfig, spec: ParamSpec, shapes: Map<string, number[]>, logitScale: number): Rule {
  const { key, shape } = spec;
  const v = config.vision_cfg;
  const t = config.text_cfg;
  if (key === "logit_scale") return { kind: "const", value: logitScale };
  if (key === "logit_bias") return { kind: "const", value: config.init_logit_bias ?? 0 };
  if (key === "token_embedding.weight") return { kind: "normal", std: 0.02 };
  if (key === "positional_embedding") return { kind: "normal", std: 0.01 };
  if (key === "text_projection") return { kind: "normal", std: t.width ** -0.5 };

  // norms: LayerNorm / BatchNorm weight 1, bias 0, running stats (0, 1), counter 0
  const last = key.slice(key.lastIndexOf(".") + 1);
  const isNorm = /\.(ln_\w+|ln_final|ln_pre|ln_post|bn\d|downsample\.1)\.\w+$/.test(key) || key.startsWith("ln_final.");
  if (isNorm) {
    if (last === "running_var") return { kind: "const", value: 1 };
    if (last === "running_mean" || last === "num_batches_tracked" || last === "bias") return { kind: "const", value: 0 };
    // ModifiedResNet.init_parameters zeroes every bottleneck's last BN scale (residual starts as identity)
    if (/^visual\.layer\d\.\d+\.bn3\.weight$/.test(key)) return { kind: "const", value: 0 };
    return { kind: "const", value: 1 };
  }

  // ViT: scale * randn for the class token, positions and projection (scale = width^-0.5)
  if (key === "visual.class_embedding" || key === "visual.positional_embedding" || key === "visual.proj") {
    return { kind: "normal", std: v.width ** -0.5 };
  }
  if (isResNet(v) && key.startsWith("visual.attnpool.")) {
    const e = resnetEmbedWidth(v);
    if (key === "visual.attnpool.positional_embedding") return { kind: "normal", std: e ** -0.5 };
    // q/k/v/c_proj weights: normal(c_proj.in_features^-0.5); biases keep nn.Linear's default
    if (last === "weight") return { kind: "normal", std: e ** -0.5 };
    return { kind: "uniform", bound: 1 / Math.sqrt(e) };
  }

  const text = key.startsWith("transformer.");
  if (text) {
    // TextTransformer.init_parameters
    const attnStd = t.width ** -0.5;
    const projStd = t.width ** -0.5 * (2 * t.layers) ** -0.5;
    const fcStd = (2 * t.width) ** -0.5;
    if (key.endsWith(".attn.in_proj_weight")) return { kind: "normal", std: attnStd };
    if (key.endsWith(".attn.out_proj.weight")) return { kind: "normal", std: projStd };
    if (key.endsWith(".mlp.c_fc.weight")) return { kind: "normal", std: fcStd };
    if (key.endsWith(".mlp.c_proj.weight")) return { kind: "normal", std: projStd };
  }
  // nn.MultiheadAttention._reset_parameters: xavier_uniform in_proj, zero biases
  if (key.endsWith(".attn.in_proj_weight")) return { kind: "uniform", bound: Math.sqrt(6 / (shape[0] + shape[1])) };
  if (key.endsWith(".attn.in_proj_bias") || key.endsWith(".attn.out_proj.bias")) return { kind: "const", value: 0 };
  // nn.Linear / nn.Conv2d defaults: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)); bias the same bound
  if (last === "weight") return { kind: "uniform", bound: 1 / Math.sqrt(fanIn(shape)) };
  if (last === "bias") {
    // a Linear bias uses its weight's fan_in
    const w = shapes.get(key.slice(0, -"bias".length) + "weight");
    if (!w) throw new InternalError(`bias ${key} has no weight`);
    return { kind: "uniform", bound: 1 / Math.sqrt(fanIn(w)) };
  }
  throw new InternalError(`no init rule for ${key}`);
}

/** A freshly initialized state dict for a config, deterministic in `seed`. */
export function initState(config: ClipConfig, opts: InitOptions = {}): StateDict {
  const seed = opts.seed ?? 0;
  const logitScale = opts.logitScale ?? INIT_LOGIT_SCALE;
  const state: StateDict = new Map();
  const specs = expectedParams(config);
  const shapes = new Map(specs.map((p) => [p.key, p.shape]));
  for (const spec of specs) {
    if (spec.optional && !opts.numBatchesTracked) continue;
    const data = new Float32Array(spec.shape.reduce((a, b) => a * b, 1));
    fill(data, ruleFor(config, spec, shapes, logitScale), () => new Rng(hash32(`${seed}:${spec.key}`)));
    state.set(spec.key, { shape: [...spec.shape], data });
  }
  return state;
}

/** How a key is initialized, in words (for docs and tests): e.g. "normal(std=0.02)". */
export function describeInit(config: ClipConfig, key: string): string {
  const specs = expectedParams(config);
  const spec = specs.find((p) => p.key === key);
  if (!spec) throw new InternalError(`${key} is not a parameter of this config`);
  const r = ruleFor(config, spec, new Map(specs.map((p) => [p.key, p.shape])), INIT_LOGIT_SCALE);
  return r.kind === "normal" ? `normal(std=${r.std})` : r.kind === "uniform" ? `uniform(+-${r.bound})` : `const(${r.value})`;
}
