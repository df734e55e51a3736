/** @file `--aug-gray P`: a short training run with grayscale augmentation is deterministic for a seed and differs from none. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { assertRepeatsAndDiffers, shortRun, writeTinyConfig } from "../helpers/train.js";

test("a short run with --aug-gray 0.5 is deterministic for a seed and differs from one without", { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-gray-"));
  try {
    const config = writeTinyConfig(dir);
    const run = (name: string, augGray: number) => shortRun(config, path.join(dir, name), { augGray });
    assertRepeatsAndDiffers(await run("a", 0.5), await run("b", 0.5), await run("none", 0));
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "a", "args.json"), "utf8")).augGray, 0.5, "saved for --resume");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
