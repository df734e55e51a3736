/**
 * @file Near-duplicates: planted copies (re-encoded, resized, slightly cropped) of real photos are
 * found, and no pair of distinct photos is reported (precision, not only recall); the overlap of
 * one index with another; the report files; and the similarity distributions behind the threshold.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { ClipModel } from "../../src/clip/model.js";
import { findDuplicates, findOverlap, indexSources, openIndex, type ClipIndex } from "../../src/index/index.js";
import { CLI } from "../helpers/shared.js";
import { flickrImages, tempDir, VIT_TINY } from "./helpers.js";

/**
 * The threshold for the fixture checkpoint (a random-init ViT of 32 px): measured below as above
 * every distinct pair and below re-encoded and resized copies. Real checkpoints have their own
 * (README "Semantic image search", bench/index/dedup_threshold.ts).
 */
const FIXTURE_THRESHOLD = 0.998;
const DISTINCT = 30;
const PLANTED = 8;
const KINDS = ["reencoded", "resized", "cropped"] as const;

let dir: string;
let model: ClipModel;
let index: ClipIndex;
/** planted file name -> the original's file name */
const truth = new Map<string, string>();

before(async () => {
  dir = tempDir("dedup");
  const photos = path.join(dir, "photos");
  fs.mkdirSync(photos, { recursive: true });
  const imgs = await flickrImages(DISTINCT + 6);
  imgs.slice(0, DISTINCT).forEach((b, i) => fs.writeFileSync(path.join(photos, `orig-${i}.jpg`), b));
  for (let i = 0; i < PLANTED; i++) {
    const b = imgs[i]!;
    const m = await sharp(b).metadata();
    const dx = Math.round(m.width! * 0.02);
    const dy = Math.round(m.height! * 0.02);
    await sharp(b).jpeg({ quality: 60 }).toFile(path.join(photos, `reencoded-${i}.jpg`));
    await sharp(b).resize(Math.round(m.width! / 2)).png().toFile(path.join(photos, `resized-${i}.png`));
    await sharp(b).extract({ left: dx, top: dy, width: m.width! - 2 * dx, height: m.height! - 2 * dy }).jpeg({ quality: 90 }).toFile(path.join(photos, `cropped-${i}.jpg`));
    truth.set(`reencoded-${i}.jpg`, `orig-${i}.jpg`).set(`resized-${i}.png`, `orig-${i}.jpg`).set(`cropped-${i}.jpg`, `orig-${i}.jpg`);
  }
  // a second collection for --against: 6 unseen photos plus re-encoded copies of 4 indexed ones
  const other = path.join(dir, "other");
  fs.mkdirSync(other);
  imgs.slice(DISTINCT).forEach((b, i) => fs.writeFileSync(path.join(other, `new-${i}.jpg`), b));
  for (let i = 10; i < 14; i++) await sharp(imgs[i]!).jpeg({ quality: 70 }).toFile(path.join(other, `copy-${i}.jpg`));
  model = await ClipModel.load(VIT_TINY);
  index = await openIndex(path.join(dir, "db"));
  await indexSources(index, model, [photos]);
  await indexSources(await openIndex(path.join(dir, "other-db")), model, [other]);
});

after(async () => {
  await model.dispose();
  index.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The group key of a file: its original's name (planted copies) or itself. */
const origin = (p: string) => truth.get(path.basename(p)) ?? path.basename(p);

test("planted duplicates are found and no distinct photos are paired at the fixture threshold", async (t) => {
  const r = await findDuplicates(index, { threshold: FIXTURE_THRESHOLD });
  const truePairs = r.pairs.filter((p) => origin(p.a.path) === origin(p.b.path));
  const falsePairs = r.pairs.filter((p) => origin(p.a.path) !== origin(p.b.path));
  const precision = r.pairs.length ? truePairs.length / r.pairs.length : 1;
  const found = (kind: string) =>
    [...truth.keys()].filter((f) => f.startsWith(kind) && truePairs.some((p) => [p.a.path, p.b.path].some((x) => path.basename(x) === f) && [p.a.path, p.b.path].some((x) => path.basename(x) === truth.get(f)))).length;
  const recall = Object.fromEntries(KINDS.map((k) => [k, found(k) / PLANTED]));
  t.diagnostic(`threshold ${FIXTURE_THRESHOLD}: ${r.pairs.length} pairs, precision ${precision.toFixed(3)}, recall ${JSON.stringify(recall)}`);
  assert.deepEqual(falsePairs.map((p) => `${p.a.path} ${p.b.path} ${p.score}`), [], "no pair of distinct photos");
  assert.equal(recall.reencoded, 1);
  assert.equal(recall.resized, 1);
  // groups: every planted copy found sits in its original's group, alone with it
  for (const g of r.groups) assert.equal(new Set(g.members.map((m) => origin(m.path))).size, 1);
});

test("the similarity of planted copies against distinct pairs: where the threshold comes from", async (t) => {
  const rows = await index.rows();
  const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, j) => s + x * b[j]!, 0);
  const byName = new Map(rows.map((r) => [path.basename(r.path), r.vector]));
  const distinct: number[] = [];
  for (let i = 0; i < DISTINCT; i++) for (let j = i + 1; j < DISTINCT; j++) distinct.push(dot(byName.get(`orig-${i}.jpg`)!, byName.get(`orig-${j}.jpg`)!));
  const planted = Object.fromEntries(KINDS.map((k) => [k, [...truth.keys()].filter((f) => f.startsWith(k)).map((f) => dot(byName.get(f)!, byName.get(truth.get(f)!)!))]));
  const maxDistinct = Math.max(...distinct);
  t.diagnostic(`distinct pairs (${distinct.length}): max ${maxDistinct.toFixed(4)}; planted min: ${KINDS.map((k) => `${k} ${Math.min(...planted[k]!).toFixed(4)}`).join(", ")}`);
  assert.ok(maxDistinct < FIXTURE_THRESHOLD, "the fixture threshold is above every distinct pair");
  assert.ok(Math.min(...planted.reencoded!, ...planted.resized!) >= FIXTURE_THRESHOLD);
});

test("--against: the share of images with a near-duplicate in another index, and the report files", async () => {
  const other = await openIndex(path.join(dir, "other-db"));
  try {
    const r = await findOverlap(other, index, { threshold: FIXTURE_THRESHOLD });
    assert.equal(r.images, 10);
    assert.deepEqual(r.matches.map((m) => `${path.basename(m.image.path)}>${path.basename(m.nearest.path)}`).sort(), [10, 11, 12, 13].map((i) => `copy-${i}.jpg>orig-${i}.jpg`));
    assert.equal(r.fraction, 0.4);
  } finally {
    other.close();
  }
  const out = JSON.parse(
    execFileSync(process.execPath, [CLI, "dedup", "--db", path.join(dir, "other-db"), "--against", path.join(dir, "db"), "--threshold", String(FIXTURE_THRESHOLD), "--report", path.join(dir, "report"), "--json"], {
      encoding: "utf8",
      env: { ...process.env, CLIP_NO_PROGRESS: "1" },
    }),
  );
  assert.equal(out.with_duplicate, 4);
  assert.match(fs.readFileSync(path.join(dir, "report", "report.md"), "utf8"), /40\.00 % of the 10 images/);
  const sheet = await sharp(path.join(dir, "report", "contact.png")).metadata();
  assert.equal(sheet.height, 4 * 180, "one row per pair");
});
