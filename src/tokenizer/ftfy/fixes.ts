/** @file The individual text fixers of ftfy 6.3 (ftfy.fixes), each a string -> string function with a cheap guard. */
import { BADNESS_SOURCE, UTF8_DETECTOR_SOURCE, WIDTH_MAP_JSON } from "./tables.js";
import { codePage } from "./codepages.js";

let badnessRe: RegExp | undefined;
/** ftfy.badness.is_bad: does the text contain a sequence that is very likely mojibake? */
export function isBad(text: string): boolean {
  badnessRe ??= new RegExp(BADNESS_SOURCE, "u");
  return badnessRe.test(text);
}

let utf8Detector: RegExp | undefined;
/** ftfy.chardata.UTF8_DETECTOR_RE (global, reset): runs of characters that look like UTF-8 read as a single-byte encoding. */
export function utf8DetectorRe(): RegExp {
  utf8Detector ??= new RegExp(UTF8_DETECTOR_SOURCE, "gu");
  utf8Detector.lastIndex = 0;
  return utf8Detector;
}

// Python: re.compile("\033\\[((?:\\d|;)*)([a-zA-Z])"); Python's \d is any Unicode decimal digit
// eslint-disable-next-line no-control-regex -- terminal escapes start with ESC
const ANSI_RE = /\x1b\[(?:\p{Nd}|;)*[a-zA-Z]/gu;
export function removeTerminalEscapes(text: string): string {
  return text.includes("\x1b") ? text.replace(ANSI_RE, "") : text;
}

const DOUBLE_QUOTE_RE = /[\u201c-\u201f]/g;
const SINGLE_QUOTE_RE = /[\u02bc\u2018-\u201b]/g;
export function uncurlQuotes(text: string): string {
  return text.replace(DOUBLE_QUOTE_RE, '"').replace(SINGLE_QUOTE_RE, "'");
}

const LIGATURES: Record<string, string> = {
  "\u0132": "IJ", // Dutch ligatures
  "\u0133": "ij",
  "\u0149": "\u02bcn", // Afrikaans digraph meant to avoid auto-curled quote
  "\u01f1": "DZ", // Serbian/Croatian digraphs for Cyrillic conversion
  "\u01f2": "Dz",
  "\u01f3": "dz",
  "\u01c4": "D\u017d",
  "\u01c5": "D\u017e",
  "\u01c6": "d\u017e",
  "\u01c7": "LJ",
  "\u01c8": "Lj",
  "\u01c9": "lj",
  "\u01ca": "NJ",
  "\u01cb": "Nj",
  "\u01cc": "nj",
  "\ufb00": "ff", // Latin typographical ligatures
  "\ufb01": "fi",
  "\ufb02": "fl",
  "\ufb03": "ffi",
  "\ufb04": "ffl",
  "\ufb05": "\u017ft",
  "\ufb06": "st",
};
const LIGATURE_RE = /[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;
export function fixLatinLigatures(text: string): string {
  return text.replace(LIGATURE_RE, (c) => LIGATURES[c]);
}

const WIDTH_RE = /[\u3000\uff01-\uffef]/g;
let widthMap: Record<number, string> | undefined; // parsed on first use (see generate_tables.py)
export function fixCharacterWidth(text: string): string {
  widthMap ??= JSON.parse(WIDTH_MAP_JSON) as Record<number, string>;
  const map = widthMap;
  return text.replace(WIDTH_RE, (c) => map[c.charCodeAt(0)] ?? c);
}

const LINE_BREAK_RE = /\r\n?|[\u2028\u2029\u0085]/g;
export function fixLineBreaks(text: string): string {
  return text.replace(LINE_BREAK_RE, "\n");
}

// a high surrogate without a low one after it, or a low one without a high one before it
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
/** Paired surrogates are already one character in a JavaScript string; lone ones become U+FFFD. */
export function fixSurrogates(text: string): string {
  return text.replace(LONE_SURROGATE_RE, "\ufffd");
}

// eslint-disable-next-line no-control-regex -- removing control characters is the point
const CONTROL_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;
export function removeControlChars(text: string): string {
  return text.replace(CONTROL_RE, "");
}

const C1_RE = /[\x80-\x9f]/g;
export function hasC1(text: string): boolean {
  C1_RE.lastIndex = 0;
  return C1_RE.test(text);
}
/** C1 controls read as their Windows-1252 characters, as browsers do. */
export function fixC1Controls(text: string): string {
  if (!hasC1(text)) return text;
  const page = codePage("sloppy-windows-1252");
  return text.replace(C1_RE, (c) => page.decode[c.charCodeAt(0)]);
}

// Python: re.compile(b"\xc3 (?! |quele|quela|quilo|s )"), on byte strings
const A_GRAVE_WORD_RE = /\xc3 (?! |quele|quela|quilo|s )/g;
const ALTERED_UTF8_SOURCE =
  "[\\xc2\\xc3\\xc5\\xce\\xd0\\xd9][ ]" +
  "|[\\xe2\\xe3][ ][\\x80-\\x84\\x86-\\x9f\\xa1-\\xbf]" +
  "|[\\xe0-\\xe3][\\x80-\\x84\\x86-\\x9f\\xa1-\\xbf][ ]" +
  "|[\\xf0][ ][\\x80-\\xbf][\\x80-\\xbf]" +
  "|[\\xf0][\\x80-\\xbf][ ][\\x80-\\xbf]" +
  "|[\\xf0][\\x80-\\xbf][\\x80-\\xbf][ ]";
/** UTF-8 sequences that would be valid had a 0xA0 byte not become a space. */
export const ALTERED_UTF8_RE = new RegExp(ALTERED_UTF8_SOURCE);
const ALTERED_UTF8_RE_G = new RegExp(ALTERED_UTF8_SOURCE, "g");

/** ftfy.fixes.restore_byte_a0, on a byte string. */
export function restoreByteA0(bytes: string): string {
  return bytes.replace(A_GRAVE_WORD_RE, "\xc3\xa0 ").replace(ALTERED_UTF8_RE_G, (m) => m.replace(/ /g, "\xa0"));
}

// UTF-8 / CESU-8 sequences with lost continuation bytes (0x1A stands for a byte that became U+FFFD)
const LOSSY_UTF8_RE = new RegExp(
  "[\\xc2-\\xdf][\\x1a]" +
    "|[\\xc2-\\xc3][?]" +
    "|\\xed[\\xa0-\\xaf][\\x1a?]\\xed[\\xb0-\\xbf][\\x1a?\\x80-\\xbf]" +
    "|\\xed[\\xa0-\\xaf][\\x1a?\\x80-\\xbf]\\xed[\\xb0-\\xbf][\\x1a?]" +
    "|[\\xe0-\\xef][\\x1a?][\\x1a\\x80-\\xbf]" +
    "|[\\xe0-\\xef][\\x1a\\x80-\\xbf][\\x1a?]" +
    "|[\\xf0-\\xf4][\\x1a?][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf]" +
    "|[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a?][\\x1a\\x80-\\xbf]" +
    "|[\\xf0-\\xf4][\\x1a\\x80-\\xbf][\\x1a\\x80-\\xbf][\\x1a?]" +
    "|\\x1a",
  "g",
);
/** ftfy.fixes.replace_lossy_sequences, on a byte string: such sequences become the bytes of U+FFFD. */
export function replaceLossySequences(bytes: string): string {
  return bytes.replace(LOSSY_UTF8_RE, "\xef\xbf\xbd");
}
