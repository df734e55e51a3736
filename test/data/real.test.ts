/** @file The real datasets in ../shared: Flickr8k dev (captions) and CIFAR-10 test (CLIP_benchmark classification layout). */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { openDataset } from "../../src/data/index.js";
import { DATASETS } from "../helpers/shared.js";

test("flickr8k dev: 1000 images, 5000 captions, first sample's five captions", async () => {
  const ds = openDataset(path.join(DATASETS, "flickr8k/dev-000000.tar"), { requireCaption: true });
  let images = 0;
  let captions = 0;
  let first: { key: string; captions: string[]; ext?: string } | undefined;
  const seen = new Set<string>();
  for await (const s of ds) {
    first ??= { key: s.key, captions: s.captions, ext: s.imageExt };
    assert.ok(s.image && s.image.length > 1000, `${s.key} has an image`);
    assert.equal(s.captions.length, 5, `${s.key} has 5 captions`);
    seen.add(s.key);
    images++;
    captions += s.captions.length;
  }
  assert.equal(images, 1000);
  assert.equal(captions, 5000);
  assert.equal(seen.size, 1000);
  assert.deepEqual(ds.stats().skipped, {});
  assert.equal(first!.key, "000000");
  assert.equal(first!.ext, "jpg");
  assert.deepEqual(first!.captions, [
    "the boy laying face down on a skateboard is being pushed along the ground by another boy .",
    "Two girls play on a skateboard in a courtyard .",
    "Two people play on a long skateboard .",
    "Two small children in red shirts playing on a skateboard .",
    "two young children on a skateboard going across a sidewalk",
  ]);
});

test("flickr8k train: a brace pattern over the two shards gives 2000 samples", async () => {
  const ds = openDataset(path.join(DATASETS, "flickr8k/train-{000000..000001}.tar"));
  let n = 0;
  const shards = new Set<string>();
  for await (const s of ds) {
    n++;
    shards.add(path.basename(s.shard));
  }
  assert.equal(n, 2000);
  assert.deepEqual([...shards], ["train-000000.tar", "train-000001.tar"]);
});

test("cifar10: 10,000 labelled samples, labels index classnames.txt, 1000 per class", async () => {
  const ds = openDataset(path.join(DATASETS, "cifar10"), { requireLabel: true });
  assert.equal(ds.layout, "webdataset");
  assert.deepEqual(ds.classnames, ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]);
  const perClass = new Array<number>(10).fill(0);
  let n = 0;
  for await (const s of ds) {
    assert.ok(Number.isInteger(s.label) && s.label! >= 0 && s.label! < ds.classnames!.length, `label ${s.label} of ${s.key}`);
    assert.ok(s.image && s.image[0] === 0xff && s.image[1] === 0xd8, "a JPEG");
    perClass[s.label!]!++;
    n++;
  }
  assert.equal(n, 10000);
  assert.deepEqual(perClass, new Array(10).fill(1000));
  assert.deepEqual(ds.stats().skipped, {});
});
