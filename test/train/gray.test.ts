/** @file `--aug-gray P`: a short training run with grayscale augmentation is deterministic for a seed and differs from none. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { train } from "../../src/train/index.js";
import { savedWeights, writeTinyConfig } from "../helpers/train.js";

test("a short run with --aug-gray 0.5 is deterministic for a seed and differs from one without", { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-gray-"));
  try {
    const config = writeTinyConfig(dir);
    const run = (name: string, augGray: number) =>
      train({ data: "synth:?n=64&seed=0&size=32", config, vocabSize: 600, batchSize: 8, steps: 3, warmup: 1, seed: 4, threads: 1, augGray, save: path.join(dir, name) });
    const weights = (name: string): Map<string, Float32Array> => savedWeights(path.join(dir, name, "latest"));
    const a = await run("a", 0.5);
    const b = await run("b", 0.5);
    await run("none", 0);
    assert.equal(a.finalLoss, b.finalLoss);
    assert.deepEqual(weights("a"), weights("b"));
    assert.notDeepEqual(weights("a"), weights("none"));
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "a", "args.json"), "utf8")).augGray, 0.5, "saved for --resume");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
