/** @file Vocabulary files: the reference's .txt.gz, Hugging Face vocab.json + merges.txt and tokenizer.json, checkpoint directories, mistakes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import os from "node:os";
import path from "node:path";
import { REFERENCE, VOCAB } from "../helpers/shared.js";
import { ClipTokenizer } from "../../src/tokenizer/index.js";
import { UserError } from "../../src/errors.js";

const reference = await ClipTokenizer.fromFile(VOCAB);
// most format tests use the first 1000 ids of the reference vocabulary, to stay quick
const small = await ClipTokenizer.fromFile(VOCAB, { vocabSize: 1000 });
const TEXTS = ["a photo of a cat.", "Ünïcödé MIXED case", "emoji 🐱🐶 test 🚀", "日本語のテキスト", "it's what we've done", "<|startoftext|> x <|endoftext|>"];
const tmp = mkdtempSync(path.join(os.tmpdir(), "clip-tokenizer-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));

function sameTokenization(a: ClipTokenizer, b: ClipTokenizer): void {
  assert.equal(a.vocabSize, b.vocabSize);
  assert.equal(a.sotToken, b.sotToken);
  assert.equal(a.eotToken, b.eotToken);
  for (const t of TEXTS) assert.deepEqual(a.encode(t), b.encode(t), t);
  assert.deepEqual(a.tokenize(TEXTS), b.tokenize(TEXTS));
}

/** A vocabulary written the Hugging Face way (as openai/clip-vit-base-patch32 ships it). */
function writeHfPair(dir: string, tok: ClipTokenizer): void {
  const vocab: Record<string, number> = {};
  tok.vocabulary.tokens.forEach((t, id) => (vocab[t!] = id));
  writeFileSync(path.join(dir, "vocab.json"), JSON.stringify(vocab));
  const merges = tok.vocabulary.merges.map(([a, b]) => `${a} ${b}`);
  writeFileSync(path.join(dir, "merges.txt"), "#version: 0.2\n" + merges.join("\n") + "\n");
}

test("the reference file: 48894 of its 262144 merges, as CLIP reads it", () => {
  assert.equal(reference.vocabulary.merges.length, 48894);
  assert.deepEqual(reference.vocabulary.merges[0], ["i", "n"]);
  assert.equal(reference.vocabulary.tokens[512], "in");
});

test("vocabSize option caps the merges read (text_cfg.vocab_size of a smaller model)", () => {
  assert.equal(small.vocabSize, 1000);
  assert.equal(small.sotToken, 998);
  assert.deepEqual(small.vocabulary.tokens.slice(0, 998), reference.vocabulary.tokens.slice(0, 998));
  assert.equal(small.decode(small.encode("a photographer")), "a photographer ");
});

test("Hugging Face vocab.json + merges.txt tokenizes like the reference file", async () => {
  const full = path.join(tmp, "hf-full");
  mkdirSync(full);
  writeHfPair(full, reference);
  sameTokenization(await ClipTokenizer.fromDir(full), reference);
  const dir = path.join(tmp, "hf");
  mkdirSync(dir);
  writeHfPair(dir, small);
  sameTokenization(await ClipTokenizer.fromFile(path.join(dir, "vocab.json")), small);
  sameTokenization(await ClipTokenizer.fromFile(path.join(dir, "merges.txt")), small);
});

test("Hugging Face tokenizer.json (merges as strings or pairs)", async () => {
  const dir = path.join(tmp, "hf-json");
  mkdirSync(dir);
  const vocab: Record<string, number> = {};
  small.vocabulary.tokens.forEach((t, id) => (vocab[t!] = id));
  const merges = small.vocabulary.merges.map(([a, b], i) => (i % 2 ? `${a} ${b}` : [a, b]));
  writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify({ model: { type: "BPE", vocab, merges } }));
  sameTokenization(await ClipTokenizer.fromDir(dir), small);
});

test("a plain (not gzipped) merges file with CRLF line ends reads the same", async () => {
  const text = ["#version: 0.2", ...small.vocabulary.merges.map(([a, b]) => `${a} ${b}`)].join("\r\n") + "\r\n";
  const file = path.join(tmp, "plain.txt");
  writeFileSync(file, text);
  sameTokenization(await ClipTokenizer.fromFile(file), small);
});

