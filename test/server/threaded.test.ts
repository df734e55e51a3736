/**
 * @file The server over ThreadedClipModel (what `clip serve` runs): the same rows as ClipModel
 * under concurrent requests, bad images answered 400 while the worker keeps serving, and a close
 * that ends the worker thread.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ThreadedClipModel } from "../../src/clip/threaded.node.js";
import { REFERENCE } from "../helpers/shared.js";
import { b64, cosine, imageBytes, IMAGE_FILES, loadModel, postJson, row, start } from "./helpers.js";

test("server over ThreadedClipModel: concurrent embeds equal ClipModel's rows; a truncated image is a 400 and the server stays exact", async () => {
  const [plain, threaded] = await Promise.all([loadModel("vit-tiny"), ThreadedClipModel.load(path.join(REFERENCE, "vit-tiny"), { threads: 2, truncate: "error" })]);
  const s = await start(threaded, { batching: { maxBatch: 8, maxWaitMs: 5, maxInFlight: 2 } });
  try {
    const texts = Array.from({ length: 24 }, (_v, i) => `a photo of ${i} ${["cats", "dogs", "boats"][i % 3]}`);
    const files = IMAGE_FILES.map((_f, i) => imageBytes(i));
    const [wantT, wantI] = [await plain.embedTexts(texts), await plain.embedImages(files)];
    const truncated = files[0]!.subarray(0, 4000);
    const [rt, ri, bad] = await Promise.all([
      Promise.all(texts.map((t) => postJson(`${s.url}/v1/embed`, { texts: [t] }))),
      Promise.all(files.map((f) => postJson(`${s.url}/v1/embed`, { images: [b64(f)] }))),
      postJson(`${s.url}/v1/embed`, { images: [b64(truncated)] }),
    ]);
    rt.forEach((r, i) => {
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.ok(cosine((r.json.text_embeddings as number[][])[0]!, row(wantT, i)) >= 0.99999, `text ${i}`);
    });
    ri.forEach((r, i) => {
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.ok(cosine((r.json.image_embeddings as number[][])[0]!, row(wantI, i)) >= 0.99999, `image ${i}`);
    });
    assert.equal(bad.status, 400, JSON.stringify(bad.json));
    assert.match(String(bad.json.error), /^images/);
    const again = await postJson(`${s.url}/v1/embed`, { texts: [texts[5]!], images: [b64(files[3]!)] });
    assert.equal(again.status, 200);
    assert.ok(cosine((again.json.text_embeddings as number[][])[0]!, row(wantT, 5)) >= 0.99999);
    assert.ok(cosine((again.json.image_embeddings as number[][])[0]!, row(wantI, 3)) >= 0.99999);
  } finally {
    await s.close();
    await Promise.all([threaded.close(), plain.dispose()]);
  }
});
