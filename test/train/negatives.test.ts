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
import { hardNegativeCount, pickWithNegatives } from "../../src/train/run.js";
import { HELDOUT_PAIRS, isHeldout, openDataset, synthScene } from "../../src/data/index.js";
import { assertRepeatsAndDiffers, shortRun, writeTinyConfig } from "../helpers/train.js";
import { assertMatchesRef, dotRows, logSumExp, lossAndTextGrad, unitRows } from "../helpers/losses.js";
import { Rng } from "../../src/util/rng.js";
import { UserError } from "../../src/errors.js";

/**
 * txt rows K*i (image i's caption) and K*i+1 .. K*i+K-1 (its negatives): image -> text is -log
 * softmax over all N*K texts at column K*i; text -> image is -log softmax over the N images at
 * image i, for captions only.
 */
function negClipRef(img: number[][], txt: number[][], scale: number, k: number): number {
  const n = img.length;
  const logits = img.map((a) => txt.map((b) => scale * dotRows(a, b))); // [N, N*K]
  let i2t = 0;
  for (let i = 0; i < n; i++) i2t += logSumExp(logits[i]!) - logits[i]![k * i]!;
  let t2i = 0;
  for (let i = 0; i < n; i++) {
    const col = logits.map((row) => row[k * i]!);
    t2i += logSumExp(col) - col[i]!;
  }
  return 0.5 * (i2t / n + t2i / n);
}

for (const k of [2, 4]) {
  test(`the hard-negative CLIP loss with ${k - 1} negative(s) per caption and its gradient match the formula in float64; negatives only ever raise the image->text term`, async () => {
    const rng = new Rng(5 + k);
    const n = 4;
    const d = 6;
    const img = unitRows(rng, n, d);
    const txt = unitRows(rng, k * n, d);
    const got = await lossAndTextGrad((I, X) => clipLossHardNegatives(I, X, T.scalar(Math.log(10)), k), img, txt);
    assertMatchesRef(got, (t) => negClipRef(img, t, 10, k), txt, "hard negatives");
    // the same loss without the negative rows is CLIP's, and lower
    const captions = txt.filter((_r, j) => j % k === 0);
    const plain = await lossAndTextGrad((I, X) => clipLoss(I, X, T.scalar(Math.log(10))), img, captions);
    assert.ok(got.loss > plain.loss, `${got.loss} vs ${plain.loss}`);
    // every negative's gradient is nonzero (it enters the image -> text softmax)
    for (let j = 1; j < k; j++) assert.ok(Math.abs(got.gradTxt[j * d]!) > 0);
  });
}

test("the hard-negative loss refuses text rows that are not K per image", () => {
  assert.throws(() => clipLossHardNegatives(T.input("a", "float32", [2, 3]), T.input("b", "float32", [3, 3]), T.scalar(1)), /3 text rows for 2 images with a caption and 1 negatives each/);
  assert.throws(() => clipLossHardNegatives(T.input("a", "float32", [2, 3]), T.input("b", "float32", [6, 3]), T.scalar(1), 4), /6 text rows for 2 images with a caption and 3 negatives each/);
});

const SHAPE_WORD = /^(circle|square|triangle|star|ring|cross|diamond|hexagon)(s|es)?,?$/;

