/** @file `clip train --cache-images`: a run that crops later epochs from kept decoded images ends on the same weights as one that decodes every time. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { train } from "../../src/train/index.js";
import { savedWeights, writeTinyConfig } from "../helpers/train.js";

test("a run with the decoded-image cache ends on the weights of a run without it", { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-cache-"));
  try {
    const config = writeTinyConfig(dir, true);
    // 24 scenes in batches of 8: steps 4-6 are the second epoch
    const messages: Record<string, string[]> = { cached: [], decoded: [] };
    const run = (name: string, cacheImages: number) =>
      train({ data: "synth:?n=24&seed=0&size=32", config, vocabSize: 600, batchSize: 8, steps: 6, warmup: 1, seed: 2, threads: 2, augScale: [0.4, 1], cacheImages, save: path.join(dir, name), onMessage: (m) => messages[name]!.push(m) });
    const a = await run("cached", 1);
    const b = await run("decoded", 0);
    // the second epoch's 24 images came from the cache
    assert.ok(messages.cached!.some((m) => /^kept 24 decoded images \(0 MiB\) and cropped them 24 times/.test(m)), messages.cached!.join("; "));
    assert.ok(!messages.decoded!.some((m) => m.startsWith("kept ")));
    assert.equal(a.finalLoss, b.finalLoss);
    assert.deepEqual(savedWeights(path.join(dir, "cached", "latest")), savedWeights(path.join(dir, "decoded", "latest")));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
