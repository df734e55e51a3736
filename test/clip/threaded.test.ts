/**
 * @file ThreadedClipModel: the same numbers as ClipModel with the sessions in a worker thread, the
 * caller's event loop free while a batch runs, errors that keep their kind, and a close that ends
 * the worker.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ClipModel } from "../../src/clip/model.js";
import { ThreadedClipModel } from "../../src/clip/threaded.node.js";
import { UserError } from "../../src/errors.js";
import { decodeImage } from "../../src/image/decode.node.js";
import { REFERENCE } from "../helpers/shared.js";

const DIR = path.join(REFERENCE, "vit-tiny");
const IMAGES = path.join(REFERENCE, "images");
const png = (f: string) => path.join(IMAGES, f);

test("ThreadedClipModel embeds exactly as ClipModel: texts, image paths, bytes and pixels", async () => {
  const [plain, threaded] = await Promise.all([ClipModel.load(DIR, { threads: 2, batchSize: 3 }), ThreadedClipModel.load(DIR, { threads: 2, batchSize: 3 })]);
  try {
    assert.equal(threaded.embedDim, plain.embedDim);
    assert.equal(threaded.logitScale, plain.logitScale);
    assert.equal(threaded.contextLength, plain.contextLength);
    assert.equal(threaded.source, plain.source);
    assert.deepEqual(threaded.tokenize(["a cat", "a dog"]), plain.tokenize(["a cat", "a dog"]));
    const texts = ["a photo of a cat", "a dog", "a diagram", "", "one more text to make a second batch"];
    assert.deepEqual(await threaded.embedTexts(texts), await plain.embedTexts(texts));
    assert.deepEqual(await threaded.embedTexts(texts, { normalize: false }), await plain.embedTexts(texts, { normalize: false }));
    const files = ["img0_640x480_RGB.png", "img2_224x224_RGB.png", "img3_100x150_RGB.png", "img6_333x222_L.png"].map(png);
    assert.deepEqual(await threaded.embedImages(files), await plain.embedImages(files));
    const bytes = new Uint8Array(fs.readFileSync(files[1]!));
    const rgb = await decodeImage(bytes);
    assert.deepEqual(await threaded.embedImages([bytes, rgb, files[2]!]), await plain.embedImages([bytes, rgb, files[2]!]));
    const done: number[] = [];
    await threaded.encodeImages(files, { onProgress: (d) => done.push(d) });
    assert.deepEqual(done, [3, 4]);
  } finally {
    await Promise.all([plain.close(), threaded.close()]);
  }
});

test("the caller's event loop runs while the worker encodes, and concurrent calls get their own rows", async () => {
  const model = await ThreadedClipModel.load(DIR, { threads: 1, batchSize: 1024, truncate: "silent" });
  try {
    const texts = Array.from({ length: 1024 }, (_v, i) => `a photo of thing number ${i} ${"on a long and winding road ".repeat(10)}`);
    const alone = await Promise.all(texts.slice(0, 4).map((t) => model.embedTexts([t])));
    const ids = model.tokenize(texts);
    // the longest pause of this thread's event loop while one large batch runs in the worker
    let last = performance.now();
    let maxGap = 0;
    let ticking = true;
    const tick = (): void => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const t0 = performance.now();
    const [batch, ...singles] = await Promise.all([model.encodeTokens(ids, texts.length), ...texts.slice(0, 4).map((t) => model.embedTexts([t]))]);
    const ms = performance.now() - t0;
    ticking = false;
    maxGap = Math.max(maxGap, performance.now() - last);
    assert.ok(maxGap < ms / 2, `the event loop stalled ${maxGap.toFixed(1)} ms of ${ms.toFixed(1)} ms of encoding`);
    assert.equal(ids.length, texts.length * model.contextLength, "the caller's ids are not moved to the worker");
    singles.forEach((s, i) => {
      assert.deepEqual(s, alone[i]);
      for (let j = 0; j < s.dims[1]; j++) assert.ok(Math.abs(s.data[j]! - batch!.data[i * s.dims[1] + j]!) < 1e-5);
    });
  } finally {
    await model.close();
  }
});

test("ThreadedClipModel errors: a bad image or an over-long text is a UserError; a missing checkpoint fails load", async () => {
  await assert.rejects(ThreadedClipModel.load("/nonexistent/checkpoint"), (e: unknown) => e instanceof UserError && /nonexistent/.test((e as Error).message));
  const model = await ThreadedClipModel.load(DIR, { threads: 1, truncate: "error" });
  try {
    await assert.rejects(model.embedImages([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3])]), (e: unknown) => e instanceof UserError);
    await assert.rejects(model.embedTexts([Array.from({ length: 100 }, () => "word").join(" ")]), (e: unknown) => e instanceof UserError);
    await assert.rejects(model.encodePixels(new Float32Array(5), 1), /encodePixels: 5 values for 1 images/);
    // still usable afterwards
    assert.deepEqual((await model.embedTexts(["ok"])).dims, [1, model.embedDim]);
  } finally {
    await model.close();
  }
  await assert.rejects(model.embedTexts(["after close"]), /after close/);
  await model.close(); // twice is fine
});

test("close() lets the runs already sent finish, then ends the worker", async () => {
  const model = await ThreadedClipModel.load(DIR, { threads: 1 });
  const pending = model.embedTexts(["sent before close"]);
  await model.close();
  assert.deepEqual((await pending).dims, [1, model.embedDim]);
});
