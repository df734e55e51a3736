import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { UserError } from "../../src/errors.js";
import {
  buildZeroShotClassifier,
  buildZeroShotClassifierFromPrompts,
  classificationMetrics,
  classify,
  evaluateZeroShot,
  parseClassnames,
  parseLabelList,
  renderClassificationMarkdown,
  validateClassnames,
  validateLabels,
} from "../../src/eval/zeroshot.js";
import { FakeEmbedder, rows } from "./fake_embedder.js";

function unit(v: number[]): number[] {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

test("ensembling: mean of the normalized template embeddings, re-normalized", async () => {
  const table = new Map<string, number[]>([
    ["a cat.", [3, 0, 4, 0]], // norm 5
    ["the cat!", [0, 1, 0, 0]], // norm 1
    ["a photo of cat", [1, 1, 1, 1]], // norm 2
    ["a dog.", [0, 0, 0, -2]],
    ["the dog!", [1, 0, 0, 0]],
    ["a photo of dog", [0, 10, 0, 0]],
  ]);
  const emb = new FakeEmbedder(4, 100, table);
  const templates = ["a {}.", "the {}!", "a photo of {}"];
  const w = await buildZeroShotClassifier(emb, ["cat", "dog"], templates);
  assert.equal(w.n, 2);
  assert.equal(w.dim, 4);
  assert.equal(w.cached, false);
  for (const [c, name] of ["cat", "dog"].entries()) {
    const vs = templates.map((t) => unit(table.get(t.replace("{}", name))!));
    const mean = [0, 1, 2, 3].map((j) => vs.reduce((s, v) => s + v[j]!, 0) / vs.length);
    const expected = unit(mean);
    for (let j = 0; j < 4; j++) assert.ok(Math.abs(w.data[c * 4 + j]! - expected[j]!) < 1e-6, `class ${name} dim ${j}`);
  }
  // hand-computed for cat: (0.6,0,0.8,0)+(0,1,0,0)+(0.5,0.5,0.5,0.5) = (1.1,1.5,1.3,0.5), norm sqrt(4.8)
  const n = Math.sqrt(1.1 ** 2 + 1.5 ** 2 + 1.3 ** 2 + 0.5 ** 2);
  assert.ok(Math.abs(w.data[0]! - 1.1 / n) < 1e-6);
  assert.ok(Math.abs(w.data[1]! - 1.5 / n) < 1e-6);
});

test("ensembling works across encode chunks (chunkTexts smaller than the class count)", async () => {
  const emb = new FakeEmbedder(8);
  const names = ["a", "b", "c", "d", "e"];
  const tpl = ["x {}", "y {}"];
  const whole = await buildZeroShotClassifier(emb, names, tpl);
  const calls = emb.textCalls;
  const chunked = await buildZeroShotClassifier(emb, names, tpl, { chunkTexts: 3 });
  assert.equal(emb.textCalls - calls, 5); // one class (2 texts) per call
  assert.deepEqual(Array.from(chunked.data), Array.from(whole.data));
});

test("per-class prompts: each class's own list (any length) ensembled like templates; a template list gives the same weights", async () => {
  const table = new Map<string, number[]>([
    ["one star", [3, 0, 4, 0]], // norm 5
    ["two stars", [0, 2, 0, 0]], // norm 2
    ["a cross", [0, 0, 0, -2]],
  ]);
  const emb = new FakeEmbedder(4, 100, table);
  const w = await buildZeroShotClassifierFromPrompts(emb, ["star", "cross"], [["one star", "two stars"], ["a cross"]]);
  assert.deepEqual(w.prompts, [["one star", "two stars"], ["a cross"]]);
  assert.deepEqual(w.templates, []);
  // star: ((0.6, 0, 0.8, 0) + (0, 1, 0, 0)) / 2, re-normalized: norm of (0.6, 1, 0.8, 0) is sqrt(2)
  const expected = [0.6 / Math.SQRT2, 1 / Math.SQRT2, 0.8 / Math.SQRT2, 0, 0, 0, 0, -1];
  expected.forEach((v, j) => assert.ok(Math.abs(w.data[j]! - v) < 1e-6, `entry ${j}: ${w.data[j]} vs ${v}`));
  // chunked by whole classes: a class longer than the chunk still goes in one call
  const names = ["a", "b", "c"];
  const prompts = [["x a", "y a", "z a"], ["x b"], ["x c", "y c"]];
  const whole = await buildZeroShotClassifierFromPrompts(emb, names, prompts);
  const calls = emb.textCalls;
  const chunked = await buildZeroShotClassifierFromPrompts(emb, names, prompts, { chunkTexts: 2 });
  assert.equal(emb.textCalls - calls, 3);
  assert.deepEqual(Array.from(chunked.data), Array.from(whole.data));
  const viaTemplates = await buildZeroShotClassifier(emb, names, ["x {}", "y {}"]);
  const viaPrompts = await buildZeroShotClassifierFromPrompts(emb, names, names.map((n) => [`x ${n}`, `y ${n}`]));
  assert.deepEqual(Array.from(viaPrompts.data), Array.from(viaTemplates.data));
});

test("per-class prompts are checked before any text is encoded", async () => {
  const emb = new FakeEmbedder(4);
  const bad = (prompts: string[][], re: RegExp) =>
    assert.rejects(buildZeroShotClassifierFromPrompts(emb, ["star", "cross"], prompts), (e: Error) => e instanceof UserError && re.test(e.message));
  await bad([["a star"]], /1 prompt lists for 2 classes/);
  await bad([["a star"], []], /class "cross" has no prompts/);
  await bad([["a star", " "], ["a cross"]], /class "star" has an empty prompt/);
  await bad([["a star", "a star"], ["a cross"]], /class "star" repeats the prompt "a star"/);
  assert.equal(emb.textCalls, 0);
});

test("zero-shot metrics on known geometry match hand computation", () => {
  // class embeddings: the basis vectors of R^3
  const weights = rows([
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ]);
  const images = rows([
    [1, 0.2, 0], // y0 -> pred 0
    [0.9, 0.1, 0], // y0 -> pred 0
    [0.1, 0.9, 0.5], // y2 -> pred 1 (label ranked 2nd)
    [0, 1, 0], // y1 -> pred 1
    [0.2, 0.3, 1], // y2 -> pred 2
    [1, 1, 0], // y1 -> tie between 0 and 1: lower index, pred 0 (label ranked 2nd)
  ]);
  const labels = [0, 0, 2, 1, 2, 1];
  const m = evaluateZeroShot(images, labels, weights, 100);
  assert.equal(m.n, 6);
  assert.equal(m.top1, 4 / 6);
  assert.equal(m.top5, 1); // 3 classes: top-3 always right
  assert.deepEqual(m.confusion, [
    [2, 0, 0],
    [1, 1, 0],
    [0, 1, 1],
  ]);
  assert.deepEqual(m.support, [2, 2, 2]);
  assert.deepEqual(m.perClassRecall, [1, 0.5, 0.5]);
  assert.equal(m.meanPerClassRecall, 2 / 3);

  // top-k with k < classes: 7 classes, label ranked 6th misses top-5
  const s = Float32Array.from([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, /**/ 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]);
  const m2 = classificationMetrics(s, 2, 7, [5, 4]);
  // sample 0: label 5 ranked 5 (0-based) -> miss; sample 1: all tied, label 4 ranked 4 -> hit
  assert.equal(m2.top5, 0.5);
  assert.equal(m2.top1, 0);
  assert.deepEqual(m2.perClassRecall, [null, null, null, null, 0, 0, null]);
  assert.equal(m2.meanPerClassRecall, 0);
});

test("classify returns softmax(logitScale * cosine) and the top classes", () => {
  const weights = rows([
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ]);
  const img = rows([[3, 4, 0]]); // unit: (0.6, 0.8, 0); not normalized on input
  const r = classify(img, weights, 10, 2);
  const e = [Math.exp(6), Math.exp(8), Math.exp(0)];
  const z = e[0]! + e[1]! + e[2]!;
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(r.probs[c]! - e[c]! / z) < 1e-6);
  assert.deepEqual(
    r.top[0]!.map((p) => p.index),
    [1, 0],
  );
  assert.ok(Math.abs(r.top[0]![0]!.prob - e[1]! / z) < 1e-6);
});

