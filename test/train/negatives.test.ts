/**
 * @file NegCLIP's hard negatives (`--hard-negatives`): the loss and its gradient against the formula
 * written out in float64, the synthetic world's aligned negative captions, and a short run that is
 * deterministic for a seed, differs from the plain loss, and refuses what does not apply.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as T from "../../src/ir/tensor.js";
import { clipLoss, clipLossHardNegatives } from "../../src/train/losses.js";
import { train } from "../../src/train/index.js";
import { pickWithNegative } from "../../src/train/run.js";
import { HELDOUT_PAIRS, isHeldout, openDataset, synthScene } from "../../src/data/index.js";
import { savedWeights, writeTinyConfig } from "../helpers/train.js";
import { assertMatchesRef, dotRows, logSumExp, lossAndTextGrad, unitRows } from "../helpers/losses.js";
import { Rng } from "../../src/util/rng.js";
import { UserError } from "../../src/errors.js";

/**
 * txt rows 2i (image i's caption) and 2i+1 (its negative): image -> text is -log softmax over all 2N
 * texts at column 2i; text -> image is -log softmax over the N images at image i, for captions only.
 */
function negClipRef(img: number[][], txt: number[][], scale: number): number {
  const n = img.length;
  const logits = img.map((a) => txt.map((b) => scale * dotRows(a, b))); // [N, 2N]
  let i2t = 0;
  for (let i = 0; i < n; i++) i2t += logSumExp(logits[i]!) - logits[i]![2 * i]!;
  let t2i = 0;
  for (let i = 0; i < n; i++) {
    const col = logits.map((row) => row[2 * i]!);
    t2i += logSumExp(col) - col[i]!;
  }
  return 0.5 * (i2t / n + t2i / n);
}

test("the hard-negative CLIP loss and its gradient match the formula in float64; negatives only ever raise the image->text term", async () => {
  const rng = new Rng(5);
  const n = 4;
  const d = 6;
  const img = unitRows(rng, n, d);
  const txt = unitRows(rng, 2 * n, d);
  const got = await lossAndTextGrad((I, X) => clipLossHardNegatives(I, X, T.scalar(Math.log(10))), img, txt);
  assertMatchesRef(got, (t) => negClipRef(img, t, 10), txt, "hard negatives");
  // the same loss without the negative rows is CLIP's, and lower
  const captions = txt.filter((_r, j) => j % 2 === 0);
  const plain = await lossAndTextGrad((I, X) => clipLoss(I, X, T.scalar(Math.log(10))), img, captions);
  assert.ok(got.loss > plain.loss, `${got.loss} vs ${plain.loss}`);
  // a negative's gradient is nonzero (it enters the image -> text softmax)
  assert.ok(Math.abs(got.gradTxt[1 * d]!) > 0);
  assert.throws(() => clipLossHardNegatives(T.input("a", "float32", [2, 3]), T.input("b", "float32", [3, 3]), T.scalar(1)), /3 text rows for 2 images/);
});

test("synth negatives=1: each caption's negative is the same words with other shapes (or another word), never a held-out pair; the scenes are unchanged", async () => {
  let changedShape = 0;
  for (let i = 0; i < 200; i++) {
    const opts = { n: 200, seed: 3, split: "train" as const };
    const plain = synthScene(i, opts);
    const s = synthScene(i, { ...opts, negatives: true });
    assert.deepEqual({ ...s, negatives: undefined }, { ...plain, negatives: undefined }, `scene ${i} unchanged`);
    assert.equal(s.negatives!.length, s.captions.length);
    s.captions.forEach((c, j) => {
      const neg = s.negatives![j]!;
      assert.notEqual(neg, c, `scene ${i}: "${c}"`);
      const a = c.split(" ");
      const b = neg.split(" ");
      if (s.kind !== "word") {
        // the same template: only shape words differ, and a relation scene's differ in one object
        assert.equal(a.length, b.length, `"${c}" vs "${neg}"`);
        const diff = a.map((w, k) => [w, b[k]!] as const).filter(([w, v]) => w !== v);
        assert.ok(diff.length >= 1 && diff.every(([w]) => /^(circle|square|triangle|star|ring|cross|diamond|hexagon)(s|es)?,?$/.test(w)), `"${c}" vs "${neg}"`);
        changedShape++;
      }
      for (const [color, shape] of HELDOUT_PAIRS) assert.ok(!neg.includes(`${color} ${shape}`), `"${neg}" names a held-out pair`);
    });
  }
  assert.ok(changedShape > 300);
  assert.ok(!isHeldout("red", "star"));
  // the spec option reaches the samples
  const ds = openDataset("synth:?n=4&seed=3&negatives=1");
  for await (const sample of ds) {
    assert.equal(sample.negatives!.length, sample.captions.length);
    const [c, neg] = pickWithNegative(sample, [1, 2, 3]);
    assert.equal(sample.negatives![sample.captions.indexOf(c)], neg);
  }
  assert.throws(() => pickWithNegative({ key: "k", shard: "s", captions: ["a"] }), (e: unknown) => e instanceof UserError && /s:k: --hard-negatives needs a negative caption for each caption/.test(e.message));
});

test("a short run with hard negatives is deterministic for a seed, differs from none, and refuses data without negatives and other losses", { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-negatives-"));
  try {
    const config = writeTinyConfig(dir);
    const run = (name: string, hardNegatives: boolean, data = "synth:?n=64&seed=0&size=32&negatives=1") =>
      train({ data, config, vocabSize: 600, batchSize: 8, steps: 3, warmup: 1, seed: 4, threads: 1, hardNegatives, save: path.join(dir, name) });
    const weights = (name: string): Map<string, Float32Array> => savedWeights(path.join(dir, name, "latest"));
    const a = await run("a", true);
    const b = await run("b", true);
    const none = await run("none", false);
    assert.equal(a.steps, 3);
    assert.equal(a.finalLoss, b.finalLoss);
    assert.deepEqual(weights("a"), weights("b"));
    assert.notEqual(a.finalLoss, none.finalLoss);
    assert.notDeepEqual(weights("a"), weights("none"));
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "a", "args.json"), "utf8")).hardNegatives, true);
    await assert.rejects(run("c", true, "synth:?n=64&seed=0&size=32"), (e: unknown) => e instanceof UserError && /needs a negative caption for each caption/.test(e.message));
    await assert.rejects(
      train({ data: "synth:?n=64&seed=0&size=32&negatives=1", config, vocabSize: 600, batchSize: 4, steps: 1, loss: "siglip", hardNegatives: true, save: path.join(dir, "s") }),
      (e: unknown) => e instanceof UserError && /--hard-negatives takes one caption per image, --accum-freq 1, --loss clip and no label smoothing; got --loss siglip/.test(e.message),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
