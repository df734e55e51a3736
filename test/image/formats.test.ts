/**
 * @file Every format and PIL mode against Pillow 9.4 + torchvision 0.14 tensors made by
 * fixtures/make_fixtures.py: all resize modes, both interpolations, and a crop-then-resize box.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../helpers/shared.js";
import { decodeImage, OPENAI_MEAN, OPENAI_STD, preprocessImage, type PreprocessConfig } from "../../src/image/index.node.js";
import { normalizeLut, resizeWindowRGB, toTensor } from "../../src/image/transform.js";
import { maxAbsDiff, readSafetensors } from "./safetensors.js";

const DIR = path.join(ROOT, "test/image/fixtures");
const expected = readSafetensors(path.join(DIR, "expected.safetensors"));
interface Case {
  key: string;
  file: string;
  size: number;
  resizeMode?: PreprocessConfig["resizeMode"];
  interpolation?: PreprocessConfig["interpolation"];
  crop?: [number, number, number, number];
  pilMode: string;
}
const manifest = JSON.parse(readFileSync(path.join(DIR, "manifest.json"), "utf8")) as Case[];

for (const c of manifest) {
  test(`${c.key} (PIL mode ${c.pilMode}) within 1e-5 of Pillow`, async () => {
    const want = expected.get(c.key);
    assert.ok(want, `missing tensor ${c.key}`);
    const file = path.join(DIR, "images", c.file);
    let got: Float32Array;
    if (c.crop) {
      const [x, y, w, h] = c.crop;
      const img = await decodeImage(file);
      const n = c.size;
      const rgb = resizeWindowRGB(img, { x, y, w, h }, n, n, "bicubic", { x0: 0, y0: 0, x1: n, y1: n }, 0);
      got = new Float32Array(3 * n * n);
      toTensor(rgb, n, normalizeLut(OPENAI_MEAN, OPENAI_STD), got, 0);
    } else {
      const cfg: PreprocessConfig = {
        size: c.size,
        mean: OPENAI_MEAN,
        std: OPENAI_STD,
        resizeMode: c.resizeMode,
        interpolation: c.interpolation,
      };
      got = await preprocessImage(file, cfg);
    }
    const d = maxAbsDiff(got, want.data);
    assert.ok(d <= 1e-5, `${c.key}: max |diff| = ${d}`);
  });
}

test("decoded PIL modes follow Pillow's choice per format", async () => {
  const modes: Record<string, string> = {};
  for (const c of manifest) modes[c.file] = c.pilMode;
  const ours: Record<string, string> = {};
  for (const file of Object.keys(modes)) ours[file] = (await decodeImage(path.join(DIR, "images", file))).mode ?? "RGB";
  // Pillow's "RGBA" for 16-bit grey+alpha, "I" for 16-bit grey, "P"/"L"/"1" for palettes
  for (const [file, m] of Object.entries(modes)) assert.equal(ours[file], m, file);
});
