/** @file TokenTable: tokens found by a range of any string, joined in the arena, repeats refused. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { TokenTable } from "../../src/tokenizer/table.js";
import { Rng } from "../../src/util/rng.js";

test("tokens are found by a range of another string, joined tokens too; repeats are refused", () => {
  const t = new TokenTable();
  assert.equal(t.add("ab"), 0);
  assert.equal(t.add("c</w>"), 1);
  assert.equal(t.add("ab"), -1);
  assert.equal(t.addJoined(0, 1), 2);
  assert.equal(t.addJoined(0, 1), -1);
  assert.equal(t.size, 3);
  assert.equal(t.find("xxabc</w>yy", 2, 9), 2);
  assert.equal(t.find("xxabc</w>yy", 2, 4), 0);
  assert.equal(t.find("xxabc</w>yy", 2, 5), -1);
  assert.equal(t.find("", 0, 0), -1);
  assert.deepEqual(t.tokens(), ["ab", "c</w>", "abc</w>"]);
  assert.equal(t.token(2), "abc</w>");
});

test("agrees with a Map over 100k random joins (growth of the arena, the id arrays and the index)", () => {
  const rng = new Rng(5);
  const t = new TokenTable();
  const ref = new Map<string, number>();
  const strings: string[] = [];
  const alphabet = "abcdĀā</w>é";
  for (let i = 0; i < 64; i++) {
    let s = "";
    for (let k = 0; k <= rng.int(3); k++) s += alphabet[rng.int(alphabet.length)];
    const id = t.add(s);
    assert.equal(id, ref.has(s) ? -1 : ref.size);
    if (id >= 0) {
      ref.set(s, id);
      strings.push(s);
    }
  }
  for (let i = 0; i < 100_000; i++) {
    const a = rng.int(strings.length);
    const b = rng.int(Math.min(strings.length, 200));
    const joined = strings[a] + strings[b];
    if (joined.length > 40) continue;
    const id = t.addJoined(a, b);
    assert.equal(id, ref.has(joined) ? -1 : ref.size, joined);
    if (id >= 0) {
      ref.set(joined, id);
      strings.push(joined);
    }
  }
  assert.ok(ref.size > 20_000, `${ref.size} tokens`);
  for (const [s, id] of ref) assert.equal(t.find(`<${s}>`, 1, s.length + 1), id);
  assert.deepEqual(t.tokens(), strings);
});
