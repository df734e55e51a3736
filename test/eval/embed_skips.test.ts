/** @file embedImages over a dataset with undecodable images: skipped, counted in the dataset, keys/labels/captions aligned. */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { UserError } from "../../src/errors.js";
import { openDataset } from "../../src/data/index.js";
import { embedImages } from "../../src/eval/embed_dataset.js";
import type { EncodeOptions, Embeddings } from "../../src/clip/embedder.js";
import { sampleEntries, tmpDir, writeTar, type Entry } from "../data/helpers.js";
import { FakeEmbedder } from "./fake_embedder.js";

/** A FakeEmbedder that refuses images whose first byte is 0xFF ("BAD"), like a decoder would. */
class PickyEmbedder extends FakeEmbedder {
  override async encodeImages(images: (string | Uint8Array)[], opts?: EncodeOptions): Promise<Embeddings> {
    const bad = images.findIndex((im) => typeof im !== "string" && im[0] === 0xff);
    if (bad >= 0) throw new UserError(`<bytes #${bad}>: cannot decode image: not an image`);
    return super.encodeImages(images, opts);
  }
}

test("embedImages with a dataset: bad images skipped and counted there, the rest aligned, across batch boundaries", async () => {
  const dir = tmpDir("embed-skips");
  const bad = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]); // a JPEG signature, then nothing
  const entries: Entry[] = [];
  for (let i = 0; i < 7; i++) {
    if (i === 2 || i === 5) entries.push([`b${i}.jpg`, bad], [`b${i}.txt`, `caption of b${i}`], [`b${i}.cls`, "1"]);
    else entries.push(...sampleEntries(`g${i}`, `caption of g${i}`, i % 2));
  }
  const shard = writeTar(path.join(dir, "mixed.tar"), entries);
  const ds = openDataset(shard);
  const r = await embedImages(new PickyEmbedder(8), ds, { batchSize: 3, dataset: ds });
  assert.deepEqual(r.keys, ["g0", "g1", "g3", "g4", "g6"]);
  assert.deepEqual(Array.from(r.labels!), [0, 1, 1, 0, 0]);
  assert.deepEqual(r.captions.map((c) => c[0]), r.keys.map((k) => `caption of ${k}`));
  assert.equal(r.images.n, 5);
  assert.deepEqual(r.skipped!.by_reason, { undecodable_image: 2 });
  assert.deepEqual(r.skipped!.examples.map((e) => e.key), ["b2", "b5"]);
  assert.equal(ds.stats().samples, 5);

  // without a dataset the first bad image fails the pass (the old contract)
  await assert.rejects(embedImages(new PickyEmbedder(8), openDataset(shard), { batchSize: 3 }), UserError);
});
