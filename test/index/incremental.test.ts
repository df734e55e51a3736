/**
 * @file Incremental indexing: add, change, delete, rename, touch and duplicate content, with the
 * counts `clip index --json` documents; the table never holds a path twice.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ClipModel } from "../../src/clip/model.js";
import { indexSources, openIndex, type ClipIndex, type IndexRunResult } from "../../src/index/index.js";
import { CLI } from "../helpers/shared.js";
import { flickrImages, tempDir, VIT_TINY } from "./helpers.js";

let dir: string;
let photos: string;
let model: ClipModel;
let index: ClipIndex;
let extra: Uint8Array[];

before(async () => {
  dir = tempDir("incr");
  photos = path.join(dir, "photos");
  fs.mkdirSync(path.join(photos, "a"), { recursive: true });
  const imgs = await flickrImages(10);
  imgs.slice(0, 6).forEach((b, i) => fs.writeFileSync(path.join(photos, i < 3 ? "a" : "", `p${i}.jpg`), b));
  fs.writeFileSync(path.join(photos, "copy-of-p0.jpg"), imgs[0]!); // identical content under two paths
  extra = imgs.slice(6);
  model = await ClipModel.load(VIT_TINY);
  index = await openIndex(path.join(dir, "db"));
});

after(async () => {
  await model.dispose();
  index.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const counts = (r: IndexRunResult) => ({ added: r.added, updated: r.updated, unchanged: r.unchanged, removed: r.removed, embedded: r.embedded });
const run = async () => indexSources(index, model, [photos], { chunk: 3 });

async function assertTableMatchesFolder(): Promise<void> {
  const metas = await index.metas();
  const paths = metas.map((m) => m.path).sort();
  assert.equal(new Set(paths).size, paths.length, "no path twice");
  const files: string[] = [];
  const walk = (d: string) => fs.readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name))));
  walk(photos);
  assert.deepEqual(paths, files.sort());
}

test("first run adds every file; identical content is embedded once", async () => {
  assert.deepEqual(counts(await run()), { added: 7, updated: 0, unchanged: 0, removed: 0, embedded: 6 });
  await assertTableMatchesFolder();
  const [a, b] = (await index.rows(`path IN ('${path.join(photos, "a/p0.jpg")}', '${path.join(photos, "copy-of-p0.jpg")}')`)).map((r) => r.vector);
  assert.deepEqual(Array.from(a!), Array.from(b!));
});

test("a second run embeds nothing", async () => {
  assert.deepEqual(counts(await run()), { added: 0, updated: 0, unchanged: 7, removed: 0, embedded: 0 });
});

test("changed content is replaced, a touched file is unchanged, a deleted one removed", async () => {
  fs.writeFileSync(path.join(photos, "p4.jpg"), extra[0]!); // new content, same path
  const t = new Date(Date.now() + 5000);
  fs.utimesSync(path.join(photos, "p5.jpg"), t, t); // mtime only
  fs.rmSync(path.join(photos, "a", "p1.jpg"));
  assert.deepEqual(counts(await run()), { added: 0, updated: 1, unchanged: 5, removed: 1, embedded: 1 });
  await assertTableMatchesFolder();
  const row = (await index.rows(`path = '${path.join(photos, "p4.jpg")}'`))[0]!;
  const want = await model.embedImages([extra[0]!]);
  row.vector.forEach((x, j) => assert.ok(Math.abs(x - want.data[j]!) < 1e-5));
  assert.deepEqual(counts(await run()), { added: 0, updated: 0, unchanged: 6, removed: 0, embedded: 0 }, "the touched file is not read again");
});

test("a rename is a removal and an addition without embedding; new duplicate content is not embedded", async () => {
  fs.renameSync(path.join(photos, "a", "p2.jpg"), path.join(photos, "renamed.jpg"));
  fs.writeFileSync(path.join(photos, "a", "dup-of-p3.jpg"), fs.readFileSync(path.join(photos, "p3.jpg")));
  fs.writeFileSync(path.join(photos, "a", "new.jpg"), extra[1]!);
  assert.deepEqual(counts(await run()), { added: 3, updated: 0, unchanged: 5, removed: 1, embedded: 1 });
  await assertTableMatchesFolder();
});

test("clip index --json prints the documented document", () => {
  fs.writeFileSync(path.join(photos, "broken.jpg"), "xx");
  const out = execFileSync(process.execPath, [CLI, "index", "--model", VIT_TINY, "--db", path.join(dir, "db"), photos, "--json"], { encoding: "utf8", env: { ...process.env, CLIP_NO_PROGRESS: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  const doc = JSON.parse(out);
  assert.deepEqual(
    { added: doc.added, updated: doc.updated, unchanged: doc.unchanged, removed: doc.removed, embedded: doc.embedded, rows: doc.rows },
    { added: 0, updated: 0, unchanged: 8, removed: 0, embedded: 0, rows: 8 },
  );
  assert.deepEqual(doc.skipped.by_reason, { undecodable_image: 1 });
  assert.equal(doc.skipped.count, 1);
  assert.match(doc.skipped.examples[0].message, /broken\.jpg/);
  assert.equal(doc.skipped.examples[0].source, path.join(photos, "broken.jpg"));
});

test("--strict (onBad: error) stops at the first bad image with one line naming it", async () => {
  await assert.rejects(indexSources(index, model, [photos], { onBad: "error" }), (e: Error) => e.name === "UserError" && e.message.includes("broken.jpg") && !e.message.includes("\n"));
});
