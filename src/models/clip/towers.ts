/** @file The CLIP towers as graphs: ViT and ModifiedResNet image encoders, the causal text transformer.
 * Parameter paths equal OpenAI/open_clip checkpoint keys; activations are batch-first. */
import * as T from "../../ir/tensor.js";
import type { Tensor } from "../../ir/tensor.js";
import { batchNormInference, batchNormTraining, causalMask, causalMaskAt, gelu, linear, type LinearWeight, quickGelu, selfAttention } from "../../nn/functional.js";
import { type ClipConfig, gridSize, isResNet, resnetEmbedWidth, visionHeads } from "./config.js";
import { INT8_SCALE_SUFFIX, int8Params } from "./int8.js";
import { InternalError } from "../../errors.js";

/** Gives the graph tensor of a checkpoint key (a param leaf, or a fed tensor when training). */
export type Params = (key: string) => Tensor;

/**
 * Param leaves for every key of a config, shaped as the checkpoint; the keys in `int8` (see
 * int8Keys) are int8 leaves with a float32 `<key>_scale` leaf each, and their layers run as int8.
 */
export function paramLeaves(config: ClipConfig, int8: ReadonlySet<string> = new Set()): Params {
  const specs = new Map(int8Params(config, int8).map((p) => [p.key, p]));
  const made = new Map<string, Tensor>();
  return (key) => {
    let t = made.get(key);
    if (!t) {
      const spec = specs.get(key);
      if (!spec) throw new InternalError(`no parameter '${key}' in this config`);
      t = T.param(key, spec.shape, spec.dtype);
      made.set(key, t);
    }
    return t;
  };
}

/** A linear layer's weight: the float leaf, or the int8 leaf with its scales when the params made it int8. */
function weight(P: Params, key: string): LinearWeight {
  const w = P(key);
  return w.dtype === "int8" ? { q: w, scale: P(`${key}${INT8_SCALE_SUFFIX}`) } : w;
}

/** BatchNorm mode: running statistics (inference) or batch statistics that also update them (training). */
export interface BatchNormState {
  training: boolean;
  /** Updated running statistics by key (`visual.bn1.running_mean`...), filled in training mode. */
  updates: Map<string, Tensor>;
}

function act(config: ClipConfig): (x: Tensor) => Tensor {
  return config.quick_gelu ? quickGelu : gelu;
}

function layerNorm(x: Tensor, P: Params, key: string): Tensor {
  return T.layerNorm(x, P(`${key}.weight`), P(`${key}.bias`), 1e-5);
}

/** OpenAI's ResidualAttentionBlock stack, x [B, L, D]. */
function transformer(x: Tensor, P: Params, prefix: string, layers: number, heads: number, activation: (x: Tensor) => Tensor, mask?: Tensor): Tensor {
  for (let i = 0; i < layers; i++) {
    const b = `${prefix}.resblocks.${i}`;
    const attn = {
      inProjWeight: weight(P, `${b}.attn.in_proj_weight`),
      inProjBias: P(`${b}.attn.in_proj_bias`),
      outProjWeight: weight(P, `${b}.attn.out_proj.weight`),
      outProjBias: P(`${b}.attn.out_proj.bias`),
    };
    x = T.add(x, selfAttention(layerNorm(x, P, `${b}.ln_1`), attn, heads, mask));
    const h = linear(layerNorm(x, P, `${b}.ln_2`), weight(P, `${b}.mlp.c_fc.weight`), P(`${b}.mlp.c_fc.bias`));
    x = T.add(x, linear(activation(h), weight(P, `${b}.mlp.c_proj.weight`), P(`${b}.mlp.c_proj.bias`)));
  }
  return x;
}

