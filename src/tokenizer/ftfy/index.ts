/**
 * @file ftfy's `fix_text` with its default configuration (ftfy 6.3), as CLIP's tokenizer calls it.
 *
 * Order per line, repeated until nothing changes: HTML entities (unless the text has a '<'),
 * mojibake (UTF-8 read as a single-byte encoding), C1 controls, Latin ligatures, character width,
 * curly quotes, line breaks, surrogates, terminal escapes, control characters, NFC.
 */
import {
  ALTERED_UTF8_RE,
  fixC1Controls,
  fixCharacterWidth,
  fixLatinLigatures,
  fixLineBreaks,
  fixSurrogates,
  hasC1,
  isBad,
  removeControlChars,
  removeTerminalEscapes,
  replaceLossySequences,
  restoreByteA0,
  uncurlQuotes,
  utf8DetectorRe,
} from "./fixes.js";
import { codePage, codePages, encodeSingleByte } from "./codepages.js";
import { ftfyUnescapeHtml } from "./html.js";
import { decodeUtf8Bytes } from "../utf8.js";

export { htmlUnescape } from "./html.js";
export { isBad } from "./fixes.js";

// Text that no fixer changes: printable ASCII, tab, LF and FF, without '&' (entities).
const UNCHANGED_ASCII_RE = /^[\t\n\f\x20-\x25\x27-\x7e]*$/;
// eslint-disable-next-line no-control-regex -- ASCII includes the controls
const ASCII_RE = /^[\x00-\x7f]*$/;
// Text without any character that a fixer other than fix_encoding and NFC acts on (in `u` mode,
// [\ud800-\udfff] matches only lone surrogates).
const NO_FIXER_NEEDED_RE =
  // eslint-disable-next-line no-control-regex -- control characters are what the fixers remove
  /^[^\x00-\x08\x0b\x0d-\x1f&\x7f-\x9f\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\u02bc\u2018-\u201f\u2028\u2029\u206a-\u206f\u3000\ud800-\udfff\ufb00-\ufb06\ufeff\ufff9-\ufffc\uff01-\uffef]*$/u;

/** ftfy's longest segment, in code points. */
const MAX_DECODE_LENGTH = 1_000_000;

/** ftfy.fix_text(text) with the default TextFixerConfig. */
export function fixText(text: string): string {
  if (UNCHANGED_ASCII_RE.test(text)) return text;
  const out: string[] = [];
  let unescapeHtml = true;
  let pos = 0;
  while (pos < text.length) {
    let end = text.indexOf("\n", pos) + 1;
    if (end === 0) end = text.length;
    if (end - pos > MAX_DECODE_LENGTH) end = advanceCodePoints(text, pos, MAX_DECODE_LENGTH, end);
    const segment = text.slice(pos, end);
    // 'auto' entity decoding switches off for good once a segment contains '<' (it may be HTML)
    if (unescapeHtml && segment.includes("<")) unescapeHtml = false;
    out.push(fixSegment(segment, unescapeHtml));
    pos = end;
  }
  return out.join("");
}

function advanceCodePoints(text: string, pos: number, count: number, limit: number): number {
  let i = pos;
  for (let k = 0; k < count && i < limit; k++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < limit ? 2 : 1;
  }
  return i;
}

/** ftfy.fix_and_explain on one segment, without the explanation. */
function fixSegment(text: string, unescapeHtml: boolean): string {
  // the common case: nothing to fix, no mojibake, already NFC (one pass of the loop, unchanged)
  if (NO_FIXER_NEEDED_RE.test(text) && (ASCII_RE.test(text) || !isBad(text)) && text.normalize("NFC") === text) {
    return text;
  }
  for (;;) {
    const original = text;
    if (unescapeHtml) text = ftfyUnescapeHtml(text);
    text = fixEncoding(text);
    text = fixC1Controls(text);
    text = fixLatinLigatures(text);
    text = fixCharacterWidth(text);
    text = uncurlQuotes(text);
    text = fixLineBreaks(text);
    text = fixSurrogates(text);
    text = removeTerminalEscapes(text);
    text = removeControlChars(text);
    text = text.normalize("NFC");
    if (text === original) return text;
  }
}

/** ftfy.fix_encoding: undo mojibake, repeatedly, while a step changes the text. */
export function fixEncoding(text: string): string {
  for (;;) {
    const fixed = fixEncodingStep(text);
    if (fixed === text) return text;
    text = fixed;
  }
}

function fixEncodingStep(text: string): string {
  if (text.length === 0 || ASCII_RE.test(text) || !isBad(text)) return text;
  let latin1 = false;
  // UTF-8 that was decoded with a single-byte encoding: re-encode it with that one and decode as UTF-8
  for (const page of codePages()) {
    let bytes = encodeSingleByte(text, page);
    if (bytes === null) continue;
    if (page.name === "latin-1") latin1 = true;
    if (page.name !== "macroman" && ALTERED_UTF8_RE.test(bytes)) bytes = restoreByteA0(bytes);
    if (page.sloppy) bytes = replaceLossySequences(bytes);
    const variants = bytes.includes("\xed") || bytes.includes("\xc0");
    const fixed = decodeUtf8Bytes(bytes, variants);
    if (fixed !== null) return fixed;
  }
  // UTF-8 mojibake embedded in otherwise different text: fix each run on its own
  if (utf8DetectorRe().test(text)) {
    const fixed = decodeInconsistentUtf8(text);
    if (fixed !== text) return fixed;
  }
  // Latin-1 with C1 controls: meant as Windows-1252 (strict: its five unassigned bytes fail)
  if (latin1) {
    const fixed = decodeWindows1252Strict(text);
    if (fixed !== null && fixed !== text) return fixed;
  }
  if (hasC1(text)) return fixC1Controls(text);
  return text;
}

/** ftfy.fixes.decode_inconsistent_utf8. */
function decodeInconsistentUtf8(text: string): string {
  // String.prototype.replace collects every match before it calls back, so re-entry is safe
  return text.replace(utf8DetectorRe(), (substr) =>
    substr.length < text.length && isBad(substr) ? fixEncoding(substr) : substr,
  );
}

const WINDOWS_1252_UNASSIGNED = new Set([0x81, 0x8d, 0x8f, 0x90, 0x9d]);
/** text.encode("latin-1").decode("windows-1252"), null where Python raises. */
function decodeWindows1252Strict(text: string): string | null {
  const page = codePage("sloppy-windows-1252");
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (WINDOWS_1252_UNASSIGNED.has(c)) return null;
    out += c >= 0x80 && c <= 0x9f ? page.decode[c] : text[i];
  }
  return out;
}
