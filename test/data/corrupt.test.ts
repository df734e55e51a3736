/** @file Bad data: truncated and damaged shards, missing/empty/huge captions, undecodable images. Skip and count, or a clear error; never misaligned. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { UserError } from "../../src/errors.js";
import { decodeOrSkip, keepDecoded, openDataset, type Sample } from "../../src/data/index.js";
import { png, sampleEntries, tmpDir, writeTar, type Entry } from "./helpers.js";

const dir = tmpDir("corrupt");

/** Every delivered sample must carry its own image and caption (image bytes are a function of the key). */
function assertAligned(s: Sample): void {
  const n = [...s.key].reduce((a, c) => a + c.charCodeAt(0), 0);
  assert.deepEqual(s.image, png(n), `${s.key}: image belongs to another sample`);
  if (s.captions.length) assert.ok(s.captions[0]!.startsWith(`caption of ${s.key}`), `${s.key}: caption belongs to another sample`);
}

async function readAll(spec: string, opts = {}): Promise<{ keys: string[]; ds: ReturnType<typeof openDataset> }> {
  const ds = openDataset(spec, { requireCaption: true, ...opts });
  const keys: string[] = [];
  for await (const s of ds) {
    assertAligned(s);
    keys.push(s.key);
  }
  return { keys, ds };
}

const GOOD: Entry[] = ["a", "b", "c", "d", "e"].flatMap((k) => sampleEntries(k, `caption of ${k}`));
const whole = fs.readFileSync(writeTar(path.join(dir, "whole.tar"), GOOD));