test("synth negatives=K: each caption's K negatives are its words with other shapes (or another word), distinct, never a held-out pair; the scenes are unchanged; K=1 is the first of K=6", async () => {
  let changedShape = 0;
  const opts = { n: 200, seed: 3, split: "train" as const };
  for (let i = 0; i < 200; i++) {
    const plain = synthScene(i, opts);
    const one = synthScene(i, { ...opts, negatives: 1 });
    const s = synthScene(i, { ...opts, negatives: 6 });
    assert.deepEqual({ ...s, negatives: undefined }, { ...plain, negatives: undefined }, `scene ${i} unchanged`);
    assert.equal(s.negatives!.length, s.captions.length);
    assert.deepEqual(one.negatives, s.negatives!.map((negs) => negs.slice(0, 1)), `scene ${i}: negatives=1 is the first twin of negatives=6`);
    s.captions.forEach((c, j) => {
      const negs = s.negatives![j]!;
      assert.equal(negs.length, 6);
      assert.equal(new Set([c, ...negs]).size, 7, `scene ${i}: "${c}" and its negatives ${JSON.stringify(negs)} are all different`);
      for (const neg of negs) {
        const a = c.split(" ");
        const b = neg.split(" ");
        if (s.kind !== "word") {
          // the same template: only shape words differ, and a relation scene's differ in one object
          assert.equal(a.length, b.length, `"${c}" vs "${neg}"`);
          const diff = a.map((w, k) => [w, b[k]!] as const).filter(([w, v]) => w !== v);
          assert.ok(diff.length >= 1 && diff.every(([w, v]) => SHAPE_WORD.test(w) && SHAPE_WORD.test(v)), `"${c}" vs "${neg}"`);
          changedShape++;
        }
        for (const [color, shape] of HELDOUT_PAIRS) assert.ok(!neg.includes(`${color} ${shape}`), `"${neg}" names a held-out pair`);
      }
    });
    if (s.kind === "relation") {
      // the twins take turns with the two objects: some negatives change the first object's words, some the second's
      const c = s.captions[0]!;
      const firstDiff = s.negatives![0]!.map((neg) => neg.split(" ").findIndex((w, k) => w !== c.split(" ")[k]));
      assert.ok(new Set(firstDiff).size >= 2, `scene ${i}: "${c}" vs ${JSON.stringify(s.negatives![0])}`);
    }
  }
  assert.ok(changedShape > 1500);
  assert.ok(!isHeldout("red", "star"));
  // the spec option reaches the samples, and picking takes the caption's first k negatives
  const ds = openDataset("synth:?n=4&seed=3&negatives=3");
  for await (const sample of ds) {
    assert.equal(sample.negatives!.length, sample.captions.length);
    const [c, ...negs] = pickWithNegatives(sample, 2, [1, 2, 3]);
    assert.deepEqual(negs, sample.negatives![sample.captions.indexOf(c!)]!.slice(0, 2));
    assert.throws(() => pickWithNegatives(sample, 4), (e: unknown) => e instanceof UserError && /--hard-negatives 4 needs 4 negative captions for each caption \(synth data with negatives=4 or more\), got 3 for some caption/.test(e.message));
  }
  assert.throws(() => pickWithNegatives({ key: "k", shard: "s", captions: ["a"] }, 1), (e: unknown) => e instanceof UserError && /s:k: --hard-negatives 1 needs 1 negative caption for each caption .*got negatives for 0 of its 1 captions/.test(e.message));
  assert.throws(() => openDataset("synth:?n=4&negatives=7"), (e: unknown) => e instanceof UserError && /synth option negatives=7: expected an integer in \[0, 6\]/.test(e.message));
  // runs saved before counts say true
  assert.equal(hardNegativeCount({ hardNegatives: true as unknown as number }), 1);
  assert.equal(hardNegativeCount({}), 0);
  assert.equal(hardNegativeCount({ hardNegatives: 3 }), 3);
});

test("a short run with hard negatives is deterministic for a seed, differs from none, and refuses data without negatives and other losses", { timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-negatives-"));
  try {
    const config = writeTinyConfig(dir);
    const run = (name: string, hardNegatives: number, data = "synth:?n=64&seed=0&size=32&negatives=2") => shortRun(config, path.join(dir, name), { data, hardNegatives });
    const a = await run("a", 2);
    assert.equal(a.steps, 3);
    assertRepeatsAndDiffers(a, await run("b", 2), await run("one", 1), await run("none", 0));
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, "a", "args.json"), "utf8")).hardNegatives, 2);
    await assert.rejects(run("c", 1, "synth:?n=64&seed=0&size=32"), (e: unknown) => e instanceof UserError && /needs 1 negative caption for each caption/.test(e.message));
    await assert.rejects(
      train({ data: "synth:?n=64&seed=0&size=32&negatives=1", config, vocabSize: 600, batchSize: 4, steps: 1, loss: "siglip", hardNegatives: 1, save: path.join(dir, "s") }),
      (e: unknown) => e instanceof UserError && /--hard-negatives takes one caption per image, --accum-freq 1, --loss clip and no label smoothing; got --loss siglip/.test(e.message),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
