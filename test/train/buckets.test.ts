/**
 * @file Text buckets of a training step (src/train/buckets.ts): the pairs sorted by caption length
 * and cut after each bucket's longest caption give the same loss, gradients and BatchNorm updates
 * as the full context in the original order, for a ResNet and for several captions per image.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { bucketCaptions, bucketSizes } from "../../src/train/buckets.js";
import { buildStepGraph, type TrainGraphSpec } from "../../src/train/graph.js";
import { parseModelCfg } from "../../src/models/clip/config.js";
import { initState } from "../../src/models/clip/init.js";
import { CompiledGraph, type HostTensor } from "../../src/runtime/session.js";
import { Rng } from "../../src/util/rng.js";

const CTX = 12;
const EOT = 99n;

/** Caption rows of the given lengths (start token, words, end-of-text, zero padding) as [rows, CTX]. */
function captions(lengths: number[]): BigInt64Array {
  const t = new BigInt64Array(lengths.length * CTX);
  lengths.forEach((len, r) => {
    t[r * CTX] = 98n;
    for (let j = 1; j < len - 1; j++) t[r * CTX + j] = BigInt(1 + ((r * 7 + j * 3) % 90));
    t[r * CTX + len - 1] = EOT;
  });
  return t;
}

test("bucketCaptions sorts images by their longest caption, keeps each image's captions together and cuts each bucket after its longest", () => {
  assert.deepEqual(bucketSizes(1), [1]);
  assert.deepEqual(bucketSizes(7), [3, 4]);
  const k = 2;
  // image i's two captions: lengths [5, 9], [3, 4], [12, 2], [6, 6]; longest per image 9, 4, 12, 6
  const tokens = captions([5, 9, 3, 4, 12, 2, 6, 6]);
  const pixels = Float32Array.from({ length: 4 * 3 }, (_v, i) => Math.floor(i / 3)); // image i's pixels are all i
  const b = bucketCaptions(pixels, tokens, k, CTX, [2, 2]);
  assert.deepEqual([...b.pixels], [1, 1, 1, 3, 3, 3, 0, 0, 0, 2, 2, 2], "images in the order 1, 3, 0, 2");
  assert.deepEqual(b.feeds["tokens.0"]!.shape, [4, 6]);
  assert.deepEqual(b.feeds["tokens.1"]!.shape, [4, 12]);
  assert.deepEqual([...(b.feeds["positions.0"]!.data as BigInt64Array)], [0n, 1n, 2n, 3n, 4n, 5n]);
  const row = (t: HostTensor, r: number): bigint[] => [...(t.data as BigInt64Array).subarray(r * t.shape[1]!, (r + 1) * t.shape[1]!)];
  const full = (r: number): bigint[] => [...tokens.subarray(r * CTX, (r + 1) * CTX)];
  // bucket 0 holds image 1's captions (rows 2, 3) then image 3's (rows 6, 7), cut to 6 ids
  assert.deepEqual([0, 1, 2, 3].map((r) => row(b.feeds["tokens.0"]!, r)), [2, 3, 6, 7].map((r) => full(r).slice(0, 6)));
  assert.deepEqual([0, 1, 2, 3].map((r) => row(b.feeds["tokens.1"]!, r)), [0, 1, 4, 5].map((r) => full(r)));
});

test("a bucketed step gives the loss, gradients and BatchNorm statistics of the full context", { timeout: 120_000 }, async () => {
  const config = parseModelCfg({
    embed_dim: 16,
    vision_cfg: { image_size: 32, layers: [1, 1, 1, 1], width: 8, head_width: 16 },
    text_cfg: { context_length: CTX, vocab_size: 100, width: 32, heads: 2, layers: 2 },
  });
  const state = initState(config, { seed: 3 });
  const rng = new Rng(5);
  for (const k of [1, 2]) {
    const images = 6;
    const lengths = Array.from({ length: images * k }, () => 2 + Math.floor(rng.next() * (CTX - 1)));
    const tokens = captions(lengths);
    const pixels = Float32Array.from({ length: images * 3 * 32 * 32 }, () => rng.normal());
    const trainable = new Set([...state.keys()].filter((key) => !/running_|num_batches/.test(key)));
    const spec: TrainGraphSpec = { config, loss: "clip", micro: images, batch: images, captionsPerImage: k, trainable, trainBatchNorm: true };
    const params: Record<string, HostTensor> = {};
    for (const [key, t] of state) if (!key.endsWith("num_batches_tracked")) params[key] = { data: t.data, shape: t.shape };
    const plain = await CompiledGraph.compile(buildStepGraph(spec), { threads: 1 });
    const sizes = bucketSizes(images);
    const bucketed = await CompiledGraph.compile(buildStepGraph({ ...spec, textBuckets: sizes.map((n) => n * k) }), { threads: 1 });
    try {
      const want = await plain.run({ ...params, pixels: { data: pixels, shape: [images, 3, 32, 32] }, tokens: { data: tokens, shape: [images * k, CTX] } });
      const b = bucketCaptions(pixels, tokens, k, CTX, sizes);
      assert.ok(b.feeds["tokens.0"]!.shape[1]! < CTX, "the short bucket is cut");
      const got = await bucketed.run({ ...params, pixels: { data: b.pixels, shape: [images, 3, 32, 32] }, ...b.feeds });
      let n = 0;
      for (const [name, t] of Object.entries(want)) {
        const w = t.data as Float32Array;
        const g = got[name]!.data as Float32Array;
        const scale = Math.max(1e-6, ...Array.from(w, Math.abs));
        const diff = Math.max(0, ...Array.from(w, (v, i) => Math.abs(v - g[i]!)));
        assert.ok(diff <= 2e-5 * scale + 1e-7, `K=${k} ${name}: max difference ${diff} (scale ${scale})`);
        n++;
      }
      assert.ok(n > 20 && "bn.visual.bn1.running_mean" in want, `${n} outputs compared`);
    } finally {
      await plain.release();
      await bucketed.release();
    }
  }
});
