import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DATASETS, REFERENCE } from "../helpers/shared.js";
import { runClip as clip, type Run } from "../helpers/cli.js";

const MODEL = path.join(REFERENCE, "vit-tiny");
const CIFAR = path.join(DATASETS, "cifar10");
const FLICKR_DEV = path.join(DATASETS, "flickr8k/dev-000000.tar");


/** Exactly one JSON document on stdout. */
function json(r: Run): Record<string, unknown> {
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1, "stdout is one JSON document");
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

function isFraction(x: unknown): boolean {
  return typeof x === "number" && x >= 0 && x <= 1;
}

test("clip eval zeroshot on CIFAR-10 with a tiny checkpoint: the documented JSON, then the same from the cache", async () => {
  const cache = await mkdtemp(path.join(tmpdir(), "clip-eval-cache-"));
  try {
    const args = ["eval", "zeroshot", "--model", MODEL, "--data", CIFAR, "--limit", "120", "--templates", "cifar10", "--batch-size", "50", "--json"];
    const d = json(await clip([...args, "--cache-dir", cache]));
    assert.equal(d.task, "zeroshot");
    assert.equal(d.samples, 120);
    assert.equal(d.classes, 10);
    assert.deepEqual((d.classnames as string[]).slice(0, 2), ["airplane", "automobile"]);
    assert.deepEqual(d.templates, { source: "cifar10", count: 18 });
    const m = d.metrics as Record<string, number>;
    assert.ok(isFraction(m.top1) && isFraction(m.top5) && isFraction(m.meanPerClassRecall));
    assert.ok(m.top5! >= m.top1!);
    const confusion = d.confusion as number[][];
    assert.equal(confusion.length, 10);
    assert.equal(confusion.flat().reduce((a, b) => a + b, 0), 120);
    const trace = confusion.reduce((s, row, i) => s + row[i]!, 0);
    assert.ok(Math.abs(m.top1! - trace / 120) < 1e-6);
    const perClass = d.perClass as { class: string; samples: number; recall: number | null }[];
    assert.equal(perClass.length, 10);
    assert.equal(perClass.reduce((s, p) => s + p.samples, 0), 120);
    assert.deepEqual(d.cached, { images: false, classifier: false });
    const t = d.timing as Record<string, number>;
    assert.ok(t.totalSeconds! > 0 && t.imageEncodeSeconds! > 0);

    const again = json(await clip([...args, "--cache-dir", cache]));
    assert.deepEqual(again.cached, { images: true, classifier: true });
    assert.deepEqual(again.metrics, d.metrics);
    assert.deepEqual(again.confusion, d.confusion);
  } finally {
    await rm(cache, { recursive: true, force: true });
  }
});

test("clip eval zeroshot on CIFAR-10 class names uses the paper's 18 CIFAR templates unless told otherwise", async () => {
  const d = json(await clip(["eval", "zeroshot", "--model", MODEL, "--data", CIFAR, "--limit", "20", "--json"]));
  assert.deepEqual(d.templates, { source: "cifar10", count: 18 });
});

test("clip eval zeroshot takes a dataset's own prompts: the synthetic world's shape view names each shape in its count forms in every color", async () => {
  const d = json(await clip(["eval", "zeroshot", "--model", MODEL, "--data", "synth:?n=40&seed=3&split=val&task=shape&size=64", "--json"]));
  assert.equal(d.samples, 40);
  assert.deepEqual(d.templates, { source: "dataset prompts", count: 8 * 8 * 4 });
  assert.deepEqual(d.classnames, ["circle", "square", "triangle", "star", "ring", "cross", "diamond", "hexagon"]);
});

