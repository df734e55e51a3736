import { test } from "node:test";
import assert from "node:assert/strict";
import { type ClipConfig, checkState, expectedParams, parseModelCfg } from "../../src/models/clip/config.js";
import { INIT_LOGIT_SCALE, describeInit, initState } from "../../src/models/clip/init.js";

const vit: ClipConfig = parseModelCfg({
  embed_dim: 32,
  vision_cfg: { image_size: 32, layers: 2, width: 64, patch_size: 8 },
  text_cfg: { context_length: 16, vocab_size: 500, width: 64, heads: 4, layers: 2 },
});
const rn: ClipConfig = parseModelCfg({
  embed_dim: 32,
  vision_cfg: { image_size: 64, layers: [1, 2, 1, 1], width: 16, patch_size: null },
  text_cfg: { context_length: 16, vocab_size: 500, width: 64, heads: 4, layers: 2 },
});

function stats(x: Float32Array): { mean: number; std: number; min: number; max: number } {
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of x) {
    s += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = s / x.length;
  let q = 0;
  for (const v of x) q += (v - mean) ** 2;
  return { mean, std: Math.sqrt(q / x.length), min, max };
}

test("initState creates every expected key with its shape, deterministic per seed", () => {
  for (const config of [vit, rn]) {
    const a = initState(config, { seed: 7 });
    checkState(config, a, "init");
    assert.deepEqual([...a.keys()], expectedParams(config).filter((p) => !p.optional).map((p) => p.key));
    const b = initState(config, { seed: 7 });
    for (const [k, t] of a) assert.deepEqual(t.data, b.get(k)!.data, k);
    const c = initState(config, { seed: 8 });
    assert.notDeepEqual(a.get("token_embedding.weight")!.data, c.get("token_embedding.weight")!.data);
  }
  const withCounters = initState(rn, { numBatchesTracked: true });
  assert.deepEqual([...withCounters.get("visual.bn1.num_batches_tracked")!.data], [0]);
});

test("init follows open_clip's scheme", () => {
  const s = initState(vit, { seed: 1 });
  const d = (k: string): Float32Array => s.get(k)!.data;
  assert.equal(d("logit_scale")[0], Math.fround(INIT_LOGIT_SCALE));
  assert.ok(Math.abs(INIT_LOGIT_SCALE - 2.659260036932778) < 1e-12);
  const close = (got: number, want: number, tol: number, what: string): void => assert.ok(Math.abs(got - want) <= tol * want, `${what}: ${got} vs ${want}`);
  close(stats(d("token_embedding.weight")).std, 0.02, 0.03, "token_embedding std");
  close(stats(d("positional_embedding")).std, 0.01, 0.1, "positional_embedding std");
  close(stats(d("text_projection")).std, 64 ** -0.5, 0.1, "text_projection std");
  close(stats(d("transformer.resblocks.0.attn.in_proj_weight")).std, 64 ** -0.5, 0.05, "text attn std");
  close(stats(d("transformer.resblocks.1.attn.out_proj.weight")).std, 64 ** -0.5 * 4 ** -0.5, 0.1, "text proj std");
  close(stats(d("transformer.resblocks.0.mlp.c_fc.weight")).std, 128 ** -0.5, 0.05, "text fc std");
  close(stats(d("visual.class_embedding")).std, 64 ** -0.5, 0.35, "class_embedding std");
  // vision blocks keep PyTorch defaults: xavier-uniform in_proj, kaiming-uniform Linear / Conv2d
  const inProj = stats(d("visual.transformer.resblocks.0.attn.in_proj_weight"));
  const bound = Math.sqrt(6 / (64 + 192));
  assert.ok(inProj.max <= bound && inProj.min >= -bound && inProj.max > 0.95 * bound);
  const conv = stats(d("visual.conv1.weight"));
  assert.ok(conv.max <= 1 / Math.sqrt(192) && conv.max > 0.95 / Math.sqrt(192));
  const fcBias = stats(d("visual.transformer.resblocks.0.mlp.c_proj.bias"));
  assert.ok(fcBias.max <= 1 / Math.sqrt(256));
  assert.deepEqual(new Set(d("visual.transformer.resblocks.0.attn.in_proj_bias")), new Set([0]));
  assert.deepEqual(new Set(d("transformer.resblocks.0.attn.out_proj.bias")), new Set([0]));
  assert.deepEqual(new Set(d("visual.ln_pre.weight")), new Set([1]));
  assert.deepEqual(new Set(d("ln_final.bias")), new Set([0]));
  assert.equal(describeInit(vit, "token_embedding.weight"), "normal(std=0.02)");

  const r = initState(rn, { seed: 1 });
  const rd = (k: string): Float32Array => r.get(k)!.data;
  assert.deepEqual(new Set(rd("visual.layer2.1.bn3.weight")), new Set([0])); // zero-init last BN of each bottleneck
  assert.deepEqual(new Set(rd("visual.bn3.weight")), new Set([1])); // the stem's bn3 is not in a layer
  assert.deepEqual(new Set(rd("visual.layer1.0.downsample.1.weight")), new Set([1]));
  assert.deepEqual(new Set(rd("visual.layer1.0.bn1.running_var")), new Set([1]));
  assert.deepEqual(new Set(rd("visual.layer1.0.bn1.running_mean")), new Set([0]));
  close(stats(rd("visual.attnpool.q_proj.weight")).std, 512 ** -0.5, 0.02, "attnpool q std");
  close(stats(rd("visual.attnpool.c_proj.weight")).std, 512 ** -0.5, 0.05, "attnpool c_proj std");
  assert.ok(stats(rd("visual.attnpool.k_proj.bias")).max <= 1 / Math.sqrt(512));
});
