/**
 * @file Label smoothing of the CLIP loss (`--label-smoothing e`): the loss and its gradient against
 * torch's formula written out in float64, e = 0 as the plain loss, and a short run that is
 * deterministic for a seed, differs from e = 0, and refuses what does not apply.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as T from "../../src/ir/tensor.js";
import { clipLoss } from "../../src/train/losses.js";
import { train } from "../../src/train/index.js";
import { assertRepeatsAndDiffers, shortRun, writeTinyConfig } from "../helpers/train.js";
import { assertMatchesRef, dotRows, logSumExp, lossAndTextGrad, unitRows } from "../helpers/losses.js";
import { Rng } from "../../src/util/rng.js";
import { UserError } from "../../src/errors.js";

/**
 * torch's `cross_entropy(x, y, label_smoothing=e)` of one row: (1 - e) * CE against the positives
 * (spread evenly over them) + e * the mean over the row's C entries of -log softmax.
 */
function smoothedRow(row: number[], positives: number[], e: number): number {
  const lse = logSumExp(row);
  const nll = positives.reduce((s, j) => s + (lse - row[j]!), 0) / positives.length;
  const uniform = row.reduce((s, v) => s + (lse - v), 0) / row.length;
  return (1 - e) * nll + e * uniform;
}

/** The smoothed CLIP loss with K captions per image (image i's at rows i*K .. i*K+K-1 of txt). */
function smoothedClipRef(img: number[][], txt: number[][], scale: number, k: number, e: number): number {
  const n = img.length;
  const logits = img.map((a) => txt.map((b) => scale * dotRows(a, b))); // [N, N*K]
  let i2t = 0;
  for (let i = 0; i < n; i++) i2t += smoothedRow(logits[i]!, Array.from({ length: k }, (_v, j) => i * k + j), e);
  let t2i = 0;
  for (let j = 0; j < n * k; j++) t2i += smoothedRow(logits.map((row) => row[j]!), [Math.floor(j / k)], e);
  return 0.5 * (i2t / n + t2i / (n * k));
}

const smoothedLoss = (img: number[][], txt: number[][], k: number, e: number): Promise<{ loss: number; gradTxt: Float32Array }> =>
  lossAndTextGrad((I, X) => clipLoss(I, X, T.scalar(Math.log(10)), k, e), img, txt);

test("the label-smoothed CLIP loss and its gradient match torch's formula in float64, for one and for three captions per image", async () => {
  const rng = new Rng(11);
  const n = 5;
  const d = 6;
  const img = unitRows(rng, n, d);
  for (const k of [1, 3]) {
    const txt = unitRows(rng, n * k, d);
    for (const e of [0, 0.1, 0.5]) {
      const ref = (t: number[][]): number => smoothedClipRef(img, t, 10, k, e);
      assertMatchesRef(await smoothedLoss(img, txt, k, e), ref, txt, `K=${k} e=${e}`);
    }
    // smoothing raises the loss of confident logits: the smoothed loss differs from the plain one
    const plain = await smoothedLoss(img, txt, k, 0);
    const smooth = await smoothedLoss(img, txt, k, 0.1);
    assert.notEqual(plain.loss, smooth.loss);
  }
  assert.throws(() => clipLoss(T.input("a", "float32", [2, 3]), T.input("b", "float32", [2, 3]), T.scalar(1), 1, 1), /label smoothing 1 is outside \[0, 1\)/);
});

test("a short run with label smoothing is deterministic for a seed, differs from none, and is refused for SigLIP", { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-smoothing-"));
  try {
    const config = writeTinyConfig(dir);
    const run = (name: string, e: number) => shortRun(config, path.join(dir, name), { labelSmoothing: e });
    const a = await run("a", 0.1);
    assert.equal(a.steps, 3);
    assertRepeatsAndDiffers(a, await run("b", 0.1), await run("none", 0));
    // resuming keeps it: args.json holds the run's smoothing
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "a", "args.json"), "utf8")).labelSmoothing, 0.1);
    await assert.rejects(
      train({ data: "synth:?n=64&seed=0&size=32", config, vocabSize: 600, batchSize: 4, steps: 1, loss: "siglip", labelSmoothing: 0.1, save: path.join(dir, "s") }),
      (e: unknown) => e instanceof UserError && /--label-smoothing applies to --loss clip/.test(e.message),
    );
    await assert.rejects(
      train({ data: "synth:?n=64&seed=0&size=32", config, vocabSize: 600, batchSize: 4, steps: 1, labelSmoothing: 1.5, save: path.join(dir, "t") }),
      (e: unknown) => e instanceof UserError && /--label-smoothing must be in \[0, 1\), got 1.5/.test(e.message),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
