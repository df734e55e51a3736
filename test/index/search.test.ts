/**
 * @file Search parity: text, image and combined queries through LanceDB return exactly the
 * brute-force ranking over embeddings computed by ClipModel directly (not read back from the
 * table), scores within 1e-5; filters, --min-score, --like, the model check, and the CLI's JSON.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { ClipModel } from "../../src/clip/model.js";
import { normalizeRows } from "../../src/util/vector.js";
import { indexSources, openIndex, search, type ClipIndex, type SearchHit } from "../../src/index/index.js";
import { CLI } from "../helpers/shared.js";
import { photoFolder, RN_TINY, tempDir, VIT_TINY } from "./helpers.js";

let dir: string;
let db: string;
let model: ClipModel;
let index: ClipIndex;
let good: string[];
let bad: string[];
let imageEmb: Float32Array;
let d: number;

before(async () => {
  dir = tempDir("search");
  db = path.join(dir, "db");
  ({ good, bad } = await photoFolder(path.join(dir, "photos"), 24));
  model = await ClipModel.load(VIT_TINY);
  index = await openIndex(db);
  const r = await indexSources(index, model, [path.join(dir, "photos")]);
  assert.equal(r.added, good.length);
  assert.equal(r.skipped.count, bad.length);
  assert.deepEqual(r.skipped.by_reason, { undecodable_image: bad.length });
  for (const b of bad) assert.ok(r.skipped.examples.some((e) => e.source === b && e.reason === "undecodable_image"), `skip of ${b} is named`);
  // the reference: embeddings straight from the model, one file at a time
  const e = await model.embedImages(good);
  imageEmb = e.data;
  d = e.dims[1];
});

after(async () => {
  await model.dispose();
  index.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Brute-force ranking of the good images against a normalized query vector. */
function bruteForce(q: Float32Array, keep: (p: string) => boolean = () => true): { path: string; score: number }[] {
  const out = good.map((p, i) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += q[j]! * imageEmb[i * d + j]!;
    return { path: p, score: s };
  });
  return out.filter((x) => keep(x.path)).sort((a, b) => b.score - a.score);
}

/** Same ranking and scores within 1e-5 (order may differ only between scores closer than that). */
function assertSameRanking(got: SearchHit[], want: { path: string; score: number }[], k: number): void {
  assert.equal(got.length, Math.min(k, want.length));
  got.forEach((h, i) => {
    assert.ok(Math.abs(h.score - want[i]!.score) < 1e-5, `rank ${i}: score ${h.score} vs brute force ${want[i]!.score}`);
    if (h.path !== want[i]!.path) {
      const w = want.find((x) => x.path === h.path)!;
      assert.ok(Math.abs(w.score - want[i]!.score) < 1e-5, `rank ${i}: ${h.path} where brute force has ${want[i]!.path}`);
    }
  });
}

async function textVec(texts: string[], weights: number[]): Promise<Float32Array> {
  const e = await model.embedTexts(texts);
  const v = new Float32Array(d);
  texts.forEach((_t, i) => {
    for (let j = 0; j < d; j++) v[j] += weights[i]! * e.data[i * d + j]!;
  });
  return normalizeRows(v, d);
}

test("a text query returns the brute-force ranking over every image, scores within 1e-5", async () => {
  const k = good.length;
  const r = await search(index, model, { text: "a dog running through the grass", k });
  assert.equal(r.method, "exact");
  assertSameRanking(r.results, bruteForce(await textVec(["a dog running through the grass"], [1])), k);
});

test("an image query (a re-encoded file outside the index) returns the brute-force ranking", async () => {
  const probe = path.join(dir, "probe.png");
  await sharp(good[3]!).resize(200).png().toFile(probe);
  const q = (await model.embedImages([probe])).data;
  const r = await search(index, model, { image: probe, k: 10 });
  assertSameRanking(r.results, bruteForce(q), 10);
});

test("combined queries, --where and --min-score match brute force", async () => {
  const want = await textVec(["two children", "on a beach", "a red car"], [1, 1, -1]);
  const r = await search(index, model, { text: "two children", and: ["on a beach"], not: ["a red car"], k: 8 });
  assertSameRanking(r.results, bruteForce(want), 8);
  const inSub = (p: string) => path.basename(path.dirname(p)) === "sub";
  const f = await search(index, model, { text: "two children", k: 5, where: "folder = 'sub'" });
  assertSameRanking(f.results, bruteForce(await textVec(["two children"], [1]), inSub), 5);
  const best = bruteForce(await textVec(["two children"], [1]))[0]!.score;
  assert.equal((await search(index, model, { text: "two children", minScore: best + 1e-4 })).results.length, 0, "nothing above the cut-off");
  assert.equal((await search(index, model, { text: "two children", minScore: best - 1e-4 })).results.length, 1);
});

test("--like finds the stored image itself first, by path or by id", async () => {
  const r = await search(index, undefined, { like: good[5]!, k: 3 });
  assert.equal(r.results[0]!.path, good[5]);
  assert.ok(Math.abs(r.results[0]!.score - 1) < 1e-5);
  const byId = await search(index, undefined, { like: r.results[0]!.id, k: 3 });
  assert.deepEqual(byId.results.map((h) => h.id), r.results.map((h) => h.id));
  assertSameRanking(r.results, bruteForce(imageEmb.slice(5 * d, 6 * d)), 3);
});

test("another model is refused with one line naming both", async () => {
  const other = await ClipModel.load(RN_TINY);
  try {
    await assert.rejects(search(index, other, { text: "a dog" }), (e: Error) => e.name === "UserError" && e.message.includes("vit-tiny") && e.message.includes("rn-tiny") && !e.message.includes("\n"));
  } finally {
    await other.dispose();
  }
});

test("clip search --json prints the same results as the library, model from the index", async () => {
  const out = execFileSync(process.execPath, [CLI, "search", "--db", db, "a dog running through the grass", "--k", "5", "--json"], { encoding: "utf8", env: { ...process.env, CLIP_NO_PROGRESS: "1" } });
  const doc = JSON.parse(out) as { results: SearchHit[]; method: string };
  const lib = await search(index, model, { text: "a dog running through the grass", k: 5 });
  assert.deepEqual(doc.results.map((h) => h.id), lib.results.map((h) => h.id));
  doc.results.forEach((h, i) => assert.ok(Math.abs(h.score - lib.results[i]!.score) < 1e-6));
  assert.equal(doc.method, "exact");
  assert.ok(doc.results.every((h) => typeof h.path === "string" && typeof h.id === "string"));
});
