/** @file Preprocessing equals the reference tensors of openai/CLIP's clip._transform (PIL + torchvision). */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { REFERENCE } from "../helpers/shared.js";
import { OPENAI_MEAN, OPENAI_STD, preprocessImage, type PreprocessConfig } from "../../src/image/index.node.js";
import { maxAbsDiff, readSafetensors } from "./safetensors.js";

const tensors = readSafetensors(path.join(REFERENCE, "preprocess.safetensors"));

test("reference file lists NAME@224 and NAME@32 tensors", () => {
  assert.ok(tensors.size >= 16, `expected at least 16 tensors, got ${tensors.size}`);
});

for (const [key, t] of tensors) {
  const [file, size] = key.split("@") as [string, string];
  test(`preprocess ${key} within 1e-5 of the reference`, async () => {
    const n = Number(size);
    assert.deepEqual(t.shape, [3, n, n]);
    const cfg: PreprocessConfig = { size: n, mean: OPENAI_MEAN, std: OPENAI_STD };
    const got = await preprocessImage(path.join(REFERENCE, "images", file), cfg);
    const d = maxAbsDiff(got, t.data);
    assert.ok(d <= 1e-5, `${key}: max |diff| = ${d}`);
  });
}
