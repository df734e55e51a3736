/** @file Every endpoint's numbers against ClipModel's on the fixture checkpoints (cosine >= 0.99999). */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { buildZeroShotClassifier, classify } from "../../src/eval/zeroshot.js";
import { getTemplates } from "../../src/eval/templates.js";
import { b64, cosine, getJson, IMAGE_FILES, imageBytes, IMAGES_DIR, loadModel, MemoryBackend, postJson, row, start } from "./helpers.js";

const TEXTS = ["a photo of a cat", "a diagram", "two dogs playing in the snow"];
const IMGS = [0, 3, 6, 7];

const assertRows = (got: unknown, want: { data: Float32Array; dims: [number, number] }, what: string): void => {
  const rows = got as number[][];
  assert.equal(rows.length, want.dims[0], `${what}: rows`);
  rows.forEach((r, i) => {
    assert.equal(r.length, want.dims[1]);
    const c = cosine(r, row(want, i));
    assert.ok(c >= 0.99999, `${what} row ${i}: cosine ${c}`);
    assert.ok(Math.abs(Math.hypot(...r) - 1) < 1e-5, `${what} row ${i} is unit length`);
  });
};

for (const name of ["vit-tiny", "rn-tiny"]) {
  test(`${name}: /v1/embed (JSON and multipart) gives ClipModel's embeddings`, async () => {
    const model = await loadModel(name);
    const s = await start(model);
    try {
      const wantT = await model.embedTexts(TEXTS);
      const wantI = await model.embedImages(IMGS.map((i) => path.join(IMAGES_DIR, IMAGE_FILES[i]!)));
      const r = await postJson(`${s.url}/v1/embed`, { texts: TEXTS, images: IMGS.map((i) => b64(imageBytes(i))) });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assertRows(r.json.text_embeddings, wantT, "json texts");
      assertRows(r.json.image_embeddings, wantI, "json images");

      const form = new FormData();
      for (const t of TEXTS) form.append("texts", t);
      for (const i of IMGS) form.append("images", new Blob([new Uint8Array(imageBytes(i))], { type: "image/png" }), IMAGE_FILES[i]);
      const m = await fetch(`${s.url}/v1/embed`, { method: "POST", body: form });
      const mj = (await m.json()) as Record<string, unknown>;
      assert.equal(m.status, 200, JSON.stringify(mj));
      assertRows(mj.text_embeddings, wantT, "multipart texts");
      assertRows(mj.image_embeddings, wantI, "multipart images");

      // data: URL prefix as a browser's FileReader gives it
      const d = await postJson(`${s.url}/v1/embed`, { images: [`data:image/png;base64,${b64(imageBytes(IMGS[1]!))}`] });
      assert.equal(cosine((d.json.image_embeddings as number[][])[0]!, row(wantI, 1)) >= 0.99999, true);
    } finally {
      await s.close();
      await model.dispose();
    }
  });

  test(`${name}: /v1/classify equals zero-shot with ClipModel (simple and imagenet7 templates)`, async () => {
    const model = await loadModel(name);
    const s = await start(model);
    try {
      const labels = ["cat", "dog", "car", "tree", "diagram"];
      for (const templates of ["simple", "imagenet7"]) {
        const weights = await buildZeroShotClassifier(model, labels, getTemplates(templates));
        for (const i of [0, 5]) {
          const emb = await model.encodeImages([path.join(IMAGES_DIR, IMAGE_FILES[i]!)]);
          const want = classify(emb, weights, model.logitScale, labels.length).top[0]!;
          const r = await postJson(`${s.url}/v1/classify`, { image: b64(imageBytes(i)), labels, templates });
          assert.equal(r.status, 200, JSON.stringify(r.json));
          assert.deepEqual(r.json.labels, want.map((p) => labels[p.index]));
          (r.json.probs as number[]).forEach((p, j) => assert.ok(Math.abs(p - want[j]!.prob) < 1e-5, `prob ${p} vs ${want[j]!.prob}`));
          const sum = (r.json.probs as number[]).reduce((a, b) => a + b, 0);
          assert.ok(Math.abs(sum - 1) < 1e-5);
        }
      }
      // multipart, comma-separated labels, explicit template list
      const form = new FormData();
      form.append("image", new Blob([new Uint8Array(imageBytes(2))]), "x.png");
      form.append("labels", "cat, dog ,car");
      form.append("templates", "a photo of a {}.");
      const m = await fetch(`${s.url}/v1/classify`, { method: "POST", body: form });
      const mj = (await m.json()) as { labels: string[]; probs: number[] };
      const weights = await buildZeroShotClassifier(model, ["cat", "dog", "car"], ["a photo of a {}."]);
      const want = classify(await model.encodeImages([path.join(IMAGES_DIR, IMAGE_FILES[2]!)]), weights, model.logitScale, 3).top[0]!;
      assert.deepEqual(mj.labels, want.map((p) => ["cat", "dog", "car"][p.index]));
      mj.probs.forEach((p, j) => assert.ok(Math.abs(p - want[j]!.prob) < 1e-5));
    } finally {
      await s.close();
      await model.dispose();
    }
  });
}

