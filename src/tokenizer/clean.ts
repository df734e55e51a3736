/**
 * @file CLIP's text cleaning and pre-tokenizer (simple_tokenizer.py: basic_clean, whitespace_clean,
 * lower, the `regex` pattern), reproduced for Python's `regex` module semantics.
 */
import { fixText, htmlUnescape } from "./ftfy/index.js";

// Python str.isspace() (what str.strip() removes): White_Space plus the separators U+1C..U+1F
const PY_ISSPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
// the `regex` module's \s: the Unicode White_Space property
const WHITE_SPACE = "\\t\\n\\v\\f\\r\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

const STRIP_RE = new RegExp(`^[${PY_ISSPACE}]+|[${PY_ISSPACE}]+$`, "g");
const WHITE_SPACE_RUN_RE = new RegExp(`[${WHITE_SPACE}]+`, "g");
// printable ASCII words without '&', single spaces, nothing at either end: only lower case changes it
const PLAIN_ASCII_RE = /^[\x21-\x25\x27-\x7e]+(?: [\x21-\x25\x27-\x7e]+)*$/;
const PLAIN_RE = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;

/**
 * The pre-tokenizer, as the reference compiles it with re.IGNORECASE. On lower-cased text that
 * flag still matters twice: 'ſ' (long s) case-folds to 's', so "'ſ" is a contraction and
 * "<|ſtartoftext|>" one piece; and U+0345 (combining ypogegrammeni, folds to iota) matches none
 * of the three classes, so like whitespace it separates pieces and is dropped.
 */
const PIECE_SOURCE =
  "<\\|[s\\u017f]tartoftext\\|>|<\\|endoftext\\|>|'(?:[s\\u017f]|t|re|ve|m|ll|d)|\\p{L}+|\\p{N}|" +
  `[^${WHITE_SPACE}\\p{L}\\p{N}\\u0345]+`;
const PIECE_RE = new RegExp(PIECE_SOURCE, "gu");

/** Python's str.strip() with no argument. */
export function pyStrip(text: string): string {
  return text.replace(STRIP_RE, "");
}

/** whitespace_clean(basic_clean(text)).lower(): ftfy, HTML unescaped twice, whitespace collapsed, lower case. */
export function cleanText(text: string): string {
  if (PLAIN_ASCII_RE.test(text)) return text.toLowerCase();
  let t = fixText(text);
  t = htmlUnescape(htmlUnescape(t));
  // the common case (printable ASCII words with single spaces) needs neither strip nor collapse
  if (!PLAIN_RE.test(t)) {
    t = pyStrip(t);
    t = t.replace(WHITE_SPACE_RUN_RE, " ");
    t = pyStrip(t);
  }
  return t.toLowerCase();
}

/** re.findall(pattern, cleaned): the pieces BPE runs on. `cleaned` must come from cleanText. */
export function preTokenize(cleaned: string): string[] {
  return cleaned.match(PIECE_RE) ?? [];
}
