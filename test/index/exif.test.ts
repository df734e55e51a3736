/** @file EXIF camera and date taken: parsed from real sharp-written EXIF, stored in the table and usable in --where. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { ClipModel } from "../../src/clip/model.js";
import { exifFields } from "../../src/index/exif.js";
import { indexSources, openIndex, search, type ClipIndex } from "../../src/index/index.js";
import { flickrImages, tempDir, VIT_TINY } from "./helpers.js";

let dir: string;
let model: ClipModel;
let index: ClipIndex;

before(async () => {
  dir = tempDir("exif");
  const photos = path.join(dir, "photos");
  fs.mkdirSync(photos);
  const imgs = await flickrImages(3);
  await sharp(imgs[0]!).withExif({ IFD0: { Make: "Canon", Model: "Canon EOS 5D", DateTime: "2024:01:02 03:04:05" }, IFD2: { DateTimeOriginal: "2023:07:14 09:00:00" } }).jpeg().toFile(path.join(photos, "canon.jpg"));
  await sharp(imgs[1]!).withExif({ IFD0: { Make: "NIKON CORPORATION", Model: "D750", DateTime: "2021:12:31 23:59:59" } }).jpeg().toFile(path.join(photos, "nikon.jpg"));
  fs.writeFileSync(path.join(photos, "plain.jpg"), imgs[2]!);
  model = await ClipModel.load(VIT_TINY);
  index = await openIndex(path.join(dir, "db"));
  await indexSources(index, model, [photos]);
});

after(async () => {
  await model.dispose();
  index.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("camera and date taken come from EXIF (DateTimeOriginal before DateTime); none gives nulls", async () => {
  const rows = new Map((await index.metas()).map((m) => [path.basename(m.path), m]));
  assert.deepEqual([rows.get("canon.jpg")!.camera, rows.get("canon.jpg")!.taken], ["Canon EOS 5D", "2023-07-14 09:00:00"]);
  assert.deepEqual([rows.get("nikon.jpg")!.camera, rows.get("nikon.jpg")!.taken], ["NIKON CORPORATION D750", "2021-12-31 23:59:59"]);
  assert.deepEqual([rows.get("plain.jpg")!.camera, rows.get("plain.jpg")!.taken], [null, null]);
  assert.deepEqual(await exifFields(new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0, 4, 1, 2])), { camera: null, taken: null }, "broken EXIF is no error");
});

test("--where filters on camera and date", async () => {
  const r = await search(index, model, { text: "a photo", k: 10, where: "taken >= '2022-01-01' OR camera LIKE 'NIKON%'" });
  assert.deepEqual(r.results.map((h) => path.basename(h.path)).sort(), ["canon.jpg", "nikon.jpg"]);
  const none = await search(index, model, { text: "a photo", k: 10, where: "taken IS NULL" });
  assert.deepEqual(none.results.map((h) => path.basename(h.path)), ["plain.jpg"]);
});
