/** @file `clip data synth|pack|info` end to end through the CLI binary: --json documents, skip reports, user errors. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { openDataset } from "../../src/data/index.js";
import { CLI } from "../helpers/shared.js";
import { png, sampleEntries, tmpDir, writeTar } from "./helpers.js";

function clip(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, CLIP_NO_PROGRESS: "1" } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test("clip data synth writes shards, sizes.json and (with --task) classnames.txt + templates", async () => {
  const out = tmpDir("cli-synth");
  const r = clip("data", "synth", "--out", out, "--n", "250", "--seed", "3", "--split", "heldout", "--task", "count", "--shard-size", "100", "--json");
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out);
  assert.equal(doc.samples, 250);
  assert.equal(doc.shards, 3);
  assert.deepEqual(fs.readdirSync(out).sort(), ["classnames.txt", "heldout-000000.tar", "heldout-000001.tar", "heldout-000002.tar", "sizes.json", "zeroshot_classification_templates.txt"]);
  const ds = openDataset(out, { requireLabel: true });
  assert.equal(ds.count(), 250);
  assert.deepEqual(ds.classnames, ["one", "two", "three", "four"]);
  let n = 0;
  for await (const s of ds) n += s.captions.length >= 3 ? 1 : 0;
  assert.equal(n, 250);
});

test("clip data pack --from csv: builds shards; bad rows are reported on stderr, not stdout", async () => {
  const dir = tmpDir("cli-pack");
  for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(dir, `${i}.png`), png(i));
  fs.writeFileSync(path.join(dir, "pairs.csv"), "filepath,caption\n0.png,zero\n1.png,one\n9.png,gone\n3.png,\n4.png,four\n");
  const out = path.join(dir, "shards");
  const r = clip("data", "pack", "--from", `csv:${path.join(dir, "pairs.csv")}`, "--out", out, "--shard-size", "2", "--json");
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out);
  assert.equal(doc.samples, 3);
  assert.deepEqual(doc.skipped, { missing_image: 1, empty_caption: 1 });
  assert.match(r.err, /skipped 2 bad sample/);
  assert.match(r.err, /pairs\.csv: row4: image file not found/);
  const back: string[][] = [];
  for await (const s of openDataset(out)) back.push(s.captions);
  assert.deepEqual(back, [["zero"], ["one"], ["four"]]);
});

test("clip data info: a truncated shard is reported at the end with shard and key; a bad spec is one clear error line", () => {
  const dir = tmpDir("cli-bad");
  const file = writeTar(path.join(dir, "t.tar"), [...sampleEntries("a", "caption of a"), ...sampleEntries("b", "caption of b")]);
  fs.truncateSync(file, fs.statSync(file).size - 1500);
  const r = clip("data", "info", file, "--scan");
  assert.equal(r.code, 0, r.err); // bad data is reported, not a failure
  assert.match(r.out, /scanned: 1 samples/);
  assert.match(r.err, /truncated_shard 1/);
  assert.match(r.err, /t\.tar: b: /);
  const bad = clip("data", "info", path.join(dir, "nothing-here"));
  assert.equal(bad.code, 2);
  assert.equal(bad.err.trim().split("\n").length, 1);
  assert.match(bad.err, /^clip: error: dataset not found/);
  const help = clip("data", "pack", "--help");
  assert.match(help.out, /csv:FILE\[\?image=COL&caption=COL/);
});
