/** @file The regex-free ASCII splitter and the piece cache behind encode(). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { preTokenize } from "../../src/tokenizer/index.js";
import { PieceCache, asciiPieces, hashRange } from "../../src/tokenizer/pieces.js";

function pieces(text: string): string[] | null {
  const bounds = new Int32Array(3 * text.length + 3);
  const n = asciiPieces(text, bounds);
  if (n < 0) return null;
  return Array.from({ length: n }, (_, k) => {
    const [start, end, hash] = [bounds[3 * k], bounds[3 * k + 1], bounds[3 * k + 2]];
    assert.equal(hash, hashRange(text, start, end), "the hash of each piece is hashRange's");
    return text.slice(start, end);
  });
}

test("asciiPieces equals the reference pattern on ASCII text, with each piece's hash (50k seeded random strings)", () => {
  // characters that matter to the pattern, weighted towards its special cases
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCZ0123456789 '''<<|||>>!?.,-_/#&\t\n\x0b\x0c\r\x1c\x1f\x00\x7f";
  const specials = ["<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "<|start", "'r", "'l"];
  let seed = 12345;
  const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  for (let k = 0; k < 50_000; k++) {
    let s = "";
    const len = Math.floor(rand() * 24);
    for (let i = 0; i < len; i++) {
      s += rand() < 0.1 ? specials[Math.floor(rand() * specials.length)] : alphabet[Math.floor(rand() * alphabet.length)];
    }
    assert.deepEqual(pieces(s), preTokenize(s), JSON.stringify(s));
  }
  assert.equal(pieces("caf\u00e9"), null, "non-ASCII text is left to the pattern");
});

test("PieceCache finds pieces inside a longer text, and starts over at its limit", () => {
  const cache = new PieceCache(3);
  const put = (key: string, v: number): number => cache.set(key, hashRange(key, 0, key.length), [v]);
  const get = (text: string, a: number, b: number): number[] | undefined => {
    const slot = cache.get(text, a, b, hashRange(text, a, b));
    return slot < 0 ? undefined : cache.idsAt(slot);
  };
  put("dog", 1);
  put("cat", 2);
  assert.deepEqual(get("a dog", 2, 5), [1]);
  assert.deepEqual(get("cats", 0, 3), [2]);
  assert.equal(get("cats", 0, 4), undefined);
  put("fox", 3);
  assert.equal(cache.size, 3);
  put("owl", 4); // at the limit: starts over
  assert.equal(cache.size, 1);
  assert.equal(get("dog", 0, 3), undefined);
  assert.deepEqual(get("owl", 0, 3), [4]);
  const big = new PieceCache(1 << 20);
  const key = (i: number): string => "w" + i;
  // growth of the slots and of the shared ids; pieces of several ids and of none
  const ids = (i: number): number[] => Array.from({ length: i % 4 }, (_, k) => i * 10 + k);
  for (let i = 0; i < 20_000; i++) big.set(key(i), hashRange(key(i), 0, key(i).length), ids(i));
  for (let i = 0; i < 20_000; i++) assert.deepEqual(big.idsAt(big.get(key(i), 0, key(i).length, hashRange(key(i), 0, key(i).length))), ids(i));
});