/** VisionTransformer: pixels [B, 3, S, S] -> image features [B, embed_dim] (before L2 norm). */
export function encodeImageViT(config: ClipConfig, pixels: Tensor, P: Params): Tensor {
  const v = config.vision_cfg;
  const w = v.width;
  const g = gridSize(v);
  let x = T.conv2d(pixels, P("visual.conv1.weight"), { stride: v.patch_size! }); // [B, W, g, g]
  x = T.transpose(T.reshape(x, [0, w, g * g]), [0, 2, 1]); // [B, W, g, g] -> [B, W, g*g] -> [B, g*g, W]
  // the class token enters as a zero row that the (class embedding + positional embedding) addend fills
  x = T.pad(x, 1, 1, 0); // [B, g*g, W] -> [B, 1 + g*g, W]
  const cls = T.pad(T.reshape(P("visual.class_embedding"), [1, w]), 0, 0, g * g); // [W] -> [1, W] -> [1 + g*g, W]
  x = T.add(x, T.add(cls, P("visual.positional_embedding")));
  x = layerNorm(x, P, "visual.ln_pre");
  x = transformer(x, P, "visual.transformer", v.layers as number, visionHeads(v), act(config));
  x = T.reshape(T.slice(x, 1, 0, 1), [0, w]); // [B, 1 + g*g, W] -> [B, 1, W] -> [B, W]
  x = layerNorm(x, P, "visual.ln_post");
  return T.matmul(x, P("visual.proj")); // [B, embed]
}

function batchNorm(x: Tensor, P: Params, key: string, bn: BatchNormState): Tensor {
  if (!bn.training) {
    return batchNormInference(x, P(`${key}.weight`), P(`${key}.bias`), P(`${key}.running_mean`), P(`${key}.running_var`));
  }
  const r = batchNormTraining(x, P(`${key}.weight`), P(`${key}.bias`), P(`${key}.running_mean`), P(`${key}.running_var`));
  bn.updates.set(`${key}.running_mean`, r.runningMean);
  bn.updates.set(`${key}.running_var`, r.runningVar);
  return r.y;
}

function convBn(x: Tensor, P: Params, conv: string, bnKey: string, bn: BatchNormState, padding = 0): Tensor {
  return batchNorm(T.conv2d(x, P(`${conv}.weight`), { padding }), P, bnKey, bn);
}

/** openai/CLIP's Bottleneck: all convs stride 1; an average pool before the third conv when stride > 1 (anti-aliasing). */
function bottleneck(x: Tensor, P: Params, p: string, stride: number, downsample: boolean, bn: BatchNormState): Tensor {
  let out = T.relu(convBn(x, P, `${p}.conv1`, `${p}.bn1`, bn));
  out = T.relu(convBn(out, P, `${p}.conv2`, `${p}.bn2`, bn, 1));
  if (stride > 1) out = T.avgPool2d(out, stride);
  out = convBn(out, P, `${p}.conv3`, `${p}.bn3`, bn);
  let identity = x;
  if (downsample) {
    if (stride > 1) identity = T.avgPool2d(identity, stride);
    identity = convBn(identity, P, `${p}.downsample.0`, `${p}.downsample.1`, bn);
  }
  return T.relu(T.add(out, identity));
}

/** AttentionPool2d: x [B, C, g, g] -> [B, embed_dim], queried by the mean token. */
function attentionPool(x: Tensor, P: Params, heads: number, c: number, g: number): Tensor {
  const hw = g * g;
  let t = T.transpose(T.reshape(x, [0, c, hw]), [0, 2, 1]); // [B, C, g, g] -> [B, C, g*g] -> [B, g*g, C]
  t = T.concat([T.reduceMean(t, [1], true), t], 1); // [B, 1 + g*g, C]
  t = T.add(t, P("visual.attnpool.positional_embedding"));
  const hd = c / heads;
  const split = (y: Tensor, len: number): Tensor => T.transpose(T.reshape(y, [0, len, heads, hd]), [0, 2, 1, 3]); // [B, len, C] -> [B, H, len, hd]
  const q = T.mul(split(linear(T.slice(t, 1, 0, 1), weight(P, "visual.attnpool.q_proj.weight"), P("visual.attnpool.q_proj.bias")), 1), 1 / Math.sqrt(hd));
  const k = split(linear(t, weight(P, "visual.attnpool.k_proj.weight"), P("visual.attnpool.k_proj.bias")), hw + 1);
  const v = split(linear(t, weight(P, "visual.attnpool.v_proj.weight"), P("visual.attnpool.v_proj.bias")), hw + 1);
  const o = T.matmul(T.softmax(T.matmul(q, T.mT(k)), -1), v); // [B, H, 1, hd]
  const merged = T.reshape(T.transpose(o, [0, 2, 1, 3]), [0, c]); // [B, H, 1, hd] -> [B, 1, H, hd] -> [B, C]
  return linear(merged, weight(P, "visual.attnpool.c_proj.weight"), P("visual.attnpool.c_proj.bias"));
}

