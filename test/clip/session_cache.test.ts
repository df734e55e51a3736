/**
 * @file The session cache: ORT's optimized model kept on disk between processes. A hit asks for no
 * weights and embeds identically; a damaged entry is rebuilt, not a crash; concurrent writers
 * leave one whole entry.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as T from "../../src/ir/tensor.js";
import { CompiledGraph, type CompileOptions } from "../../src/runtime/session.js";
import { ClipModel } from "../../src/clip/model.js";
import { REFERENCE } from "../helpers/shared.js";

const DIR = path.join(REFERENCE, "vit-tiny");
const TEXTS = ["a photo of a cat", "a diagram"];
const IMAGES = JSON.parse(fs.readFileSync(path.join(DIR, "e2e.json"), "utf8")).images.map((f: string) => path.join(REFERENCE, "images", f)) as string[];

const tmpDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-cache-"));
/** The entries of a cache directory (temporary ones included, so leftovers show). */
const entries = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

/** x @ w + b with w [64, 48] (large enough for external data) and a counter of the weights asked for. */
function linearGraph(): { outputs: Record<string, T.Tensor>; weights: CompileOptions["weights"]; asked: () => number; feed: Float32Array } {
  const x = T.input("x", "float32", ["B", 64]);
  const w = T.param("w", [64, 48]);
  const b = T.param("b", [48]);
  const values = new Map([
    ["w", Float32Array.from({ length: 64 * 48 }, (_v, i) => Math.sin(i))],
    ["b", Float32Array.from({ length: 48 }, (_v, i) => i / 48)],
  ]);
  let asked = 0;
  return {
    outputs: { y: T.add(T.matmul(x, w), b) },
    weights: (n: string) => (asked++, values.get(n)),
    asked: () => asked,
    feed: Float32Array.from({ length: 3 * 64 }, (_v, i) => Math.cos(i)),
  };
}

async function runOnce(g: ReturnType<typeof linearGraph>, opts: CompileOptions): Promise<Float32Array> {
  const c = await CompiledGraph.compile(g.outputs, { ...opts, weights: g.weights, threads: 1 });
  try {
    return (await c.run({ x: { data: g.feed, shape: [3, 64] } })).y.data as Float32Array;
  } finally {
    await c.release();
  }
}

