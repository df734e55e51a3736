/** @file The SPEC grammar and the other layouts: CSV/TSV, folder of captioned images, ImageFolder, CLIP_benchmark folders, pack. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../../src/errors.js";
import { expandBraces, openDataset, resolveSpec, writeShards, type Sample } from "../../src/data/index.js";
import { parseCsv } from "../../src/data/csv.js";
import { png, tmpDir, writeShardSet } from "./helpers.js";

async function all(spec: string, opts = {}): Promise<Sample[]> {
  const out: Sample[] = [];
  for await (const s of openDataset(spec, opts)) out.push(s);
  return out;
}

test("brace expansion: zero-padded ranges, lists, nesting, several groups", () => {
  assert.deepEqual(expandBraces("train-{000000..000002}.tar"), ["train-000000.tar", "train-000001.tar", "train-000002.tar"]);
  assert.deepEqual(expandBraces("{a,b}-{1..2}"), ["a-1", "a-2", "b-1", "b-2"]);
  assert.deepEqual(expandBraces("x{a,b{1,2}}y"), ["xay", "xb1y", "xb2y"]);
  assert.deepEqual(expandBraces("{9..11}"), ["9", "10", "11"]);
  assert.deepEqual(expandBraces("plain{}.tar"), ["plain{}.tar"]);
  assert.equal(expandBraces("s-{000000..001023}.tar").length, 1024);
});

test("a spec that points at nothing or at the wrong thing is a UserError saying what was expected", () => {
  const dir = tmpDir("specs");
  fs.writeFileSync(path.join(dir, "notes.md"), "hi");
  fs.mkdirSync(path.join(dir, "empty"));
  fs.mkdirSync(path.join(dir, "imgs"));
  fs.writeFileSync(path.join(dir, "imgs", "a.jpg"), png(1));
  fs.mkdirSync(path.join(dir, "bench", "test"), { recursive: true });
  writeShardSet(path.join(dir, "bench", "test"), 1, 2);
  const cases: [string, RegExp][] = [
    ["", /empty dataset spec/],
    [path.join(dir, "nope"), /dataset not found: .*nope \(expected shards PATH\.tar/],
    [path.join(dir, "notes.md"), /don't know how to read .*notes\.md: expected \.tar/],
    [path.join(dir, "empty"), /contains no \.tar\/\.tar\.gz shards/],
    [path.join(dir, "imgs"), /use folder:/],
    [path.join(dir, "bench"), /sub-folders test\/ do: use .*bench\/test/],
    [path.join(dir, "part-{000000..000003}.tar"), /shard not found: .*part-000000\.tar \(and 3 more of 4\)/],
    [`csv:${path.join(dir, "missing.csv")}`, /no such table/],
    [`folder:${path.join(dir, "nope")}`, /no such directory: .*\(expected folder:DIR/],
    [`imagefolder:${path.join(dir, "empty")}`, /no class sub-folders/],
    [`folder:${path.join(dir, "empty")}`, /holds no images/],
    [`synth:?n=abc`, /synth option n=abc: expected an integer/],
    [`synth:?colour=red`, /unknown option "colour"/],
    [`csv:${path.join(dir, "notes.md")}?imgae=x`, /unknown option "imgae"/],
    [`${path.join(dir, "bench", "test")}::csv:${path.join(dir, "x.csv")}`, /no such table|only WebDataset shard sources/],
  ];
  for (const [spec, re] of cases) {
    assert.throws(() => openDataset(spec), (e: unknown) => e instanceof UserError && re.test(e.message), `spec "${spec}"`);
  }
  // the CLIP_benchmark layout: shards in a split folder, classnames.txt one level up
  fs.writeFileSync(path.join(dir, "bench", "classnames.txt"), "cat\ndog\n");
  const r = resolveSpec(path.join(dir, "bench", "test"));
  assert.equal(r.layout, "webdataset");
  assert.deepEqual(r.layout === "webdataset" && r.classnames, ["cat", "dog"]);
  // "::" joins shard sources
  const joined = resolveSpec(`${path.join(dir, "bench", "test")}::${path.join(dir, "bench", "test", "part-000000.tar")}`);
  assert.equal(joined.layout === "webdataset" && joined.shards.length, 2);
});

test("CSV parsing: quotes, escaped quotes, separators inside quotes, CRLF, BOM", () => {
  assert.deepEqual(parseCsv('\ufeffa,b\r\n"x, y","say ""hi"""\n1,\n', ","), [["a", "b"], ["x, y", 'say "hi"'], ["1", ""]]);
  assert.deepEqual(parseCsv("a\tb\nc d\te\n", "\t"), [["a", "b"], ["c d", "e"]]);
});

test("csv:/tsv: tables with default and named columns, relative paths, missing files counted", async () => {
  const dir = tmpDir("csv");
  fs.mkdirSync(path.join(dir, "img"));
  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(dir, "img", `${i}.png`), png(i));
  fs.writeFileSync(path.join(dir, "pairs.csv"), 'filepath,caption\nimg/0.png,"a red, round thing"\nimg/1.png,second\nimg/missing.png,third\nimg/3.png,fourth\n');
  const a = await all(`csv:${path.join(dir, "pairs.csv")}`);
  assert.deepEqual(a.map((s) => s.captions[0]), ["a red, round thing", "second", "fourth"]);
  assert.deepEqual(a[1]!.image, png(1));
  assert.equal(a[0]!.key, "row2");
  const ds = openDataset(path.join(dir, "pairs.csv"));
  for await (const _ of ds);
  assert.deepEqual(ds.stats().skipped, { missing_image: 1 });
  assert.match(ds.stats().messages![0]!, /pairs\.csv: row4: image file not found/);

  // open_clip's convention: tab-separated, columns named by the user, several caption columns, labels
  fs.writeFileSync(path.join(dir, "data.tsv"), "path\ttitle\talt\tcls\n0.png\tzero\tnil\t1\n3.png\tthree\t\t0\n");
  const b = await all(`tsv:${path.join(dir, "data.tsv")}?image=path&caption=title,alt&label=cls&root=${path.join(dir, "img")}`);
  assert.deepEqual(b.map((s) => [s.captions, s.label]), [[["zero", "nil"], 1], [["three"], 0]]);
  assert.throws(() => openDataset(`csv:${path.join(dir, "pairs.csv")}?caption=text`), /no caption column "text" \(columns: filepath, caption\)/);
  assert.equal(openDataset(path.join(dir, "pairs.csv")).count(), 4);
});

test("folder: images with same-name .txt / .json captions; imagefolder: one sub-folder per class", async () => {
  const dir = tmpDir("folder");
  fs.mkdirSync(path.join(dir, "sub"));
  fs.writeFileSync(path.join(dir, "a.jpg"), png(1)); // a PNG under .jpg: bytes are carried as they are
  fs.writeFileSync(path.join(dir, "a.txt"), "first caption\nsecond caption\n");
  fs.writeFileSync(path.join(dir, "sub", "b.png"), png(2));
  fs.writeFileSync(path.join(dir, "sub", "b.json"), JSON.stringify({ captions: ["bee"] }));
  fs.writeFileSync(path.join(dir, "c.webp"), png(3));
  fs.writeFileSync(path.join(dir, "notes.txt"), "no image here");
  const f = await all(`folder:${dir}`, { requireCaption: true });
  assert.deepEqual(f.map((s) => [s.key, s.captions]), [["a", ["first caption", "second caption"]], ["sub/b", ["bee"]]]);
  const fds = openDataset(`folder:${dir}`, { requireCaption: true });
  for await (const _ of fds);
  assert.deepEqual(fds.stats().skipped, { missing_caption: 1 });

  const root = tmpDir("imagefolder");
  for (const [cls, n] of [["dog", 2], ["cat", 3], ["eel", 1]] as const) {
    fs.mkdirSync(path.join(root, cls));
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(root, cls, `${i}.png`), png(i));
  }
  const ids = openDataset(`imagefolder:${root}`, { requireLabel: true });
  assert.deepEqual(ids.classnames, ["cat", "dog", "eel"]);
  assert.equal(ids.count(), 6);
  const labels: [string, number][] = [];
  for await (const s of ids) labels.push([s.key, s.label!]);
  assert.deepEqual(labels, [["cat/0", 0], ["cat/1", 0], ["cat/2", 0], ["dog/0", 1], ["dog/1", 1], ["eel/0", 2]]);
});

test("indexed layouts shuffle, split across workers and resume exactly too", async () => {
  const root = tmpDir("idx");
  for (let i = 0; i < 23; i++) {
    fs.writeFileSync(path.join(root, `${String(i).padStart(2, "0")}.png`), png(i));
    fs.writeFileSync(path.join(root, `${String(i).padStart(2, "0")}.txt`), `c${i}`);
  }
  const spec = `folder:${root}`;
  const opts = { shuffle: true, seed: 4, epochs: 2 };
  const full = (await all(spec, opts)).map((s) => s.key);
  assert.equal(full.length, 46);
  const ds = openDataset(spec, opts);
  const head: string[] = [];
  for await (const s of ds) {
    head.push(s.key);
    if (head.length === 30) break;
  }
  const rest = (await all(spec, { ...opts, position: JSON.parse(JSON.stringify(ds.position())) })).map((s) => s.key);
  assert.deepEqual([...head, ...rest], full);
  const parts = await Promise.all([0, 1, 2].map((index) => all(spec, { shuffle: true, seed: 4, worker: { index, count: 3 } })));
  const keys = parts.flat().map((s) => s.key);
  assert.equal(new Set(keys).size, 23);
  assert.equal(keys.length, 23);
});

test("writeShards round trip: keys with dots are made safe, captions, labels and images survive", async () => {
  const out = tmpDir("pack");
  const samples: Sample[] = [
    { key: "img.v1", shard: "x", image: png(1), imageExt: "png", captions: ["one", "uno"], label: 2 },
    { key: "img_v1", shard: "x", image: png(2), imageExt: "png", captions: ["two"] },
    { key: "img_v1", shard: "x", image: png(3), imageExt: "png", captions: ["three"] },
  ];
  await writeShards(samples, out, 2);
  const back = await all(out);
  assert.deepEqual(back.map((s) => [s.key, s.captions, s.label]), [["img_v1", ["one", "uno"], 2], ["img_v1_1", ["two"], undefined], ["img_v1_2", ["three"], undefined]]);
  assert.deepEqual(back.map((s) => s.image), [png(1), png(2), png(3)]);
});
