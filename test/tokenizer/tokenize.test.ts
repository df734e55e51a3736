/** @file The context-length policy: error, warn (with counts), silent, and chunking long texts instead. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { REFERENCE, VOCAB } from "../helpers/shared.js";
import { ClipTokenizer, type TruncationStats } from "../../src/tokenizer/index.js";
import { UserError } from "../../src/errors.js";

const tokenizer = await ClipTokenizer.fromFile(VOCAB);
const cases = (JSON.parse(readFileSync(path.join(REFERENCE, "tokenizer.json"), "utf8")) as { cases: { text: string; bpe_ids: number[]; tokenize_77: number[] }[] }).cases;
const long = cases.find((c) => c.bpe_ids.length > 75)!;
const SHORT = "a photo of a cat";

test("rows: <|startoftext|>, ids, <|endoftext|>, zeros to the context length", () => {
  const [row] = tokenizer.tokenize([SHORT], { contextLength: 10 });
  assert.deepEqual(row, [49406, 320, 1125, 539, 320, 2368, 49407, 0, 0, 0]);
  assert.deepEqual(tokenizer.tokenize(SHORT), tokenizer.tokenize([SHORT]), "a single string is one text");
  assert.deepEqual(tokenizer.tokenize([]), []);
});

test("truncate 'error' throws a UserError naming the text and the lengths (the reference's default)", () => {
  assert.throws(
    () => tokenizer.tokenize([SHORT, long.text], { truncate: "error" }),
    (e: Error) => e instanceof UserError && /text 1 .* 103 tokens .* context length 77/.test(e.message),
  );
  assert.doesNotThrow(() => tokenizer.tokenize([SHORT], { truncate: "error" }));
});

test("truncate 'warn' (the default) cuts like clip.tokenize(truncate=True) and reports counts", () => {
  const warnings: [string, TruncationStats][] = [];
  const rows = tokenizer.tokenize([long.text, SHORT, long.text], { onWarning: (m, s) => warnings.push([m, s]) });
  assert.deepEqual(rows[0], long.tokenize_77);
  assert.equal(rows[0][76], tokenizer.eotToken);
  assert.equal(warnings.length, 1);
  const [message, stats] = warnings[0];
  assert.deepEqual(stats, { texts: 2, tokensDropped: 2 * (long.bpe_ids.length + 2 - 77), indices: [0, 2] });
  assert.match(message, /truncated 2 of 3 text\(s\) to the context length 77: 52 token\(s\) dropped/);
  assert.equal(tokenizer.tokenize([SHORT], { onWarning: () => assert.fail("nothing was cut") }).length, 1);
});

test("truncate 'silent' cuts without a word; tokenizeWithStats still tells", () => {
  const rows = tokenizer.tokenize([long.text], { truncate: "silent", onWarning: () => assert.fail("silent") });
  assert.deepEqual(rows[0], long.tokenize_77);
  const { tokens, truncation } = tokenizer.tokenizeWithStats([long.text, SHORT], { truncate: "silent", contextLength: 5 });
  assert.deepEqual(tokens[1], [49406, 320, 1125, 539, 49407]);
  assert.deepEqual(truncation, { texts: 2, tokensDropped: long.bpe_ids.length + 2 - 5 + 2, indices: [0, 1] });
});

test("tokenizeTensor: the same rows in one row-major Int32Array, with the same policy", () => {
  const texts = [SHORT, long.text, ""];
  const warnings: TruncationStats[] = [];
  const { data, shape, truncation } = tokenizer.tokenizeTensor(texts, { onWarning: (_m, s) => warnings.push(s) });
  assert.deepEqual(shape, [3, 77]);
  assert.deepEqual(Array.from(data), tokenizer.tokenize(texts, { truncate: "silent" }).flat());
  assert.deepEqual(warnings, [truncation]);
  assert.throws(() => tokenizer.tokenizeTensor(texts, { truncate: "error" }), UserError);
});

test("bad options are UserErrors", () => {
  assert.throws(() => tokenizer.tokenize([SHORT], { contextLength: 1 }), UserError);
  assert.throws(() => tokenizer.tokenize([SHORT], { truncate: "cut" as "warn" }), UserError);
});

test("chunk: long texts become windows that end at word boundaries and keep every id", () => {
  const text = "a photograph of an extraordinarily long caption, " + long.text;
  const ids = tokenizer.encode(text);
  const { tokens, textIndex } = tokenizer.chunk([SHORT, text, ""], { contextLength: 12 });
  assert.deepEqual(tokens[0], tokenizer.tokenize([SHORT], { contextLength: 12 })[0], "a text that fits is one ordinary row");
  assert.deepEqual(tokens[tokens.length - 1], [49406, 49407, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "an empty text is one row");
  const windows = tokens.filter((_, k) => textIndex[k] === 1);
  assert.ok(windows.length >= Math.ceil(ids.length / 10));
  const joined: number[] = [];
  for (const row of windows) {
    assert.equal(row.length, 12);
    assert.equal(row[0], tokenizer.sotToken);
    const end = row.indexOf(tokenizer.eotToken);
    const body = row.slice(1, end);
    // each window decodes to whole words (ends with the "</w>" space)
    assert.match(tokenizer.decode(body), / $/);
    joined.push(...body);
  }
  assert.deepEqual(joined, ids);
  assert.deepEqual(textIndex, [0, ...windows.map(() => 1), 2]);
});

test("chunk splits inside a word only when one word is longer than a window", () => {
  const word = "pneumonoultramicroscopicsilicovolcanoconiosis";
  const ids = tokenizer.encode(word);
  const { tokens } = tokenizer.chunk([word], { contextLength: 4 });
  assert.deepEqual(tokens.flatMap((r) => r.slice(1, r.indexOf(tokenizer.eotToken))), ids);
  assert.ok(tokens.length === Math.ceil(ids.length / 2));
});

test("a full piece cache starts over without losing the special tokens or changing any id", () => {
  const tiny = new ClipTokenizer(tokenizer.vocabulary, { cacheSize: 3 });
  const texts = ["<|startoftext|> a cat <|endoftext|>", "dogs and cats, birds", "<|endoftext|> zebra <|startoftext|>", "many more words than three"];
  for (let round = 0; round < 3; round++) {
    for (const t of texts) assert.deepEqual(tiny.encode(t), tokenizer.encode(t), t);
  }
  assert.deepEqual(tiny.encode("<|startoftext|>"), [tokenizer.sotToken]);
  assert.throws(() => new ClipTokenizer(tokenizer.vocabulary, { cacheSize: 0 }), UserError);
});