test("label and template validation happens before any text is encoded", async () => {
  const emb = new FakeEmbedder(4);
  await assert.rejects(buildZeroShotClassifier(emb, ["cat", "dog", "cat"], ["a {}"]), (e: Error) => e instanceof UserError && /duplicate class name "cat"/.test(e.message));
  await assert.rejects(buildZeroShotClassifier(emb, ["cat", ""], ["a {}"]), (e: Error) => e instanceof UserError && /class 2 is an empty name/.test(e.message));
  await assert.rejects(buildZeroShotClassifier(emb, ["cat", "dog"], ["a photo"]), (e: Error) => e instanceof UserError && /no "\{\}" placeholder/.test(e.message));
  await assert.rejects(buildZeroShotClassifier(emb, ["cat"], ["a {}"]), UserError);
  assert.equal(emb.textCalls, 0);
});

test("label lists and class-name files", () => {
  assert.deepEqual(parseLabelList(" cat, dog ,bird"), ["cat", "dog", "bird"]);
  assert.throws(() => parseLabelList("cat,,dog"), /class 2 is an empty name/);
  assert.throws(() => parseLabelList("cat,dog,cat"), /duplicate class name "cat"/);
  assert.deepEqual(parseClassnames("airplane\nautomobile\r\nbird\n\n", "c.txt"), ["airplane", "automobile", "bird"]);
  assert.throws(() => parseClassnames("a\n\nb\n", "c.txt"), (e: Error) => e instanceof UserError && e.message === "c.txt:2: empty class name");
  assert.throws(() => parseClassnames("a\nb\na\n", "c.txt"), /c\.txt:3: duplicate class name "a" \(first on line 1\)/);
  assert.throws(() => validateClassnames([]), UserError);
});