test("vit-tiny: /v1/search (GET text, like, and/not, min_score, k; POST image) against exact search", async () => {
  const model = await loadModel("vit-tiny");
  const backend = await MemoryBackend.create(model);
  const s = await start(model, { search: backend });
  try {
    type Hit = { id: string; score: number };
    const same = (got: Hit[], want: Hit[]) => {
      assert.deepEqual(got.map((h) => h.id), want.map((h) => h.id));
      got.forEach((h, i) => assert.ok(Math.abs(h.score - want[i]!.score) < 1e-5));
    };
    const g = await getJson(`${s.url}/v1/search?q=${encodeURIComponent("a photo of a cat")}&k=3`);
    assert.equal(g.status, 200, JSON.stringify(g.json));
    same(g.json.results as Hit[], await backend.search({ text: "a photo of a cat", k: 3 }));
    assert.equal((g.json.results as Hit[]).length, 3);

    const like = await getJson(`${s.url}/v1/search?like=img2&and=red&not=blue&not=green&k=8&min_score=0.1`);
    assert.equal(like.status, 200, JSON.stringify(like.json));
    same(like.json.results as Hit[], await backend.search({ like: "img2", and: ["red"], not: ["blue", "green"], k: 8, minScore: 0.1 }));
    for (const h of like.json.results as Hit[]) assert.ok(h.score >= 0.1);

    // POST with an image: its vector is the image's own embedding, so it finds itself first
    const p = await postJson(`${s.url}/v1/search`, { image: b64(imageBytes(4)), k: 2 });
    assert.equal(p.status, 200, JSON.stringify(p.json));
    same(p.json.results as Hit[], await backend.search({ image: imageBytes(4), k: 2 }));
    assert.equal((p.json.results as Hit[])[0]!.id, "img4");
    const form = new FormData();
    form.append("image", new Blob([new Uint8Array(imageBytes(6))]), "q.png");
    form.append("k", "1");
    const m = await fetch(`${s.url}/v1/search`, { method: "POST", body: form });
    assert.deepEqual(((await m.json()) as { results: Hit[] }).results.map((h) => h.id), ["img6"]);

    // the image route serves the indexed file byte for byte
    const img = await fetch(`${s.url}/v1/images/img3`);
    assert.equal(img.status, 200);
    assert.equal(img.headers.get("content-type"), "image/png");
    assert.deepEqual(new Uint8Array(await img.arrayBuffer()), imageBytes(3));

    const h = await getJson(`${s.url}/health`);
    assert.deepEqual(h.json.search, { images: IMAGE_FILES.length, kind: "memory" });
    assert.equal((h.json.model as { embed_dim: number }).embed_dim, model.embedDim);
  } finally {
    await s.close();
    await model.dispose();
  }
});