test("fromDir: an open_clip checkpoint directory, with text_cfg from open_clip_config.json", async () => {
  const tok = await ClipTokenizer.fromDir(path.join(REFERENCE, "vit-tiny"));
  sameTokenization(tok, reference);
  assert.equal(tok.contextLength, 77);
  const dir = path.join(tmp, "ctx16");
  mkdirSync(dir);
  copyFileSync(VOCAB, path.join(dir, "bpe_simple_vocab_16e6.txt.gz"));
  writeFileSync(path.join(dir, "open_clip_config.json"), JSON.stringify({ model_cfg: { text_cfg: { context_length: 16, vocab_size: 49408 } } }));
  const short = await ClipTokenizer.fromFile(dir);
  assert.equal(short.contextLength, 16);
  assert.equal(short.tokenize(["a cat"])[0].length, 16);
});

test("mistakes are UserErrors that name the file and what was expected", async () => {
  const empty = path.join(tmp, "empty");
  mkdirSync(empty);
  await assert.rejects(ClipTokenizer.fromDir(empty), (e: Error) => e instanceof UserError && /no tokenizer vocabulary in .*empty.*bpe_simple_vocab_16e6\.txt\.gz.*vocab\.json \+ merges\.txt/.test(e.message));
  await assert.rejects(ClipTokenizer.fromFile(path.join(tmp, "missing.txt.gz")), (e: Error) => e instanceof UserError && /missing\.txt\.gz/.test(e.message));
  const broken = path.join(tmp, "broken.txt.gz");
  writeFileSync(broken, gzipSync("#version: 0.2\ni n\nt h e\n"));
  await assert.rejects(ClipTokenizer.fromFile(broken), (e: Error) => e instanceof UserError && /broken\.txt\.gz: line 3: expected a merge "A B", got "t h e"/.test(e.message));
  const lone = path.join(tmp, "lone", "vocab.json");
  mkdirSync(path.dirname(lone));
  writeFileSync(lone, "{}");
  await assert.rejects(ClipTokenizer.fromFile(lone), (e: Error) => e instanceof UserError && /needs merges\.txt beside it/.test(e.message));
  writeFileSync(path.join(path.dirname(lone), "merges.txt"), "#version: 0.2\n");
  await assert.rejects(ClipTokenizer.fromFile(lone), (e: Error) => e instanceof UserError && /no <\|startoftext\|> token/.test(e.message));
  await assert.rejects(ClipTokenizer.fromFile(VOCAB, { vocabSize: 100 }), (e: Error) => e instanceof UserError && />= 514/.test(e.message));
  assert.throws(() => reference.decode([49408]), (e: Error) => e instanceof UserError && /token id 49408 is not in the vocabulary/.test(e.message));
});

test("merges files the one-pass reader cannot take (a repeated token, a merge spelling a special token, an unknown symbol) read as the reference does", () => {
  const cases: [string, string][][] = [
    [["a", "b</w>"], ["c", "d</w>"], ["a", "b</w>"]], // "ab</w>" twice: the reference's dict keeps the last id
    [["<", "|"], ["<|", "e"], ["<|e", "n"], ["<|en", "d"], ["<|end", "o"], ["<|endo", "f"], ["<|endof", "t"], ["<|endoft", "e"], ["<|endofte", "x"], ["<|endoftex", "t"], ["<|endoftext", "|"], ["<|endoftext|", ">"]],
    [["a", "b"], ["zz", "q"], ["ab", "c</w>"]], // "zz" is no token: only a word using it fails
  ];
  for (const merges of cases) {
    const text = "#version: 0.2\n" + merges.map(([a, b]) => `${a} ${b}`).join("\n") + "\n";
    const read = ClipTokenizer.fromMergesText(text);
    const direct = ClipTokenizer.fromMerges(merges);
    assert.deepEqual(read.vocabulary.tokens, direct.vocabulary.tokens);
    assert.equal(read.vocabSize, 512 + merges.length + 2);
    assert.equal(read.eotToken, read.vocabSize - 1);
    for (const t of ["abc", "ab cd", "<|endoftext|>", "x <|endoftext|>y"]) assert.deepEqual(read.encode(t), direct.encode(t), t);
  }
});
