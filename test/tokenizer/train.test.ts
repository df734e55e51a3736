/** @file Training a vocabulary: lossless on its corpus, deterministic, written in the reference format and read back identically. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import os from "node:os";
import path from "node:path";
import { DATASETS } from "../helpers/shared.js";
import { ClipTokenizer, cleanText, preTokenize, trainBpe, writeBpeVocab } from "../../src/tokenizer/index.js";
import { UserError } from "../../src/errors.js";
import { shardCaptions } from "./flickr.js";

const corpus = shardCaptions(path.join(DATASETS, "flickr8k/train-000000.tar")).slice(0, 2000);
const tmp = mkdtempSync(path.join(os.tmpdir(), "clip-train-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));

const trained = trainBpe(corpus, 1500);
const tokenizer = ClipTokenizer.fromMerges(trained.merges);

test("a real caption corpus (2000 Flickr8k captions) gives the requested vocabulary size", () => {
  assert.equal(corpus.length, 2000);
  assert.equal(trained.vocabSize, 1500);
  assert.equal(trained.merges.length, 1500 - 514);
  assert.equal(tokenizer.vocabSize, 1500);
  assert.equal(tokenizer.sotToken, 1498);
  assert.equal(tokenizer.eotToken, 1499);
});

test("the trained vocabulary tokenizes its corpus losslessly, and compresses it", () => {
  let ids = 0;
  let bytes = 0;
  for (const caption of corpus) {
    const encoded = tokenizer.encode(caption);
    const pieces = preTokenize(cleanText(caption));
    assert.equal(tokenizer.decode(encoded), pieces.map((p) => p + " ").join(""), caption);
    assert.ok(encoded.every((id) => id >= 0 && id < 1498));
    ids += encoded.length;
    bytes += new TextEncoder().encode(pieces.join("")).length;
  }
  // BPE learned the captions' words: far fewer tokens than bytes
  assert.ok(ids < bytes / 2.5, `${ids} tokens for ${bytes} bytes`);
});

test("training is deterministic", () => {
  assert.deepEqual(trainBpe(corpus, 1500).merges, trained.merges);
});

test("written as .txt.gz in the reference format and read back identically", async () => {
  const file = path.join(tmp, "vocab.txt.gz");
  await writeBpeVocab(file, trained.merges);
  const text = gunzipSync(readFileSync(file)).toString("utf8");
  // the reference's loader: split("\n"), skip the header line, one merge per line, no empty last line
  const lines = text.split("\n");
  assert.equal(lines[0], "#version: 0.2");
  assert.deepEqual(lines.slice(1, 49152 - 256 - 2 + 1).map((l) => l.split(" ")), trained.merges);
  const loaded = await ClipTokenizer.fromFile(file);
  assert.deepEqual(loaded.vocabulary.tokens, tokenizer.vocabulary.tokens);
  assert.deepEqual(loaded.vocabulary.merges, tokenizer.vocabulary.merges);
  assert.deepEqual(loaded.tokenize(corpus), tokenizer.tokenize(corpus));
});

test("merges stop early when no pair is frequent enough, and too small a size is refused", () => {
  const tiny = trainBpe(["a b a b", "ab ab"], 600);
  assert.ok(tiny.vocabSize < 600);
  assert.throws(() => trainBpe(corpus, 513), (e: Error) => e instanceof UserError && />= 514/.test(e.message));
});
