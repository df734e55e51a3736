/**
 * @file The pool's decoded-image cache (ImagePoolOptions.decodedCache, `clip train --cache-images`):
 * an augmented batch cropped from kept images equals one decoded again, only plain RGB images are
 * kept, the byte budget holds, and evaluation batches neither read nor fill it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { REFERENCE } from "../helpers/shared.js";
import { ImagePool, OPENAI_MEAN, OPENAI_STD, type PreprocessConfig } from "../../src/image/index.node.js";

const cfg: PreprocessConfig = { size: 32, mean: OPENAI_MEAN, std: OPENAI_STD };
const img = (name: string): string => path.join(REFERENCE, "images", name);
// RGB from a path, RGBA (not kept), grayscale L from bytes, palette P from bytes
const inputs = [img("img0_640x480_RGB.png"), img("img5_257x256_RGBA.png"), fs.readFileSync(img("img6_333x222_L.png")), fs.readFileSync(img("img7_400x300_P.png"))];
const keys = ["a", "b", "c", "d"];

test("augmented batches cropped from kept images equal batches decoded again", async () => {
  const cached = new ImagePool(cfg, { threads: 2, chunk: 1, decodedCache: 2 ** 30 });
  const plain = new ImagePool(cfg, { threads: 2, chunk: 1 });
  try {
    const first = await cached.preprocessBatch(inputs, { augment: { seed: 9, scale: [0.3, 1] }, keys });
    assert.deepEqual(first.pixels, (await plain.preprocessBatch(inputs, { augment: { seed: 9, scale: [0.3, 1] } })).pixels);
    const kept = cached.cacheStats();
    assert.equal(kept.hits, 0);
    assert.ok(kept.images >= 2 && kept.images <= 3, `${kept.images} images kept`); // not the RGBA one
    assert.ok(kept.bytes >= 640 * 480 * 3);
    for (const seed of [10, 11]) {
      const again = await cached.preprocessBatch(inputs, { augment: { seed, scale: [0.3, 1], hflip: 0.5 }, keys });
      const fresh = await plain.preprocessBatch(inputs, { augment: { seed, scale: [0.3, 1], hflip: 0.5 } });
      assert.deepEqual(again.pixels, fresh.pixels, `seed ${seed}`);
    }
    assert.equal(cached.cacheStats().hits, 2 * kept.images);
    // evaluation batches decode as always and do not touch the cache
    assert.deepEqual((await cached.preprocessBatch(inputs, { keys })).pixels, (await plain.preprocessBatch(inputs)).pixels);
    assert.equal(cached.cacheStats().hits, 2 * kept.images);
  } finally {
    await cached.close();
    await plain.close();
  }
});

test("the cache keeps images first come until its byte budget is spent, and none without keys", async () => {
  const small = new ImagePool(cfg, { threads: 1, decodedCache: 640 * 480 * 3 });
  const none = new ImagePool(cfg, { threads: 1, decodedCache: 2 ** 30 });
  try {
    await small.preprocessBatch(inputs, { augment: { seed: 1 }, keys });
    assert.deepEqual(small.cacheStats(), { images: 1, bytes: 640 * 480 * 3, hits: 0 });
    await none.preprocessBatch(inputs, { augment: { seed: 1 } });
    assert.deepEqual(none.cacheStats(), { images: 0, bytes: 0, hits: 0 });
  } finally {
    await small.close();
    await none.close();
  }
});
