/** @file Property: decode(encode(x)) gives back the cleaned, lower-cased text, every piece followed by a space. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { VOCAB } from "../helpers/shared.js";
import { ClipTokenizer, END_OF_TEXT, START_OF_TEXT, cleanText, preTokenize } from "../../src/tokenizer/index.js";

/** mulberry32: a small seeded PRNG, so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// code point ranges to draw from: scripts, marks, whitespace, symbols, emoji, and all of Unicode
const RANGES: [number, number][] = [
  [0x20, 0x7e], [0x20, 0x7e], [0x61, 0x7a], [0x00, 0x1f], [0x80, 0xff], [0x100, 0x24f], [0x300, 0x36f],
  [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x6ff], [0x900, 0x97f], [0xe00, 0xe7f], [0x2000, 0x206f],
  [0x2070, 0x2bff], [0x3000, 0x30ff], [0x4e00, 0x9fff], [0xac00, 0xd7a3], [0xfb00, 0xfb06], [0xff00, 0xffef],
  [0x1f300, 0x1faff], [0x1d400, 0x1d7ff], [0x10000, 0x10ffff], [0xa0, 0x10ffff],
];
const SPACES = [" ", " ", " ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2028", "\u0085", "\u200b"];

function randomText(rand: () => number): string {
  const n = Math.floor(rand() * 60);
  let s = "";
  for (let i = 0; i < n; i++) {
    if (rand() < 0.15) {
      s += SPACES[Math.floor(rand() * SPACES.length)];
      continue;
    }
    const [lo, hi] = RANGES[Math.floor(rand() * RANGES.length)];
    let cp = lo + Math.floor(rand() * (hi - lo + 1));
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // lone surrogates are tested in ftfy.test.ts
    s += String.fromCodePoint(cp);
  }
  return s;
}

const tokenizer = await ClipTokenizer.fromFile(VOCAB);

test("decode(encode(x)) is the cleaned, lower-cased x: 4000 seeded random Unicode strings", () => {
  const rand = prng(20240601);
  for (let k = 0; k < 4000; k++) {
    const x = randomText(rand);
    const cleaned = cleanText(x);
    const pieces = preTokenize(cleaned);
    const decoded = tokenizer.decode(tokenizer.encode(x));
    const label = `case ${k}: ${JSON.stringify(x)}`;
    // the reference decodes every word with a trailing space ("</w>"), special tokens without one
    const expected = pieces.map((p) => (p === START_OF_TEXT || p === END_OF_TEXT ? p : p + " ")).join("");
    assert.equal(decoded, expected, label);
    // and the pieces are all of the cleaned text except its whitespace (and U+0345, see clean.ts)
    assert.equal(pieces.join(""), cleaned.replace(/[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]|\u0345/g, ""), label);
    assert.equal(cleaned, cleaned.toLowerCase(), label);
  }
});

test("decode(encode(x)) on the reference's own kind of text: words and punctuation", () => {
  assert.equal(tokenizer.decode(tokenizer.encode("A Photo of a DOG, on the beach!")), "a photo of a dog , on the beach ! ");
  assert.equal(tokenizer.decode(tokenizer.encode("")), "");
});
