/**
 * @file The tokenizer against openai/CLIP itself (fixtures/reference/tokenizer.json: 20 texts run
 * through openai/CLIP's own simple_tokenizer.py with real ftfy) and against golden/cases.json.
 * Provenance of golden/cases.json: NOT openai/CLIP's code. It is our own Python port of its
 * algorithm (bench/tokenizer/reference_tokenizer.py, run by golden/generate.py with ftfy 6.3.1 and
 * the regex module), kept because it covers every ftfy fixer path; the port itself agrees with
 * openai/CLIP on the 20 reference texts. Regenerating it with openai/CLIP's simple_tokenizer.py
 * needs ftfy and network access this machine does not have.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { REFERENCE, ROOT, VOCAB } from "../helpers/shared.js";
import { ClipTokenizer, cleanText } from "../../src/tokenizer/index.js";

interface ReferenceCase {
  text: string;
  bpe_ids: number[];
  tokenize_77: number[];
  decoded: string;
}
interface GoldenCase {
  text: string;
  clean: string;
  bpe_ids: number[];
  decoded: string;
}

const reference = JSON.parse(readFileSync(path.join(REFERENCE, "tokenizer.json"), "utf8")) as { cases: ReferenceCase[] };
const golden = JSON.parse(readFileSync(path.join(ROOT, "test/tokenizer/golden/cases.json"), "utf8")) as { cases: GoldenCase[] };
const tokenizer = await ClipTokenizer.fromFile(VOCAB);

test("vocabulary: 49408 ids, <|startoftext|> 49406, <|endoftext|> 49407", () => {
  assert.equal(tokenizer.vocabSize, 49408);
  assert.equal(tokenizer.sotToken, 49406);
  assert.equal(tokenizer.eotToken, 49407);
  assert.equal(tokenizer.contextLength, 77);
});

test("the openai/CLIP reference texts are all there", () => assert.equal(reference.cases.length, 20));

for (const [i, c] of reference.cases.entries()) {
  test(`openai/CLIP case ${i}: ${JSON.stringify(c.text).slice(0, 50)}`, () => {
    assert.deepEqual(tokenizer.encode(c.text), c.bpe_ids, "bpe_ids (SimpleTokenizer.encode)");
    assert.deepEqual(tokenizer.tokenize([c.text], { truncate: "silent" })[0], c.tokenize_77, "clip.tokenize(truncate=True)");
    assert.equal(tokenizer.decode(c.bpe_ids), c.decoded, "SimpleTokenizer.decode");
  });
}

test("openai/CLIP cases as one batch", () => {
  const rows = tokenizer.tokenize(reference.cases.map((c) => c.text), { truncate: "silent" });
  assert.deepEqual(rows, reference.cases.map((c) => c.tokenize_77));
});

test(`our Python port of the reference algorithm (ftfy 6.3.1) on ${golden.cases.length} texts covering every ftfy fixer`, () => {
  assert.ok(golden.cases.length >= 200, `golden/cases.json has ${golden.cases.length} cases (expected 211)`);
  for (const c of golden.cases) {
    const label = JSON.stringify(c.text);
    assert.equal(cleanText(c.text), c.clean, `cleaned ${label}`);
    assert.deepEqual(tokenizer.encode(c.text), c.bpe_ids, `ids of ${label}`);
    assert.equal(tokenizer.decode(c.bpe_ids), c.decoded, `decoded ${label}`);
  }
});
