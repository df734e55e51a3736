/** @file ftfy.fix_text (6.3.1) and html.unescape, ported: expected values produced by the Python originals. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { fixText } from "../../src/tokenizer/ftfy/index.js";
import { htmlUnescape } from "../../src/tokenizer/ftfy/html.js";
import { decodeUtf8Bytes, decodeUtf8Replace } from "../../src/tokenizer/utf8.js";

// [input, ftfy.fix_text(input)]: mojibake in several code pages, entities, widths, quotes, controls
const FIX_TEXT: [string, string][] = [
  ["\u00e2\u0153\u201d No problems", "\u2714 No problems"],
  ["&macr;\\_(\u00e3\u0083\u0084)_/&macr;", "\u00af\\_(\u30c4)_/\u00af"],
  ["Broken text&hellip; it&#x2019;s \ufb02ubberi\ufb01c!", "Broken text\u2026 it's flubberific!"],
  ["\uff2c\uff2f\uff35\uff24\u3000\uff2e\uff2f\uff29\uff33\uff25\uff33", "LOUD NOISES"],
  ["s\u00c3\u00b3", "s\u00f3"],
  ["voil\u00c3 le travail", "voil\u00e0 le travail"],
  ["\u00c3 la mode", "\u00e0 la mode"],
  ["\u00e2\u20ac\u0153 like this \u00e2\u20ac\ufffd", "\" like this \ufffd"],
  ["This text was never UTF-8 at all\u0085", "This text was never UTF-8 at all\u2026"],
  ["This text is sad .\u00e2\u0081\u201d.", "This text is sad .\u2054."],
  ["AH\u00c5\u2122, the new sofa from IKEA\u00ae", "AH\u00c5\u2122, the new sofa from IKEA\u00ae"],
  ["not such a fan of Charlotte Bront\u00eb\u2026\u201d", "not such a fan of Charlotte Bront\u00eb\u2026\""],
  ["&Jscr;ohn &HilbertSpace;ancock", "\ud835\udca5ohn \u210bancock"],
  ["P&EACUTE;REZ BUNDESSTRA&SZLIG;E", "P\u00c9REZ BUNDESSTRASSE"],
  ["&ntilde; &Ntilde; &NTILDE; &nTILDE;", "\u00f1 \u00d1 \u00d1 &nTILDE;"],
  ["<p>&amp;</p>", "<p>&amp;</p>"],
  ["\u001b[36;44mblue\u001b[0m", "blue"],
  ["a\r\nb\rc\u2028d\u2029e\u0085f", "a\nb\nc\nd\ne\u2026f"],
  ["\ufeffbom\u0000\u0007x\u206a", "bomx"],
  ["\ufb02u\ufb03e\ufb06 \u0133", "fluffiest ij"],
  ["\uff35\uff80\uff70\uff9d", "U\u30bf\u30fc\u30f3"],
  ["\u2018q\u2019 \u201cq\u201d \u02bc", "'q' \"q\" '"],
  ["e\u0301", "\u00e9"],
  ["here comes a null! \u00c0\u0080", "here comes a null! "],
  ["\u00c3\u00a9\u00c0\n", "\u00e9"],
  ["\u00ed\u00a0\u00bd\u00ed\u00b8\u0080 emoji", "\ud83d\ude00 emoji"],
  ["\u00d0\u0178\u00d1\u20ac\u00d0\u00b8\u00d0\u00b2\u00d0\u00b5\u00d1\u201a", "\u041f\u0440\u0438\u0432\u0435\u0442"],
  ["\u00c3\u00bcber caf\u00c3\u00a9", "\u00fcber caf\u00e9"],
  ["caf\u00e9 &amp; cr\u00e8me", "caf\u00e9 & cr\u00e8me"],
  ["line one &lt;\nline <b> two &amp;\nline three &amp;", "line one <\nline <b> two &amp;\nline three &amp;"],
];

// [input, html.unescape(input)]
const UNESCAPE: [string, string][] = [
  ["&amp;amp;", "&amp;"],
  ["&notit;", "\u00acit;"],
  ["&notin;", "\u2209"],
  ["&#0;", "\ufffd"],
  ["&#x80;", "\u20ac"],
  ["&#1;", ""],
  ["&lt", "<"],
  ["&#65", "A"],
  ["&#x1F600;", "\ud83d\ude00"],
  ["&#xD800;", "\ufffd"],
  ["&#99999999999;", "\ufffd"],
  ["&bogus;", "&bogus;"],
  ["&AMP;", "&"],
  ["a&b", "a&b"],
  ["&#13;", "\r"],
  ["&#x85;", "\u2026"],
  ["&eacute&eacute;&Eacute;", "\u00e9\u00e9\u00c9"],
];

test("fixText equals ftfy.fix_text", () => {
  for (const [input, expected] of FIX_TEXT) assert.equal(fixText(input), expected, JSON.stringify(input));
});

test("fixText replaces lone surrogates and keeps pairs", () => {
  assert.equal(fixText("a\ud83d b\ude00 \ud83d\ude00"), "a\ufffd b\ufffd \ud83d\ude00");
});

test("fixText leaves plain text alone (same string back)", () => {
  for (const s of ["a photo of a cat.", "tab\tand\nnewline", "caf\u00e9 na\u00efve", "\u65e5\u672c\u8a9e", ""]) {
    assert.equal(fixText(s), s);
  }
});

test("htmlUnescape equals html.unescape", () => {
  for (const [input, expected] of UNESCAPE) assert.equal(htmlUnescape(input), expected, JSON.stringify(input));
});

test("UTF-8 decoding: strict, utf-8-variants, and U+FFFD replacement as Python does it", () => {
  const bytes = (...b: number[]): string => String.fromCharCode(...b);
  assert.equal(decodeUtf8Bytes(bytes(0xc3, 0xa9), false), "\u00e9");
  assert.equal(decodeUtf8Bytes(bytes(0xc3), false), null);
  assert.equal(decodeUtf8Bytes(bytes(0xed, 0xa0, 0x80), false), null, "surrogates are not UTF-8");
  assert.equal(decodeUtf8Bytes(bytes(0xe0, 0x80, 0x80), false), null, "overlong");
  assert.equal(decodeUtf8Bytes(bytes(0xc0, 0x80), true), "\u0000", "Java's NUL");
  assert.equal(decodeUtf8Bytes(bytes(0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80), true), "\u{1f600}", "CESU-8");
  assert.equal(decodeUtf8Replace([0x61, 0xe1, 0x80, 0x62, 0xf0, 0x80, 0xff]), "a\ufffdb\ufffd\ufffd\ufffd");
  assert.equal(decodeUtf8Replace([0xf0, 0x9f, 0x98]), "\ufffd");
});

