/**
 * @file The hostile-data policy through the CLI (issue 19's first paragraph): a shard mixing good
 * samples with a truncated JPEG, a 7-byte "image", a sample without caption, an empty caption and a
 * 10,000-character caption; a shard cut off mid-member; the same as a folder; classify and embed
 * given a bad file among good ones; --strict. Every count is exact.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { REFERENCE } from "../helpers/shared.js";
import { png, tmpDir, writeTar, type Entry } from "../data/helpers.js";
import { runClip as clip, type Run } from "../helpers/cli.js";

const MODEL = path.join(REFERENCE, "vit-tiny");


/** Exactly one JSON document on stdout. */
function doc(r: Run, code = 0): Record<string, unknown> {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1, "stdout is one JSON document");
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}

interface Skipped {
  count: number;
  by_reason: Record<string, number>;
  examples: { reason: string; source: string; key?: string; message: string }[];
}

const dir = tmpDir("hostile-cli");
const LONG = Array.from({ length: 1700 }, (_, i) => `word${i % 10}`).join(" "); // 10,000+ characters
assert.ok(LONG.length >= 10000);

async function jpeg(seed: number): Promise<Uint8Array> {
  const raw = Buffer.alloc(32 * 32 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * seed + (i >> 5) * 3) & 255;
  return new Uint8Array(await sharp(raw, { raw: { width: 32, height: 32, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
}

let files: { good: string; truncated: string; other: string; mixed: string; cut: string; folder: string; labelled: string } | undefined;

/** The files, written once. */
async function fixtures(): Promise<NonNullable<typeof files>> {
  if (files) return files;
  const good = await jpeg(3);
  const truncated = (await jpeg(5)).subarray(0, 300);
  const tiny = new TextEncoder().encode("GIF89a!"); // 7 bytes
  const mixed: Entry[] = [
    ["g1.jpg", good],
    ["g1.txt", "a good photo"],
    ["g2.png", png(2)],
    ["g2.txt", "another good photo"],
    ["trunc.jpg", truncated],
    ["trunc.txt", "a truncated photo"],
    ["tiny.jpg", tiny],
    ["tiny.txt", "a seven byte photo"],
    ["nocap.png", png(3)],
    ["empty.png", png(4)],
    ["empty.txt", ""],
    ["long.png", png(5)],
    ["long.txt", LONG],
  ];
  const mixedTar = writeTar(path.join(dir, "mixed.tar"), mixed);
  // a shard cut off inside its third sample's image
  const whole = fs.readFileSync(writeTar(path.join(dir, "whole.tar"), [
    ["c1.png", png(6)],
    ["c1.txt", "cut one"],
    ["c2.png", png(7)],
    ["c2.txt", "cut two"],
    ["c3.jpg", good],
    ["c3.txt", "cut three"],
  ]));
  const cut = path.join(dir, "cut.tar");
  // cut just after c3.jpg's header and 100 bytes of its data
  const at = whole.indexOf(Buffer.from("c3.jpg"));
  fs.writeFileSync(cut, whole.subarray(0, at + 512 + 100));

  const folder = path.join(dir, "folder");
  fs.mkdirSync(folder);
  for (const [name, data] of mixed) fs.writeFileSync(path.join(folder, name), data);

  const labelled = path.join(dir, "labelled");
  fs.mkdirSync(labelled);
  writeTar(path.join(labelled, "part-000000.tar"), [
    ["a.jpg", good],
    ["a.cls", "0"],
    ["b.png", png(8)],
    ["b.cls", "1"],
    ["c.png", png(9)],
    ["c.cls", "0"],
    ["d.png", png(10)],
    ["d.cls", "1"],
    ["trunc.jpg", truncated],
    ["trunc.cls", "1"],
    ["tiny.jpg", tiny],
    ["tiny.cls", "0"],
    ["nolabel.png", png(11)],
    ["badlabel.png", png(12)],
    ["badlabel.cls", "7"],
  ]);
  fs.writeFileSync(path.join(labelled, "classnames.txt"), "red\nblue\n");

  const goodFile = path.join(dir, "good.jpg");
  const truncFile = path.join(dir, "truncated.jpg");
  const otherFile = path.join(dir, "other.png");
  fs.writeFileSync(goodFile, good);
  fs.writeFileSync(truncFile, truncated);
  fs.writeFileSync(otherFile, png(13));
  files = { good: goodFile, truncated: truncFile, other: otherFile, mixed: mixedTar, cut, folder: `folder:${folder}`, labelled };
  return files;
}

function assertNamed(s: Skipped, source: RegExp): void {
  assert.equal(s.examples.length, s.count);
  for (const e of s.examples) {
    assert.match(e.source, source);
    assert.ok(e.key, `example names a key: ${e.message}`);
    assert.ok(e.message.includes(e.key!), e.message);
  }
}

test("eval retrieval on the mixed shard: 4 skips by reason, each named by shard and key; the long caption is kept and truncated", async () => {
  const f = await fixtures();
  const r = await clip(["eval", "retrieval", "--model", MODEL, "--data", f.mixed, "--json"]);
  const d = doc(r);
  assert.equal(d.images, 3); // g1, g2, long
  assert.equal(d.captions, 3);
  const s = d.skipped as Skipped;
  assert.deepEqual(s.by_reason, { bad_image: 1, missing_caption: 1, empty_caption: 1, undecodable_image: 1 });
  assert.equal(s.count, 4);
  assertNamed(s, /mixed\.tar$/);
  assert.deepEqual(s.examples.map((e) => e.key).sort(), ["empty", "nocap", "tiny", "trunc"]);
  assert.equal(d.truncatedCaptions, 1);
  assert.match(r.stderr, /mixed\.tar: skipped 4 \(/);
  assert.match(r.stderr, /mixed\.tar: trunc: image does not decode: .*truncated/);
  assert.match(r.stderr, /truncated 1 of 3 text\(s\) to the context length/);
});

test("eval retrieval on a shard cut mid-member: the complete samples are used, the cut is one named skip", async () => {
  const f = await fixtures();
  const d = doc(await clip(["eval", "retrieval", "--model", MODEL, "--data", f.cut, "--json"]));
  assert.equal(d.images, 2);
  const s = d.skipped as Skipped;
  assert.deepEqual(s.by_reason, { truncated_shard: 1 });
  assert.equal(s.examples[0]!.key, "c3");
  assert.match(s.examples[0]!.message, /cut\.tar: c3: stream ends inside c3\.jpg/);
});

test("eval retrieval over both shards (A::B) adds the counts", async () => {
  const f = await fixtures();
  const d = doc(await clip(["eval", "retrieval", "--model", MODEL, "--data", `${f.mixed}::${f.cut}`, "--json"]));
  assert.equal(d.images, 5);
  assert.deepEqual((d.skipped as Skipped).by_reason, { bad_image: 1, missing_caption: 1, empty_caption: 1, undecodable_image: 1, truncated_shard: 1 });
});

test("eval retrieval on the same files as a folder: the same counts, named by folder and file stem", async () => {
  const f = await fixtures();
  const d = doc(await clip(["eval", "retrieval", "--model", MODEL, "--data", f.folder, "--json"]));
  assert.equal(d.images, 3);
  const s = d.skipped as Skipped;
  assert.deepEqual(s.by_reason, { bad_image: 1, missing_caption: 1, empty_caption: 1, undecodable_image: 1 });
  assertNamed(s, /folder$/);
  assert.equal(d.truncatedCaptions, 1);
});

test("eval retrieval --strict stops at the first bad sample with one line naming shard and key (exit 2)", async () => {
  const f = await fixtures();
  const r = await clip(["eval", "retrieval", "--model", MODEL, "--data", f.mixed, "--json", "--strict"]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  // the reader meets the 7-byte image before the truncated JPEG reaches the decoder
  assert.equal(r.stderr, `clip: error: ${f.mixed}: tiny: .jpg is not an image (unknown file signature)\n`);
  const cut = await clip(["eval", "retrieval", "--model", MODEL, "--data", f.cut, "--strict"]);
  assert.equal(cut.code, 2);
  assert.match(cut.stderr, /^clip: error: .*cut\.tar: c3: stream ends inside c3\.jpg/);
});

test("eval zeroshot on a labelled shard: undecodable, 7-byte, unlabelled and out-of-range samples skipped and counted", async () => {
  const f = await fixtures();
  const r = await clip(["eval", "zeroshot", "--model", MODEL, "--data", f.labelled, "--templates", "simple", "--json"]);
  const d = doc(r);
  assert.equal(d.samples, 4);
  const s = d.skipped as Skipped;
  assert.deepEqual(s.by_reason, { bad_image: 1, missing_label: 1, bad_label: 1, undecodable_image: 1 });
  assertNamed(s, /part-000000\.tar$/);
  assert.equal((d.confusion as number[][]).flat().reduce((a, b) => a + b, 0), 4);
});

test("eval linear-probe: the skips of both sets in one summary", async () => {
  const f = await fixtures();
  const d = doc(await clip(["eval", "linear-probe", "--model", MODEL, "--train", f.labelled, "--test", f.labelled, "--C", "1", "--json"]));
  assert.equal(d.trainSamples, 4);
  assert.equal(d.testSamples, 4);
  const s = d.skipped as Skipped;
  assert.equal(s.count, 8);
  assert.deepEqual(s.by_reason, { bad_image: 2, missing_label: 2, bad_label: 2, undecodable_image: 2 });
});

test("classify good.jpg truncated.jpg other.png: two results, one error entry and stderr line, exit 3", async () => {
  const f = await fixtures();
  const r = await clip(["classify", "--model", MODEL, "--labels", "a,b", "--json", f.good, f.truncated, f.other]);
  const d = doc(r, 3);
  const results = d.results as { image: string; top?: { label: string; prob: number }[]; error?: string }[];
  assert.deepEqual(results.map((x) => x.image), [f.good, f.truncated, f.other]);
  assert.equal(results[0]!.top!.length, 2);
  assert.equal(results[2]!.top!.length, 2);
  assert.match(results[1]!.error!, /truncated\.jpg: cannot decode image: image file is truncated/);
  const errLines = r.stderr.split("\n").filter((l) => l.startsWith("clip: error:"));
  assert.equal(errLines.length, 1);
  assert.match(errLines[0]!, /truncated\.jpg/);

  const plain = await clip(["classify", "--model", MODEL, "--labels", "a,b", f.good, f.truncated, f.other]);
  assert.equal(plain.code, 3);
  assert.equal(plain.stdout.split("\n").filter((l) => !l.startsWith(" ") && l).length, 2); // two images classified

  const strict = await clip(["classify", "--model", MODEL, "--labels", "a,b", "--json", "--strict", f.good, f.truncated, f.other]);
  assert.equal(strict.code, 2);
  assert.equal(strict.stdout, "");
  assert.match(strict.stderr, /^clip: error: .*truncated\.jpg: cannot decode image/);
});

test("embed with a truncated and a missing image among good ones: null rows, two error entries, exit 3", async () => {
  const f = await fixtures();
  const missing = path.join(dir, "no-such.png");
  const r = await clip(["embed", "--model", MODEL, "--image", f.good, "--image", f.truncated, "--image", missing, "--image", f.other, "--text", "a photo", "--json"]);
  const d = doc(r, 3);
  const rows = d.image_embeddings as (number[] | null)[];
  assert.equal(rows.length, 4);
  assert.deepEqual(rows.map((x) => x !== null), [true, false, false, true]);
  assert.deepEqual((d.logits_per_image as (number[] | null)[]).map((x) => x !== null), [true, false, false, true]);
  const errors = d.errors as { image: string; error: string }[];
  assert.deepEqual(errors.map((e) => e.image), [f.truncated, missing]);
  assert.match(errors[1]!.error, /no-such\.png: cannot read image file \(ENOENT\)/);
  assert.equal(r.stderr.split("\n").filter((l) => l.startsWith("clip: error:")).length, 2);
});