/** ModifiedResNet: pixels [B, 3, S, S] -> image features [B, embed_dim]. */
export function encodeImageResNet(config: ClipConfig, pixels: Tensor, P: Params, bn: BatchNormState = { training: false, updates: new Map() }): Tensor {
  const v = config.vision_cfg;
  if (!isResNet(v)) throw new InternalError("encodeImageResNet on a ViT config");
  const w = v.width;
  // 3-layer stem: the first conv has stride 2, then an average pool instead of a max pool
  let x = T.relu(batchNorm(T.conv2d(pixels, P("visual.conv1.weight"), { stride: 2, padding: 1 }), P, "visual.bn1", bn));
  x = T.relu(convBn(x, P, "visual.conv2", "visual.bn2", bn, 1));
  x = T.relu(convBn(x, P, "visual.conv3", "visual.bn3", bn, 1));
  x = T.avgPool2d(x, 2);
  let inplanes = w;
  v.layers.forEach((blocks, l) => {
    const planes = w * 2 ** l;
    const stride = l === 0 ? 1 : 2;
    for (let b = 0; b < blocks; b++) {
      const s = b === 0 ? stride : 1;
      x = bottleneck(x, P, `visual.layer${l + 1}.${b}`, s, b === 0 && (stride > 1 || inplanes !== planes * 4), bn);
      inplanes = planes * 4;
    }
  });
  return attentionPool(x, P, visionHeads(v), resnetEmbedWidth(v), gridSize(v));
}

export function encodeImage(config: ClipConfig, pixels: Tensor, P: Params, bn?: BatchNormState): Tensor {
  return isResNet(config.vision_cfg) ? encodeImageResNet(config, pixels, P, bn) : encodeImageViT(config, pixels, P);
}

/**
 * Text transformer: token ids [B, ctx] int64 -> text features [B, embed_dim], pooled at the
 * end-of-text token (the largest id). With `positions` (int64 [L], the values 0..L-1, fed with
 * the ids) the ids may be [B, L] for any L up to ctx: the tower is causal, so ids cut after the
 * batch's last end-of-text token give the features of the full context in fewer operations.
 */
export function encodeText(config: ClipConfig, tokens: Tensor, P: Params, positions?: Tensor): Tensor {
  const t = config.text_cfg;
  let x = T.gather(P("token_embedding.weight"), tokens, 0); // [B, L, W]
  const pos = positions ? T.gather(P("positional_embedding"), positions, 0) : P("positional_embedding"); // [ctx, W] rows 0..L-1 -> [L, W]
  x = T.add(x, pos);
  x = transformer(x, P, "transformer", t.layers, t.heads, act(config), positions ? causalMaskAt(positions) : causalMask(t.context_length));
  x = layerNorm(x, P, "ln_final");
  // x[arange(B), tokens.argmax(-1)] as a one-hot row selection: [B, 1, L] x [B, L, W] -> [B, 1, W]
  const at = T.argmax(T.cast(tokens, "float32"), -1); // [B]
  const eot = positions ? T.cast(T.equal(T.reshape(at, [-1, 1]), T.reshape(positions, [1, -1])), x.dtype) : T.oneHot(at, t.context_length, x.dtype); // [B, L]
  const pooled = T.reshape(T.matmul(T.reshape(eot, [0, 1, -1]), x), [0, t.width]); // [B, 1, W] -> [B, W]
  return T.matmul(pooled, P("text_projection"));
}