for (const externalData of [false, true]) {
  test(`a cache hit asks for no weights and computes the same${externalData ? " (weights through a mapped file)" : ""}`, async () => {
    const dir = tmpDir();
    try {
      const cache = { dir, key: "linear v1" };
      const first = linearGraph();
      const want = await runOnce(first, { externalData });
      assert.deepEqual(await runOnce(first, { cache, externalData }), want);
      assert.ok(first.asked() > 0);
      assert.equal(entries(dir).length, 1);
      const again = linearGraph();
      assert.deepEqual(await runOnce(again, { cache, externalData }), want);
      assert.equal(again.asked(), 0, "a hit must not ask for weights");
      // another key (e.g. the checkpoint changed) is another entry
      const other = linearGraph();
      await runOnce(other, { cache: { dir, key: "linear v2" }, externalData });
      assert.ok(other.asked() > 0);
      assert.equal(entries(dir).length, 2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("a new key of the same group replaces the group's old entry; graphs below minWeightBytes are not cached", async () => {
  const dir = tmpDir();
  try {
    await runOnce(linearGraph(), { cache: { dir, key: "v1", group: "ck" } });
    const [old] = entries(dir);
    await runOnce(linearGraph(), { cache: { dir, key: "v2", group: "ck" } });
    assert.equal(entries(dir).length, 1);
    assert.notEqual(entries(dir)[0], old);
    const small = tmpDir();
    await runOnce(linearGraph(), { cache: { dir: small, key: "v1", minWeightBytes: 1e6 } });
    assert.deepEqual(entries(small), []);
    fs.rmSync(small, { recursive: true, force: true });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Embeddings of TEXTS and IMAGES by a fresh ClipModel with these options. */
async function embedAll(opts: Parameters<typeof ClipModel.load>[1]): Promise<Float32Array[]> {
  const m = await ClipModel.load(DIR, { threads: 2, ...opts });
  try {
    return [(await m.embedTexts(TEXTS, { normalize: false })).data, (await m.embedImages(IMAGES, { normalize: false })).data];
  } finally {
    await m.dispose();
  }
}

test("ClipModel: a cache hit embeds exactly as an uncached load; sessionCache false writes nothing", async () => {
  const dir = tmpDir();
  try {
    const want = await embedAll({ sessionCache: false });
    assert.deepEqual(entries(dir), []);
    assert.deepEqual(await embedAll({ sessionCache: dir }), want); // miss: written
    const written = entries(dir);
    assert.equal(written.length, 2, "one entry per tower");
    const stamp = written.map((e) => fs.statSync(path.join(dir, e, "manifest.json")).mtimeMs);
    assert.deepEqual(await embedAll({ sessionCache: dir }), want); // hit
    assert.deepEqual(entries(dir), written);
    assert.deepEqual(written.map((e) => fs.statSync(path.join(dir, e, "manifest.json")).mtimeMs), stamp, "a hit rewrites nothing");
    // int8 is another session
    await embedAll({ sessionCache: dir, precision: "int8" });
    assert.equal(entries(dir).length, 4);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const damage: Record<string, (entry: string) => void> = {
  "a model file of garbage": (e) => fs.writeFileSync(path.join(e, "model.onnx"), "not a model"),
  "a truncated weights file": (e) => fs.truncateSync(path.join(e, "model.weights"), 100),
  "a manifest that is not JSON": (e) => fs.writeFileSync(path.join(e, "manifest.json"), "{"),
  "a missing model file": (e) => fs.rmSync(path.join(e, "model.onnx")),
  "no manifest (a removal cut short)": (e) => fs.rmSync(path.join(e, "manifest.json")),
};
for (const [what, hurt] of Object.entries(damage)) {
  test(`ClipModel: an entry with ${what} is rebuilt, not a crash, and embeds the same`, async () => {
    const dir = tmpDir();
    try {
      const want = await embedAll({ sessionCache: dir });
      for (const e of entries(dir)) hurt(path.join(dir, e));
      assert.deepEqual(await embedAll({ sessionCache: dir }), want);
      const rebuilt = entries(dir);
      assert.equal(rebuilt.length, 2);
      for (const e of rebuilt) {
        assert.ok(fs.statSync(path.join(dir, e, "model.onnx")).size > 1000, `${e} rebuilt`);
        assert.ok(fs.existsSync(path.join(dir, e, "manifest.json")), `${e} has its manifest again`);
      }
      assert.deepEqual(await embedAll({ sessionCache: dir }), want); // and used again
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test("ClipModel: models missing the same entry at once leave one whole entry per tower and no temporary files", async () => {
  const dir = tmpDir();
  try {
    const [a, b, c] = await Promise.all([embedAll({ sessionCache: dir }), embedAll({ sessionCache: dir }), embedAll({ sessionCache: false })]);
    assert.deepEqual(a, c);
    assert.deepEqual(b, c);
    const left = entries(dir);
    assert.equal(left.length, 2, left.join(", "));
    assert.ok(left.every((e) => !e.includes(".tmp-")));
    assert.deepEqual(await embedAll({ sessionCache: dir }), c);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("ClipModel: the default cache ($CLIP_CACHE_DIR/sessions) skips towers under 64 MiB of weights", async () => {
  const dir = tmpDir();
  const saved = { dir: process.env.CLIP_CACHE_DIR, off: process.env.CLIP_NO_SESSION_CACHE };
  try {
    process.env.CLIP_CACHE_DIR = dir;
    delete process.env.CLIP_NO_SESSION_CACHE;
    await embedAll({});
    assert.deepEqual(entries(path.join(dir, "sessions")), [], "vit-tiny's towers are far below 64 MiB");
  } finally {
    if (saved.dir === undefined) delete process.env.CLIP_CACHE_DIR;
    else process.env.CLIP_CACHE_DIR = saved.dir;
    if (saved.off !== undefined) process.env.CLIP_NO_SESSION_CACHE = saved.off;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
