/**
 * @file Scale-out pieces: `--part I/N` indexes disjoint shares that merge into the table of a
 * single run; an IVF-PQ index is built, used (and reported) by search, and keeps recall@10.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ClipModel } from "../../src/clip/model.js";
import { indexSources, openIndex, rowId, searchVector, type ImageRow, type ModelIdentity } from "../../src/index/index.js";
import { normalizeRows } from "../../src/util/vector.js";
import { Rng } from "../../src/util/rng.js";
import { CLI } from "../helpers/shared.js";
import { photoFolder, tempDir, VIT_TINY } from "./helpers.js";

let dir: string;
let model: ClipModel;

before(async () => {
  dir = tempDir("scale");
  model = await ClipModel.load(VIT_TINY);
});

after(async () => {
  await model.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function sortedRows(db: string): Promise<ImageRow[]> {
  const index = await openIndex(db);
  try {
    return (await index.rows()).sort((a, b) => (a.path < b.path ? -1 : 1));
  } finally {
    index.close();
  }
}

test("--part 1/2 and 2/2 index disjoint halves; merged they equal one full run", async () => {
  const photos = path.join(dir, "photos");
  await photoFolder(photos, 9);
  const counts: number[] = [];
  for (const [i, db] of ["part1", "part2", "full"].entries()) {
    const index = await openIndex(path.join(dir, db));
    const r = await indexSources(index, model, [photos], i < 2 ? { part: { index: i, count: 2 } } : {});
    counts.push(r.added);
    index.close();
  }
  assert.equal(counts[0]! + counts[1]!, counts[2]);
  assert.ok(counts[0]! > 0 && counts[1]! > 0);
  const out = execFileSync(process.execPath, [CLI, "index", "--db", path.join(dir, "merged"), "--merge", path.join(dir, "part1"), "--merge", path.join(dir, "part2"), "--json"], { encoding: "utf8" });
  assert.equal(JSON.parse(out).rows, counts[2]);
  const merged = await sortedRows(path.join(dir, "merged"));
  const full = await sortedRows(path.join(dir, "full"));
  assert.deepEqual(merged.map(({ vector: _v, ...m }) => m), full.map(({ vector: _v, ...m }) => m));
  merged.forEach((r, i) => r.vector.forEach((x, j) => assert.ok(Math.abs(x - full[i]!.vector[j]!) < 1e-5)));
});

test("an IVF-PQ index is used and reported by search, with recall@10 >= 0.9 against exact", async (t) => {
  // 2000 clustered vectors (40 centres, small noise), like embeddings of a collection with neighbourhoods
  const dim = 32;
  const rng = new Rng(7);
  const centres = Array.from({ length: 40 }, () => normalizeRows(Float32Array.from({ length: dim }, () => rng.normal()), dim));
  const rows: ImageRow[] = Array.from({ length: 2000 }, (_x, i) => {
    const v = normalizeRows(Float32Array.from(centres[i % 40]!, (c) => c + 0.25 * rng.normal()), dim);
    const p = `/synthetic/${i}.jpg`;
    return { id: rowId(p), path: p, source: "/synthetic", folder: "", hash: String(i), size: 1, mtime: 0, width: 1, height: 1, caption: null, camera: null, taken: null, vector: v };
  });
  const identity: ModelIdentity = { fingerprint: "f", weights_sha256: "w", model_path: "/none", files: [], config: {}, preprocess: {}, embed_dim: dim };
  const index = await openIndex(path.join(dir, "ann"));
  try {
    await index.ensureTable(identity);
    await index.add(rows);
    assert.equal(await index.annIndex(), undefined);
    await index.buildAnn();
    assert.equal(await index.annIndex(), "IvfPq");
    let hits = 0;
    const queries = 20;
    for (let q = 0; q < queries; q++) {
      const v = normalizeRows(Float32Array.from(centres[q]!, (c) => c + 0.25 * rng.normal()), dim);
      const exact = await searchVector(index, v, { k: 10, exact: true });
      const ann = await searchVector(index, v, { k: 10 });
      assert.equal(exact.method, "exact");
      assert.equal(ann.method, "IvfPq");
      const want = new Set(exact.results.map((h) => h.id));
      hits += ann.results.filter((h) => want.has(h.id)).length;
    }
    t.diagnostic(`recall@10 ${hits / (10 * queries)} (default nprobes and refine factor)`);
    assert.ok(hits / (10 * queries) >= 0.9, `recall@10 ${hits / (10 * queries)}`);
  } finally {
    index.close();
  }
});

test("an object-store URI takes the same code path as s3:// (LanceDB's in-memory store: no local folder is made)", async () => {
  const photos = path.join(dir, "photos");
  const index = await openIndex("memory://clip-index-test");
  try {
    const r = await indexSources(index, model, [photos]);
    assert.ok(r.added > 0);
    assert.equal(r.rows, r.added);
    assert.equal((await searchVector(index, (await index.rows(undefined, 1))[0]!.vector, { k: 1 })).results[0]!.score > 0.9999, true);
    assert.ok(!fs.existsSync("memory:"), "no folder named after the URI");
  } finally {
    index.close();
  }
});
