/** @file Dataset sources: a folder holding only WebDataset shards is read as shards, with captions, incrementally and by --part. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ClipModel } from "../../src/clip/model.js";
import { indexSources, openIndex } from "../../src/index/index.js";
import { REFERENCE } from "../helpers/shared.js";
import { tempDir, VIT_TINY } from "./helpers.js";

let dir: string;
let shards: string;
let model: ClipModel;

before(async () => {
  dir = tempDir("shards");
  shards = path.join(dir, "shards");
  fs.mkdirSync(shards);
  // the same 18 captioned samples in two shards: identical content is embedded once
  for (const name of ["train-000000.tar", "train-000001.tar"]) fs.copyFileSync(path.join(REFERENCE, "train-e2e/shard-000000.tar"), path.join(shards, name));
  model = await ClipModel.load(VIT_TINY);
});

after(async () => {
  await model.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a folder of shards is indexed sample by sample with captions; a rerun embeds nothing", async () => {
  const index = await openIndex(path.join(dir, "db"));
  try {
    const r = await indexSources(index, model, [shards]);
    assert.deepEqual([r.added, r.embedded, r.skipped.count], [36, 18, 0]);
    const metas = await index.metas();
    assert.ok(metas.every((m) => /train-00000[01]\.tar#\d+$/.test(m.path) && m.caption && m.folder.startsWith("train-")));
    const again = await indexSources(index, model, [shards]);
    assert.deepEqual([again.added, again.unchanged, again.embedded, again.removed], [0, 36, 0, 0]);
  } finally {
    index.close();
  }
});

test("--part 2/2 of a shard list takes the second shard only", async () => {
  const index = await openIndex(path.join(dir, "db-part"));
  try {
    const r = await indexSources(index, model, [shards], { part: { index: 1, count: 2 } });
    assert.equal(r.added, 18);
    assert.ok((await index.metas()).every((m) => m.folder === "train-000001.tar"));
  } finally {
    index.close();
  }
});