test("a label beyond the class list is a clear error", () => {
  assert.throws(
    () => validateLabels([0, 3, 10], 10, "cifar10", ["000000", "000001", "000002"]),
    (e: Error) => e instanceof UserError && /cifar10: sample "000002" has class 10, outside the 10 class names/.test(e.message),
  );
  assert.throws(() => validateLabels([0, -1], 3), /sample 1 has class -1/);
  assert.throws(() => validateLabels([0, 1.5], 3), /class 1.5/);
  const w = rows([
    [1, 0],
    [0, 1],
  ]);
  assert.throws(() => evaluateZeroShot(rows([[1, 0]]), [2], w, 100), (e: Error) => e instanceof UserError && /has class 2/.test(e.message));
});

test("weights cache: second build reads the cache and encodes nothing; the key covers classes and templates", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "clip-zs-"));
  try {
    const emb = new FakeEmbedder(6);
    const opts = { cacheDir: dir, modelId: { name: "fake", v: 1 } };
    const a = await buildZeroShotClassifier(emb, ["cat", "dog"], ["a {}", "b {}"], opts);
    assert.equal(a.cached, false);
    const calls = emb.textCalls;
    const b = await buildZeroShotClassifier(emb, ["cat", "dog"], ["a {}", "b {}"], opts);
    assert.equal(b.cached, true);
    assert.equal(emb.textCalls, calls);
    assert.deepEqual(Array.from(b.data), Array.from(a.data));
    const c = await buildZeroShotClassifier(emb, ["cat", "dog"], ["a {}"], opts);
    assert.equal(c.cached, false);
    const d = await buildZeroShotClassifier(emb, ["dog", "cat"], ["a {}", "b {}"], opts);
    assert.equal(d.cached, false);
    const e = await buildZeroShotClassifier(emb, ["cat", "dog"], ["a {}", "b {}"], { ...opts, modelId: "other" });
    assert.equal(e.cached, false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("Markdown report has the metrics, per-class recall and the confusion matrix", () => {
  const m = classificationMetrics(Float32Array.from([0.9, 0.1, 0.2, 0.8, 0.7, 0.3]), 3, 2, [0, 1, 1]);
  const md = renderClassificationMarkdown(m, ["cat", "dog|wolf"]);
  assert.match(md, /\| top-1 accuracy \| 66\.67 \|/);
  assert.match(md, /\| mean per-class recall \| 75\.00 \|/);
  assert.match(md, /\| dog\\\|wolf \| 2 \| 50\.00 \|/);
  assert.match(md, /\| cat \| 1 \| 0 \|/);
  assert.match(md, /\| dog\\\|wolf \| 1 \| 1 \|/);
});
