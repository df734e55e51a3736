/**
 * @file Fuzz: captions from hostile .txt/.json bytes (invalid UTF-8, NUL bytes, RTL text and
 * combining marks, 1 MB captions, deep or odd JSON) through the sample builder and the tokenizer:
 * a sample is built or skipped with a reason naming shard and key; a kept caption is never longer
 * than the limit and never holds a lone surrogate from the cut; every token row is
 * <|startoftext|> ... <|endoftext|> padded to the context, long ones truncated and counted.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildSample } from "../../src/data/sample.js";
import { ClipTokenizer } from "../../src/tokenizer/index.js";
import { png } from "../data/helpers.js";
import { VOCAB } from "../helpers/shared.js";
import { FUZZ_SCALE, FUZZ_SEED, FuzzRng, Tally, mutate, runCase } from "./harness.js";

const MAX_CHARS = 2000;
const CTX = 77;
const enc = new TextEncoder();

const PIECES = [
  "a photo of a cat",
  "\u0000",
  "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627", // Hebrew, Arabic (RTL)
  "\u202e\u202d\u200f", // bidi overrides and marks
  "e\u0301\u0302\u0303\u0304\u0305\u0306", // stacked combining marks
  "\ud83d\ude00\ud83d\udc4d\ud83c\udffd", // emoji with a skin-tone modifier
  "\ud800", // a lone surrogate
  "\t\r\n  \u00a0\u2028",
  "&amp;&lt;&#x27;", // HTML entities (ftfy unescapes)
  "\u00c3\u00a9\u00c3\u00a8", // mojibake
  "x".repeat(300),
  "word ".repeat(50),
  "\ufeff\ufffd",
];

function randomCaption(rng: FuzzRng): string {
  let s = "";
  for (let k = 1 + rng.int(8); k > 0; k--) s += rng.pick(PIECES);
  return s;
}

/** Caption file bytes: valid text, text with invalid UTF-8 spliced in, random bytes, or JSON shapes. */
function captionBytes(rng: FuzzRng, i: number): { ext: "txt" | "json"; bytes: Uint8Array; op: string } {
  const text = randomCaption(rng);
  switch (i % 6) {
    case 0:
      return { ext: "txt", bytes: enc.encode(text), op: "text" };
    case 1: {
      const m = mutate(rng, enc.encode(text));
      return { ext: "txt", bytes: m.bytes, op: `text ${m.op}` };
    }
    case 2:
      return { ext: "txt", bytes: Uint8Array.from({ length: rng.int(600) }, () => rng.int(256)), op: "random bytes" };
    case 3:
      return { ext: "json", bytes: enc.encode(JSON.stringify(rng.pick([{ captions: [text, text.slice(0, 5)] }, [text], { caption: text }, { text: 7 }, { captions: [null, 3, text] }, "str", null, 42]))), op: "json" };
    case 4: {
      const m = mutate(rng, enc.encode(JSON.stringify({ captions: [text] })));
      return { ext: "json", bytes: m.bytes, op: `json ${m.op}` };
    }
    default: {
      // 1 MB: a long text of words, or one long "word", or a long run of one piece
      const unit = rng.pick(["lorem ipsum dolor ", "\u05e9\u05dc\u05d5\u05dd ", "a", "e\u0301", "\u0000 "]);
      return { ext: rng.int(2) ? "txt" : "json", bytes: enc.encode(unit.repeat(Math.ceil(2 ** 20 / unit.length))), op: `1MB of ${JSON.stringify(unit)}` };
    }
  }
}

test("fuzz: captions (invalid UTF-8, NUL, RTL, combining marks, 1 MB) through the sample builder and the tokenizer", async () => {
  const tokenizer = await ClipTokenizer.fromFile(VOCAB);
  const t = new Tally("captions");
  const rng = new FuzzRng(FUZZ_SEED, 6);
  const image = png(1);
  const n = 600 * FUZZ_SCALE;
  for (let i = 0; i < n; i++) {
    const c = captionBytes(rng, i);
    const id = `caption#${i} ${c.ext} ${c.op}`;
    const key = `k${i}`;
    const o = await runCase(key, () => {
      const built = buildSample(key, "fuzz.tar", new Map([["png", image], [c.ext, c.bytes]]), { requireImage: true, requireCaption: true, requireLabel: false, maxCaptionChars: MAX_CHARS });
      if (!built.ok) {
        assert.ok(built.message.startsWith(`fuzz.tar: ${key}: `), built.message);
        assert.equal(built.key, key);
        return { kept: 0, truncated: 0 };
      }
      for (const cap of built.sample.captions) {
        assert.ok(cap.length > 0 && cap.length <= MAX_CHARS, `caption of ${cap.length} characters`);
        const last = cap.charCodeAt(cap.length - 1);
        assert.ok(!(last >= 0xd800 && last <= 0xdbff) || c.op !== "text", "the cut left no lone high surrogate");
      }
      const { data, truncation } = tokenizer.tokenizeTensor(built.sample.captions, { contextLength: CTX, truncate: "warn", onWarning: () => {} });
      for (let r = 0; r < built.sample.captions.length; r++) {
        const row = data.subarray(r * CTX, (r + 1) * CTX);
        assert.equal(row[0], tokenizer.sotToken);
        const eot = row.indexOf(tokenizer.eotToken);
        assert.ok(eot > 0, "every row has <|endoftext|>");
        for (let k = eot + 1; k < CTX; k++) assert.equal(row[k], 0);
      }
      return { kept: built.sample.captions.length, truncated: truncation.texts, cut: built.dropped.truncated ?? 0 };
    });
    t.add(id, o);
    if (o.kind === "accepted") {
      const v = o.value as { kept: number; truncated: number; cut?: number };
      t.count(v.kept ? "samples kept" : "samples skipped");
      t.count("captions truncated to the context", v.truncated);
      t.count("captions cut to 2000 characters", v.cut ?? 0);
    }
  }
  t.finish();
});