/** Byte offsets of each entry header in `whole`: 2 entries (png, txt) a sample. */
function headerOffsets(): number[] {
  const out: number[] = [];
  let off = 0;
  while (off < whole.length && whole[off] !== 0) {
    out.push(off);
    const size = parseInt(new TextDecoder().decode(whole.subarray(off + 124, off + 135)), 8);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

test("a truncated shard: samples before the cut are kept intact, the cut one is dropped and counted, the next shard still reads", async () => {
  const heads = headerOffsets();
  assert.equal(heads.length, 10);
  const cuts: [string, number, string[]][] = [
    ["inside the 4th image's data", heads[6]! + 512 + 20, ["a", "b", "c"]],
    // a cut header could have belonged to "c" (say c.json): "c" is not known to be whole, so it goes too
    ["inside the 4th image's header", heads[6]! + 100, ["a", "b"]],
    ["between the 4th image and its caption", heads[7]!, ["a", "b", "c"]],
    ["inside the 4th caption", heads[7]! + 514, ["a", "b", "c"]],
    ["before the end-of-archive blocks", heads[9]! + 1024, ["a", "b", "c", "d"]],
  ];
  writeTar(path.join(dir, "next.tar"), sampleEntries("z", "caption of z"));
  for (const [what, at, expected] of cuts) {
    const file = path.join(dir, "cut.tar");
    fs.writeFileSync(file, whole.subarray(0, at));
    const { keys, ds } = await readAll(`${dir}/{cut,next}.tar`);
    assert.deepEqual(keys, [...expected, "z"], what);
    assert.deepEqual(ds.stats().skipped, { truncated_shard: 1 }, what);
    assert.match(ds.stats().messages![0]!, /cut\.tar/, what);
    // the same with a shuffle buffer: same set, nothing crashes
    const shuffled = await readAll(`${dir}/{cut,next}.tar`, { shuffle: true, shuffleBuffer: 3, seed: 1 });
    assert.deepEqual([...shuffled.keys].sort(), [...expected, "z"].sort(), what);
  }
  // the message names the shard and the sample that was cut
  fs.writeFileSync(path.join(dir, "cut.tar"), whole.subarray(0, heads[6]! + 600));
  const { ds } = await readAll(path.join(dir, "cut.tar"));
  assert.match(ds.stats().messages![0]!, /cut\.tar: d: stream ends inside d\.png/);
});

test("a damaged header ends the shard with corrupt_shard; a truncated .tar.gz counts as truncated", async () => {
  const bad = Uint8Array.from(whole);
  const heads = headerOffsets();
  bad.fill(0x41, heads[4]!, heads[4]! + 200); // garbage over the 3rd sample's first header
  fs.writeFileSync(path.join(dir, "damaged.tar"), bad);
  const { keys, ds } = await readAll(path.join(dir, "damaged.tar"));
  assert.deepEqual(keys, ["a"]); // "b" might have had more files behind the damaged header
  assert.deepEqual(ds.stats().skipped, { corrupt_shard: 1 });

  const zlib = await import("node:zlib");
  const gz = zlib.gzipSync(whole);
  fs.writeFileSync(path.join(dir, "cut.tar.gz"), gz.subarray(0, Math.floor(gz.length * 0.6)));
  const r = await readAll(path.join(dir, "cut.tar.gz"));
  assert.ok(r.keys.length < 5);
  assert.deepEqual(r.ds.stats().skipped, { truncated_shard: 1 });
});

test("missing, empty and whitespace captions, bad JSON, bad labels, duplicates: skipped and counted by reason; a 10,000-character caption is cut and kept", async () => {
  const long = "caption of huge " + "x".repeat(10000);
  const entries: Entry[] = [
    ...sampleEntries("ok1", "caption of ok1", 0),
    [`nocap.png`, png(1)],
    ...sampleEntries("ok2", "caption of ok2", 1),
    [`empty.png`, png(2)],
    [`empty.txt`, ""],
    [`blank.png`, png(3)],
    [`blank.txt`, "  \n "],
    [`huge.png`, png([..."huge"].reduce((a, c) => a + c.charCodeAt(0), 0))],
    [`huge.txt`, long],
    [`badjson.png`, png(5)],
    [`badjson.json`, "{captions: nope"],
    [`badlabel.png`, png(6)],
    [`badlabel.txt`, "caption of badlabel"],
    [`badlabel.cls`, "7"],
    [`notimage.png`, "this is not a png at all"],
    [`notimage.txt`, "caption of notimage"],
    [`dup.png`, png(7)],
    [`dup.txt`, "caption of dup"],
    [`dup.txt`, "caption of dup again"],
    [`noimage.txt`, "caption of noimage"],
    ...sampleEntries("ok3", "caption of ok3", 2),
  ];
  fs.mkdirSync(path.join(dir, "mixed"));
  const shard = writeTar(path.join(dir, "mixed", "mixed.tar"), entries);
  fs.writeFileSync(path.join(dir, "mixed", "classnames.txt"), "a\nb\nc\n");
  const { keys, ds } = await readAll(shard);
  assert.deepEqual(keys, ["ok1", "ok2", "huge", "ok3"]);
  assert.deepEqual(ds.stats().skipped, {
    missing_caption: 1,
    empty_caption: 2,
    bad_json: 1,
    bad_label: 1,
    bad_image: 1,
    duplicate_file: 1,
    missing_image: 1,
  });
  assert.equal(ds.stats().samples, 4);
  assert.deepEqual(ds.stats().droppedCaptions, { truncated: 1 });
  for (const m of ds.stats().messages!) assert.match(m, /mixed\.tar: \w+: /, "each message names shard and key");
  for (const e of ds.stats().examples!) assert.ok(e.source.endsWith("mixed.tar") && e.key && e.message.includes(`: ${e.key}: `), "each example names shard and key");

  // without requireCaption, caption-less samples pass through with no captions (never someone else's)
  const loose = openDataset(shard, { requireCaption: false });
  const got: Record<string, string[]> = {};
  for await (const s of loose) got[s.key] = s.captions;
  assert.deepEqual(got.nocap, []);
  assert.equal(got.huge!.length, 1);
  assert.equal(got.huge![0]!.length, 2000, "cut to maxCaptionChars, never dropped");
  assert.ok(got.huge![0]!.startsWith("caption of huge x"));
  assert.deepEqual(loose.stats().droppedCaptions, { empty: 1, truncated: 1 });
});

test("several captions in .json: an empty one is dropped, an over-long one cut, the rest kept", async () => {
  const entries: Entry[] = [
    [`m.png`, png(1)],
    [`m.json`, JSON.stringify({ captions: ["caption of m", "", "y".repeat(10000), "second"] })],
    [`l.png`, png(2)],
    [`l.json`, JSON.stringify(["caption of l", "other"])],
    [`c.png`, png(3)],
    [`c.json`, JSON.stringify({ caption: "caption of c", url: "http://x" })],
    [`t.png`, png(4)],
    [`t.txt`, "caption of t\nanother line\n"],
  ];
  const ds = openDataset(writeTar(path.join(dir, "json.tar"), entries), { requireCaption: true });
  const got: Record<string, string[]> = {};
  for await (const s of ds) got[s.key] = s.captions;
  assert.deepEqual(got, {
    m: ["caption of m", "y".repeat(2000), "second"],
    l: ["caption of l", "other"],
    c: ["caption of c"],
    t: ["caption of t", "another line"],
  });
  assert.deepEqual(ds.stats().droppedCaptions, { empty: 1, truncated: 1 });
});

test("onBad 'error' stops with a UserError naming the shard and the key", async () => {
  const shard = writeTar(path.join(dir, "strict.tar"), [...sampleEntries("fine", "caption of fine"), [`lonely.png`, png(1)]]);
  const ds = openDataset(shard, { requireCaption: true, onBad: "error" });
  await assert.rejects(
    async () => {
      for await (const s of ds) assertAligned(s);
    },
    (e: unknown) => e instanceof UserError && /strict\.tar: lonely: no caption/.test(e.message),
  );
});

test("an undecodable image is counted where it is decoded (keepDecoded / decodeOrSkip), pairs stay aligned", async () => {
  const garbage = Uint8Array.from([...png(9).subarray(0, 16), ...new Uint8Array(40).fill(7)]); // PNG signature, broken body
  const shard = writeTar(path.join(dir, "undecodable.tar"), [
    ...sampleEntries("p", "caption of p"),
    [`broken.png`, garbage],
    [`broken.txt`, "caption of broken"],
    ...sampleEntries("q", "caption of q"),
  ]);
  const ds = openDataset(shard, { requireCaption: true });
  const batch: Sample[] = [];
  for await (const s of ds) batch.push(s);
  assert.equal(batch.length, 3); // the reader carries bytes; it does not decode
  const decoded = await Promise.all(batch.map((s) => sharp(s.image!).raw().toBuffer().then(() => true, () => false)));
  const kept = keepDecoded(ds, batch, decoded, decoded.map((ok) => (ok ? null : "corrupt PNG")));
  assert.deepEqual(kept.map((i) => batch[i]!.key), ["p", "q"]);
  for (const i of kept) assert.equal(batch[i]!.captions[0], `caption of ${batch[i]!.key}`);
  assert.deepEqual(ds.stats().skipped, { undecodable_image: 1 });
  assert.equal(ds.stats().samples, 2);
  assert.match(ds.stats().messages![0]!, /undecodable\.tar: broken: image does not decode: corrupt PNG/);

  const again = openDataset(shard, { requireCaption: true });
  let ok = 0;
  for await (const s of again) if (await decodeOrSkip(again, s, (x) => sharp(x.image!).raw().toBuffer())) ok++;
  assert.equal(ok, 2);
  assert.deepEqual(again.stats().skipped, { undecodable_image: 1 });
});
