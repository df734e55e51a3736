/** @file `clip quantize` and `--precision` from the command line: the check, the refusal, the written checkpoint. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DATASETS, REFERENCE } from "../helpers/shared.js";
import { INT8_CONFIG_KEY } from "../../src/weights/int8.js";
import { runClip as clip } from "../helpers/cli.js";

const MODEL = path.join(REFERENCE, "vit-tiny");


test("clip quantize --check on captioned data: cosines and both recalls in one JSON document, a marked int8 checkpoint that embeds at int8", async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-quantize-"));
  try {
    const r = await clip(["quantize", "--model", MODEL, "--out", out, "--check", path.join(DATASETS, "flickr8k/dev-000000.tar"), "--limit", "16", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { written: boolean; quantized: number; check: { images: number; imageCosine: { min: number }; textCosine: { min: number }; retrieval: { fp32: { meanRecall: number }; int8: { meanRecall: number } } } };
    assert.equal(doc.written, true);
    assert.equal(doc.quantized, 16); // 4 linear layers x (2 image + 2 text blocks)
    assert.equal(doc.check.images, 16);
    assert.ok(doc.check.imageCosine.min >= 0.99 && doc.check.textCosine.min >= 0.99);
    assert.ok(typeof doc.check.retrieval.fp32.meanRecall === "number" && typeof doc.check.retrieval.int8.meanRecall === "number");
    const config = JSON.parse(fs.readFileSync(path.join(out, "open_clip_config.json"), "utf8")) as Record<string, { weights: string[] }>;
    assert.equal(config[INT8_CONFIG_KEY].weights.length, 16);
    const e = await clip(["embed", "--model", out, "--precision", "int8", "--text", "a dog", "--json"]);
    assert.equal(e.code, 0, e.stderr);
    assert.equal((JSON.parse(e.stdout) as { text_embeddings: number[][] }).text_embeddings[0].length, 32);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("clip quantize refuses below the threshold (exit 2, one line, nothing written) and --force writes", async () => {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-quantize-")), "q");
  try {
    const args = ["quantize", "--model", path.join(REFERENCE, "rn-tiny"), "--out", out, "--check", path.join(DATASETS, "cifar10"), "--limit", "8", "--min-cosine", "1"];
    const r = await clip(args);
    assert.equal(r.code, 2);
    assert.match(r.stderr.trim().split("\n").pop()!, /^clip: error: quantize: not written: minimum image cosine 0\.99\d+ < --min-cosine 1/);
    assert.match(r.stdout, /zero-shot top-1 \(10 classes\): fp32 [\d.]+%, int8 [\d.]+%, agreement [\d.]+%/);
    assert.equal(fs.existsSync(out), false);
    const f = await clip([...args, "--force", "--save-dtype", "bf16"]);
    assert.equal(f.code, 0, f.stderr);
    assert.match(f.stderr, /written despite/);
    assert.ok(fs.existsSync(path.join(out, "open_clip_model.safetensors")));
  } finally {
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  }
});

test("--precision rejects other values with one line", async () => {
  const r = await clip(["bench", "--model", MODEL, "--precision", "int4"]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--precision <p>' argument 'int4' is invalid/);
});
