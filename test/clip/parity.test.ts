/** @file Golden parity with the reference openai/CLIP outputs, and checkpoint layouts that must agree. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ClipModel } from "../../src/clip/model.js";
import { loadCheckpoint, saveCheckpoint, saveHfCheckpoint } from "../../src/weights/checkpoint.js";
import { readSafetensorsFile } from "../../src/weights/files.js";
import { CLI, REFERENCE } from "../helpers/shared.js";
import { assertLogits, assertParity, unitRows } from "../helpers/parity.js";

for (const name of ["vit-tiny", "rn-tiny"]) {
  const dir = path.join(REFERENCE, name);

  for (const mapWeights of [false, true]) {
    test(`${name}: features and logits from the reference pixels and tokens${mapWeights ? " (weights as a mapped file)" : ""}`, async () => {
      const f = readSafetensorsFile(path.join(dir, "forward.safetensors")).tensors;
      const model = await ClipModel.load(dir, { threads: 2, mapWeights });
      try {
        const pixels = f.get("pixels")!;
        const tokens = f.get("tokens")!;
        const img = await model.encodePixels(pixels.data as Float32Array, pixels.shape[0], { normalize: false });
        const txt = await model.encodeTokens(tokens.data as BigInt64Array, tokens.shape[0], { normalize: false });
        assertParity(img.data, f.get("image_features")!.data as Float32Array, img.dim, "image_features");
        assertParity(txt.data, f.get("text_features")!.data as Float32Array, txt.dim, "text_features");
        const unit = (e: { data: Float32Array; n: number; dim: number }) => ({ data: Float32Array.from(unitRows(e.data, e.dim)), dims: [e.n, e.dim] as [number, number] });
        assertLogits(model.logits(unit(img), unit(txt)).data, f.get("logits_per_image")!.data as Float32Array, "logits_per_image");
      } finally {
        await model.close();
      }
    });
  }

  test(`${name}: end to end from the PNGs and captions`, async () => {
    const e = JSON.parse(fs.readFileSync(path.join(dir, "e2e.json"), "utf8")) as { images: string[]; texts: string[] };
    const ref = readSafetensorsFile(path.join(dir, "e2e.safetensors")).tensors;
    const model = await ClipModel.load(dir, { threads: 2 });
    try {
      const files = e.images.map((f) => path.join(REFERENCE, "images", f));
      const img = await model.embedImages(files, { normalize: false });
      const txt = await model.embedTexts(e.texts, { normalize: false });
      assertParity(img.data, ref.get("image_features")!.data as Float32Array, img.dims[1], "image_features");
      assertParity(txt.data, ref.get("text_features")!.data as Float32Array, txt.dims[1], "text_features");
      assertLogits(model.logits(await model.embedImages(files), await model.embedTexts(e.texts)).data, ref.get("logits_per_image")!.data as Float32Array, "logits_per_image");
    } finally {
      await model.close();
    }
  });
}

test("a checkpoint written here reads back identically, and its Hugging Face layout embeds the same", async () => {
  const src = path.join(REFERENCE, "vit-tiny");
  const ck = loadCheckpoint(src);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-ck-"));
  try {
    const vocab = path.join(src, "bpe_simple_vocab_16e6.txt.gz");
    saveCheckpoint(path.join(tmp, "native"), ck.config, ck.state, { preprocess: ck.preprocess, tokenizerFiles: [vocab] });
    saveHfCheckpoint(path.join(tmp, "hf"), ck.config, ck.state, { preprocess: ck.preprocess, tokenizerFiles: [vocab] });
    const back = loadCheckpoint(path.join(tmp, "native"));
    assert.deepEqual(back.config, ck.config);
    assert.deepEqual([...back.state.keys()].sort(), [...ck.state.keys()].sort());
    for (const [k, t] of ck.state) assert.deepEqual(back.state.get(k)!.data, t.data, k);
    const hf = loadCheckpoint(path.join(tmp, "hf"));
    assert.equal(hf.source, "hf");
    const texts = ["a photo of a cat", "two dogs on a beach"];
    const image = path.join(REFERENCE, "images", "img3_100x150_RGB.png");
    const embeds: Float32Array[][] = [];
    for (const dir of [src, path.join(tmp, "hf")]) {
      const m = await ClipModel.load(dir, { threads: 2 });
      embeds.push([(await m.encodeTexts(texts)).data, (await m.encodeImages([image])).data]);
      await m.close();
    }
    for (let k = 0; k < 2; k++) assertParity(embeds[1][k]!, embeds[0][k]!, ck.config.embed_dim, k ? "image" : "texts");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

for (const name of ["vit-tiny", "rn-tiny"]) {
  test(`${name}: more images and texts than one batch (the double-buffered loop) embed as the reference's rows`, async () => {
    const dir = path.join(REFERENCE, name);
    const e = JSON.parse(fs.readFileSync(path.join(dir, "e2e.json"), "utf8")) as { images: string[]; texts: string[] };
    const ref = readSafetensorsFile(path.join(dir, "e2e.safetensors")).tensors;
    // 3 rounds of the 4 images in batches of 3: batches start mid-round and the last is partial
    const order = [0, 1, 2, 3, 2, 0, 3, 1, 1, 3, 0];
    const model = await ClipModel.load(dir, { threads: 2, batchSize: 3 });
    try {
      const img = await model.embedImages(order.map((i) => path.join(REFERENCE, "images", e.images[i]!)), { normalize: false });
      const txt = await model.embedTexts(order.map((i) => e.texts[i]!), { normalize: false });
      const d = img.dims[1];
      const pick = (t: Float32Array): Float32Array => {
        const out = new Float32Array(order.length * d);
        order.forEach((i, r) => out.set(t.subarray(i * d, (i + 1) * d), r * d));
        return out;
      };
      assertParity(img.data, pick(ref.get("image_features")!.data as Float32Array), d, "image_features");
      assertParity(txt.data, pick(ref.get("text_features")!.data as Float32Array), d, "text_features");
    } finally {
      await model.dispose();
    }
  });
}

test("clip embed --json equals the reference's end-to-end outputs", () => {
  for (const name of ["vit-tiny", "rn-tiny"]) {
    const dir = path.join(REFERENCE, name);
    const e = JSON.parse(fs.readFileSync(path.join(dir, "e2e.json"), "utf8")) as { images: string[]; texts: string[] };
    const ref = readSafetensorsFile(path.join(dir, "e2e.safetensors")).tensors;
    const args = [CLI, "embed", "--model", dir, "--threads", "2", "--json"];
    for (const f of e.images) args.push("--image", path.join(REFERENCE, "images", f));
    for (const t of e.texts) args.push("--text", t);
    const doc = JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8" })) as { image_embeddings: number[][]; text_embeddings: number[][]; logits_per_image: number[][] };
    const d = doc.image_embeddings[0]!.length;
    assertParity(doc.image_embeddings.flat(), unitRows(ref.get("image_features")!.data as Float32Array, d), d, `${name} image_embeddings`);
    assertParity(doc.text_embeddings.flat(), unitRows(ref.get("text_features")!.data as Float32Array, d), d, `${name} text_embeddings`);
    assertLogits(doc.logits_per_image.flat(), ref.get("logits_per_image")!.data as Float32Array, `${name} logits_per_image`);
  }
});

test("clip embed --json prints the documented document; bad input is one clear line", () => {
  const dir = path.join(REFERENCE, "vit-tiny");
  const img = path.join(REFERENCE, "images", "img2_224x224_RGB.png");
  const out = execFileSync(process.execPath, [CLI, "embed", "--model", dir, "--image", img, "--text", "a cat", "--text", "a dog", "--json"], { encoding: "utf8" });
  const doc = JSON.parse(out) as { image_embeddings: number[][]; text_embeddings: number[][]; logits_per_image: number[][] };
  assert.equal(doc.image_embeddings.length, 1);
  assert.equal(doc.text_embeddings.length, 2);
  assert.equal(doc.image_embeddings[0].length, 32);
  const norm = Math.hypot(...doc.text_embeddings[1]);
  assert.ok(Math.abs(norm - 1) < 1e-5);
  assert.equal(doc.logits_per_image[0].length, 2);
  const raw = JSON.parse(execFileSync(process.execPath, [CLI, "embed", "--model", dir, "--text", "a cat", "--raw", "--json"], { encoding: "utf8" })) as { text_embeddings: number[][]; logits_per_image?: unknown };
  assert.ok(Math.abs(Math.hypot(...raw.text_embeddings[0]) - 1) > 1e-3);
  assert.equal(raw.logits_per_image, undefined);
  let err = "";
  try {
    execFileSync(process.execPath, [CLI, "embed", "--model", "/nonexistent/model", "--text", "x"], { encoding: "utf8", stdio: "pipe" });
    assert.fail("should have failed");
  } catch (e) {
    err = (e as { stderr: string }).stderr;
  }
  assert.match(err, /^clip: error: --model \/nonexistent\/model: no such directory\n$/);
});
