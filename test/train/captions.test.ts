/**
 * @file Several captions per image (`--captions-per-image K`): the multi-positive CLIP and SigLIP
 * losses against a float64 computation written out here, which captions a step takes, and a short
 * training run that is deterministic for a seed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as T from "../../src/ir/tensor.js";
import { clipLoss, siglipLoss } from "../../src/train/losses.js";
import { pickCaptions } from "../../src/train/run.js";
import { train } from "../../src/train/index.js";
import { assertRepeatsAndDiffers, shortRun, writeTinyConfig } from "../helpers/train.js";
import { Rng, hashSeed } from "../../src/util/rng.js";
import { UserError } from "../../src/errors.js";
import { assertMatchesRef, dotRows, logSumExp, lossAndTextGrad, unitRows } from "../helpers/losses.js";

/** The multi-positive CLIP loss written out: image i's captions are rows i*K .. i*K+K-1 of txt. */
function clipLossRef(img: number[][], txt: number[][], scale: number, k: number): number {
  const n = img.length;
  const logits = img.map((a) => txt.map((b) => scale * dotRows(a, b))); // [N, N*K]
  let i2t = 0;
  for (let i = 0; i < n; i++) {
    const lse = logSumExp(logits[i]!);
    for (let j = i * k; j < i * k + k; j++) i2t += (lse - logits[i]![j]!) / k;
  }
  let t2i = 0;
  for (let j = 0; j < n * k; j++) {
    const col = logits.map((row) => row[j]!);
    t2i += logSumExp(col) - col[Math.floor(j / k)]!;
  }
  return 0.5 * (i2t / n + t2i / (n * k));
}

/** SigLIP with every caption of an image a positive: -sum log sigmoid(label * (scale * cos + bias)) / N. */
function siglipLossRef(img: number[][], txt: number[][], scale: number, bias: number, k: number): number {
  let sum = 0;
  img.forEach((a, i) =>
    txt.forEach((b, j) => {
      const z = (Math.floor(j / k) === i ? 1 : -1) * (scale * dotRows(a, b) + bias);
      sum += -Math.log(1 / (1 + Math.exp(-z)));
    }),
  );
  return sum / img.length;
}

test("the multi-positive CLIP and SigLIP losses and their gradients match the float64 formulas; K = 1 is the plain loss", async () => {
  const rng = new Rng(7);
  const n = 4;
  const d = 6;
  const img = unitRows(rng, n, d);
  for (const k of [1, 3]) {
    const txt = unitRows(rng, n * k, d);
    for (const kind of ["clip", "siglip"] as const) {
      const ref = (t: number[][]): number => (kind === "clip" ? clipLossRef(img, t, 10, k) : siglipLossRef(img, t, 10, -2, k));
      const got = await lossAndTextGrad((I, X) => (kind === "clip" ? clipLoss(I, X, T.scalar(Math.log(10)), k) : siglipLoss(I, X, T.scalar(Math.log(10)), T.scalar(-2), k)), img, txt);
      assertMatchesRef(got, ref, txt, `${kind} K=${k}`);
    }
  }
  // K = 1 with three caption rows per image is refused: the rows must be N * K
  assert.throws(() => clipLoss(T.input("a", "float32", [2, 3]), T.input("b", "float32", [4, 3]), T.scalar(1)), /4 text rows for 2 images x 1 captions/);
});

test("the captions a step takes: the seeded choice of one as before, K distinct in a seeded order, repeats when an image has fewer", () => {
  const caps = ["a", "b", "c", "d", "e"];
  // K = 1 keeps the run's earlier choice (so earlier runs resume and repeat exactly)
  for (const row of [0, 1, 2, 9]) assert.deepEqual(pickCaptions(caps, 1, [3, 7, row]), [caps[Math.floor((hashSeed(3, "caption", 7, row) / 2 ** 32) * 5)]]);
  const three = pickCaptions(caps, 3, [3, 7, 1]);
  assert.equal(new Set(three).size, 3);
  assert.deepEqual(pickCaptions(caps, 3, [3, 7, 1]), three, "seeded");
  const seen = new Set(Array.from({ length: 40 }, (_v, row) => pickCaptions(caps, 3, [3, 7, row]).join()));
  assert.ok(seen.size > 20, `${seen.size} distinct choices in 40 rows`);
  const seven = pickCaptions(caps, 7, [0, 0, 0]);
  assert.deepEqual([...seven.slice(0, 5)].sort(), caps, "every caption once before any repeats");
  assert.deepEqual(seven.slice(5), seven.slice(0, 2));
  assert.deepEqual(pickCaptions(["x", "y"], 3), ["x", "y", "x"], "without augmentation: the first K, in order");
});

test("a short run with three captions per image is deterministic for a seed and differs from one caption", { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-captions-"));
  try {
    const config = writeTinyConfig(dir);
    const run = (name: string, k: number) => shortRun(config, path.join(dir, name), { captionsPerImage: k });
    const a = await run("a", 3);
    assert.equal(a.steps, 3);
    assertRepeatsAndDiffers(a, await run("b", 3), await run("one", 1));
    // with feature-cached accumulation it is refused with what to change
    await assert.rejects(
      train({ data: "synth:?n=64&seed=0&size=32", config, vocabSize: 600, batchSize: 4, accumFreq: 2, steps: 1, captionsPerImage: 2, save: path.join(dir, "c") }),
      (e: unknown) => e instanceof UserError && /--captions-per-image 2 needs --accum-freq 1/.test(e.message),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
