import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { UserError } from "../../src/errors.js";
import { canonicalJson, FeatureCache, hashKey, modelFingerprint, readFeatures, writeFeatures } from "../../src/eval/features.js";
import { embedCaptions, embedImages, type EvalSample } from "../../src/eval/embed_dataset.js";
import { FakeEmbedder, hashVector } from "./fake_embedder.js";

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "clip-feat-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("canonical keys: object key order does not matter, values do", () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } }), '{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
  assert.equal(hashKey({ a: 1, b: 2 }), hashKey({ b: 2, a: 1 }));
  assert.notEqual(hashKey({ a: 1 }), hashKey({ a: 2 }));
  assert.match(hashKey("x"), /^[0-9a-f]{64}$/);
});

test("feature files: documented layout (raw little-endian float32 + JSON header), round trip", () =>
  withTmp(async (dir) => {
    const base = path.join(dir, "f");
    const emb = { data: Float32Array.from([1, -2.5, 3, 0.125, 5, 6]), n: 2, dim: 3 };
    await writeFeatures(base, emb, { model: "m" }, { labels: [0, 1] });
    const raw = await readFile(`${base}.f32`);
    assert.equal(raw.length, 24);
    assert.equal(raw.readFloatLE(4), -2.5);
    const header = JSON.parse(await readFile(`${base}.json`, "utf8"));
    assert.equal(header.format, "clip-ts-features");
    assert.equal(header.version, 1);
    assert.equal(header.dtype, "float32");
    assert.equal(header.byteOrder, "little");
    assert.equal(header.n, 2);
    assert.equal(header.dim, 3);
    assert.deepEqual(header.key, { model: "m" });
    assert.deepEqual(header.meta, { labels: [0, 1] });
    const back = await readFeatures(base);
    assert.deepEqual(Array.from(back!.emb.data), Array.from(emb.data));
    assert.equal(await readFeatures(path.join(dir, "missing")), undefined);
    await writeFile(`${base}.f32`, raw.subarray(0, 20));
    await assert.rejects(readFeatures(base), (e: Error) => e instanceof UserError && /20 bytes, expected n\*dim\*4 = 2\*3\*4 = 24/.test(e.message));
  }));

test("FeatureCache: hit on an equal key, miss on another; getOrCompute computes once", () =>
  withTmp(async (dir) => {
    const c = new FeatureCache(dir);
    const emb = { data: Float32Array.from([1, 2]), n: 1, dim: 2 };
    assert.equal(await c.get({ a: 1 }), undefined);
    await c.put({ a: 1, b: [2] }, emb, { note: "x" });
    const hit = await c.get({ b: [2], a: 1 });
    assert.deepEqual(hit?.meta, { note: "x" });
    assert.equal(await c.get({ a: 1, b: [3] }), undefined);
    let computed = 0;
    const compute = async () => {
      computed++;
      return { emb, meta: {} };
    };
    assert.equal((await c.getOrCompute("k", compute)).cached, false);
    assert.equal((await c.getOrCompute("k", compute)).cached, true);
    assert.equal(computed, 1);
  }));

test("modelFingerprint changes when a checkpoint file changes", () =>
  withTmp(async (dir) => {
    await writeFile(path.join(dir, "open_clip_config.json"), "{}");
    const a = await modelFingerprint(dir);
    await writeFile(path.join(dir, "open_clip_model.safetensors"), "xx");
    const b = await modelFingerprint(dir);
    assert.notEqual(canonicalJson(a), canonicalJson(b));
  }));

async function* stream(samples: EvalSample[]): AsyncGenerator<EvalSample> {
  for (const s of samples) {
    await new Promise((r) => setImmediate(r));
    yield s;
  }
}

const samples: EvalSample[] = Array.from({ length: 23 }, (_, i) => ({
  key: `k${i}`,
  image: Uint8Array.of(i, 7),
  captions: i % 2 ? [`a ${i}`, `b ${i}`] : [`c ${i}`],
  label: i % 3,
}));

test("embedImages: batches in order, keeps keys/labels/captions aligned, honours limit, caches", () =>
  withTmp(async (dir) => {
    const emb = new FakeEmbedder(4);
    const progress: number[] = [];
    const r = await embedImages(emb, stream(samples), { batchSize: 5, onProgress: (d) => progress.push(d) });
    assert.equal(r.images.n, 23);
    assert.deepEqual(progress, [5, 10, 15, 20, 23]);
    assert.equal(emb.imageCalls, 5);
    for (let i = 0; i < 23; i++) assert.deepEqual(Array.from(r.images.data.subarray(i * 4, i * 4 + 4)), Array.from(hashVector(`${i},7`, 4)));
    assert.deepEqual(r.keys, samples.map((s) => s.key));
    assert.deepEqual(Array.from(r.labels!), samples.map((s) => s.label));
    assert.deepEqual(r.captions[1], ["a 1", "b 1"]);

    const lim = await embedImages(emb, stream(samples), { batchSize: 5, limit: 7 });
    assert.equal(lim.images.n, 7);

    const cache = { dir, key: { model: "fake", data: "spec" } };
    const calls = emb.imageCalls;
    const a = await embedImages(emb, stream(samples), { batchSize: 8, cache });
    assert.equal(a.cached, false);
    const b = await embedImages(emb, stream(samples), { batchSize: 8, cache });
    assert.equal(b.cached, true);
    assert.equal(emb.imageCalls, calls + 3);
    assert.deepEqual(Array.from(b.images.data), Array.from(a.images.data));
    assert.deepEqual(Array.from(b.labels!), Array.from(a.labels!));
    assert.deepEqual(b.captions, a.captions);

    const unlabeled = await embedImages(emb, stream([{ key: "u", image: Uint8Array.of(1), captions: [] }]));
    assert.equal(unlabeled.labels, undefined);
    await assert.rejects(embedImages(emb, stream([{ key: "noimg", captions: [] }])), /sample "noimg" has no image/);
  }));

test("embedCaptions flattens captions image by image and maps each back to its image", async () => {
  const emb = new FakeEmbedder(4);
  const r = await embedCaptions(emb, [["a", "b"], ["c"], ["d", "e", "f"]]);
  assert.equal(r.texts.n, 6);
  assert.deepEqual(Array.from(r.textToImage), [0, 0, 1, 2, 2, 2]);
});
