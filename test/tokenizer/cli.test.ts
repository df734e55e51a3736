/** @file `clip tokenize` and `clip tokenize train` as whole processes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CLI, REFERENCE, VOCAB } from "../helpers/shared.js";

interface Case {
  text: string;
  tokenize_77: number[];
}
const cases = (JSON.parse(readFileSync(path.join(REFERENCE, "tokenizer.json"), "utf8")) as { cases: Case[] }).cases;
const oneLine = cases.filter((c) => !/[\r\n\u2028\u2029\x85]/.test(c.text));
const tmp = mkdtempSync(path.join(os.tmpdir(), "clip-tokenize-cli-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));

function clip(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, CLIP_NO_PROGRESS: "1" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("--json prints one JSON array of padded rows equal to clip.tokenize", () => {
  const r = clip("tokenize", "--vocab", VOCAB, "--truncate", "silent", "--json", "--", ...cases.map((c) => c.text));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), cases.map((c) => c.tokenize_77));
  assert.equal(r.stderr, "");
});

test("without --json each row is a JSON array on its own line; the cut text is reported on stderr", () => {
  const long = cases.find((c) => c.text.length > 200)!;
  const r = clip("tokenize", "--vocab", VOCAB, "a photo of a cat.", long.text);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as number[]);
  assert.deepEqual(lines[0], cases[0].tokenize_77);
  assert.deepEqual(lines[1], long.tokenize_77);
  assert.match(r.stderr, /^clip: warning: cut 1 of 2 text\(s\) to 77 tokens, dropping 26 token\(s\) \(text 2\)/);
});

test("--input/--output: one text per line in, JSON lines out", () => {
  const input = path.join(tmp, "texts.txt");
  const output = path.join(tmp, "ids.jsonl");
  writeFileSync(input, oneLine.map((c) => c.text).join("\r\n") + "\n");
  const r = clip("tokenize", "--vocab", VOCAB, "--input", input, "--output", output, "--truncate", "silent", "--json");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { texts: oneLine.length, output, truncated: 1, tokensDropped: 26 });
  const rows = readFileSync(output, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as number[]);
  assert.deepEqual(rows, oneLine.map((c) => c.tokenize_77));
});

test("--chunk prints every window and which text it belongs to", () => {
  const r = clip("tokenize", "--vocab", VOCAB, "--context", "6", "--chunk", "--json", "a b c d e f", "x");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), {
    tokens: [[49406, 320, 321, 322, 323, 49407], [49406, 324, 325, 49407, 0, 0], [49406, 343, 49407, 0, 0, 0]],
    textIndex: [0, 0, 1],
  });
});

test("user mistakes: exit code 2 and one line on stderr", () => {
  const tooLong = clip("tokenize", "--vocab", VOCAB, "--context", "5", "--truncate", "error", "a b c d e f");
  assert.equal(tooLong.code, 2);
  assert.match(tooLong.stderr, /^clip: error: text 0 \("a b c d e f"\) is 8 tokens .* context length 5.*\n$/);
  assert.equal(tooLong.stdout, "");
  const missing = clip("tokenize", "--vocab", path.join(tmp, "nope.txt.gz"), "x");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^clip: error: cannot read vocabulary .*nope\.txt\.gz: ENOENT\n$/);
});

test("train writes a vocabulary that --vocab then reads", () => {
  const captions = path.join(tmp, "captions.txt");
  const vocab = path.join(tmp, "trained.txt.gz");
  writeFileSync(captions, ["a dog runs on the beach", "a dog plays in the snow", "two dogs run on the grass", "a cat sleeps"].join("\n") + "\n");
  const r = clip("tokenize", "train", "--input", captions, "--vocab-size", "530", "--min-frequency", "1", "--out", vocab, "--json");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { out: vocab, vocabSize: 530, merges: 16, captions: 4, words: 15 });
  const t = clip("tokenize", "--vocab", vocab, "--context", "8", "--json", "a dog");
  assert.equal(t.code, 0, t.stderr);
  const [row] = JSON.parse(t.stdout) as number[][];
  assert.deepEqual([row[0], row.length], [528, 8]);
});