test("clip eval zeroshot prints Markdown tables without --json", async () => {
  const r = await clip(["eval", "zeroshot", "--model", MODEL, "--data", CIFAR, "--limit", "40", "--templates", "simple"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^## Zero-shot: .* \(40 images, 10 classes, 1 templates from simple\)/);
  assert.match(r.stdout, /\| top-1 accuracy \| \d+\.\d\d \|/);
  assert.match(r.stdout, /\| true \\ predicted \| airplane \| automobile \|/);
});

test("bad labels and templates: one clear error line before any model work", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "clip-eval-bad-"));
  try {
    const base = ["eval", "zeroshot", "--model", MODEL, "--data", CIFAR];
    const beyond = await clip([...base, "--labels", "airplane,automobile,bird"]);
    assert.equal(beyond.code, 2, beyond.stderr);
    assert.match(beyond.stderr, /^clip: error: .*cifar10: sample "\d+" in .*test-000000\.tar has class \d, outside the 3 class names \(valid: 0\.\.2\)\n$/);
    assert.equal(beyond.stdout, "");
    const dup = await clip([...base, "--labels", "cat,dog,cat"]);
    assert.equal(dup.code, 2, dup.stderr);
    assert.equal(dup.stderr, 'clip: error: --labels: duplicate class name "cat" (entries 1 and 3)\n');
    const tpl = path.join(dir, "t.txt");
    await writeFile(tpl, "a photo of a {}.\nno placeholder here\n");
    const bad = await clip([...base, "--templates", tpl]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.equal(bad.stderr, `clip: error: ${tpl}:2: template "no placeholder here" has no "{}" placeholder for the class name\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("clip eval retrieval on Flickr8k dev: recall@1/5/10 in both directions", async () => {
  const d = json(await clip(["eval", "retrieval", "--model", MODEL, "--data", FLICKR_DEV, "--limit", "30", "--json"]));
  assert.equal(d.task, "retrieval");
  assert.equal(d.images, 30);
  assert.equal(d.captions, 150);
  assert.deepEqual(d.ks, [1, 5, 10]);
  for (const dir of ["textToImage", "imageToText"]) {
    const r = d[dir] as Record<string, number>;
    assert.deepEqual(Object.keys(r), ["R@1", "R@5", "R@10"]);
    assert.ok(isFraction(r["R@1"]) && r["R@1"]! <= r["R@5"]! && r["R@5"]! <= r["R@10"]!);
  }
});

test("clip eval linear-probe: few-shot with the C sweep, on two CIFAR-10 shards", async () => {
  const d = json(
    await clip([
      "eval",
      "linear-probe",
      "--model",
      MODEL,
      "--train",
      path.join(CIFAR, "test-000000.tar"),
      "--test",
      path.join(CIFAR, "test-000001.tar"),
      "--limit",
      "200",
      "--k-shot",
      "5",
      "--max-iter",
      "200",
      "--json",
    ]),
  );
  assert.equal(d.task, "linear-probe");
  assert.equal(d.classes, 10);
  assert.equal(d.trainSamples, 50);
  assert.equal(d.testSamples, 200);
  assert.deepEqual(d.fewShot, { k: 5, seed: 0, perClass: Array(10).fill(5) });
  assert.equal(d.chosenBy, "sweep");
  const sweep = d.sweep as { C: number; valAccuracy: number }[];
  assert.ok(sweep.length >= 13 && sweep.length <= 15);
  assert.ok(sweep.some((p) => p.C === d.C));
  assert.ok(isFraction((d.metrics as Record<string, number>).top1));
  assert.equal((d.confusion as number[][]).flat().reduce((a, b) => a + b, 0), 200);
});

test("clip classify prints the top labels of each image", async () => {
  const imgs = ["img2_224x224_RGB.png", "img5_257x256_RGBA.png"].map((f) => path.join(REFERENCE, "images", f));
  const d = json(await clip(["classify", "--model", MODEL, "--labels", "cat,dog,a red square", "--top", "2", ...imgs, "--json"]));
  assert.deepEqual(d.labels, ["cat", "dog", "a red square"]);
  const results = d.results as { image: string; top: { label: string; prob: number }[] }[];
  assert.equal(results.length, 2);
  for (const r of results) {
    assert.equal(r.top.length, 2);
    assert.ok(r.top[0]!.prob >= r.top[1]!.prob);
    assert.ok(r.top[0]!.prob + r.top[1]!.prob <= 1 + 1e-6);
  }
  const text = await clip(["classify", "--model", MODEL, "--labels", "cat,dog", imgs[0]!]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /img2_224x224_RGB\.png\n +\d+\.\d\d% +(cat|dog)\n +\d+\.\d\d% +(cat|dog)\n$/);
  const none = await clip(["classify", "--model", MODEL, imgs[0]!]);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /exactly one of --labels/);
});
