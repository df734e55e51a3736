/** @file UTF-8 as Python's codecs do it: strict decoding, decoding with U+FFFD replacement, and ftfy's "utf-8-variants". No Node APIs. */

/**
 * Length of the valid sequence that starts at `i` in `b` (a byte accessor), or the length of its
 * maximal valid prefix negated (-1, -2, -3) when it is invalid or cut short: Unicode's "maximal
 * subpart" rule, which Python's decoder and the WHATWG decoder both follow for U+FFFD.
 */
function sequenceLength(b: (i: number) => number, i: number, n: number): number {
  const b0 = b(i);
  if (b0 < 0x80) return 1;
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    if (b0 === 0xe0) lo = 0xa0;
    else if (b0 === 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3;
    if (b0 === 0xf0) lo = 0x90;
    else if (b0 === 0xf4) hi = 0x8f;
  } else return -1;
  for (let k = 1; k <= need; k++) {
    if (i + k >= n) return -k;
    const c = b(i + k);
    if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return -k;
  }
  return need + 1;
}

function codePointAt(b: (i: number) => number, i: number, len: number): number {
  const b0 = b(i);
  if (len === 1) return b0;
  if (len === 2) return ((b0 & 0x1f) << 6) | (b(i + 1) & 0x3f);
  if (len === 3) return ((b0 & 0x0f) << 12) | ((b(i + 1) & 0x3f) << 6) | (b(i + 2) & 0x3f);
  return ((b0 & 0x07) << 18) | ((b(i + 1) & 0x3f) << 12) | ((b(i + 2) & 0x3f) << 6) | (b(i + 3) & 0x3f);
}

/** bytes.decode("utf-8", errors="replace"). */
export function decodeUtf8Replace(bytes: ArrayLike<number>): string {
  const n = bytes.length;
  const at = (i: number): number => bytes[i];
  const parts: string[] = [];
  let run: number[] = [];
  for (let i = 0; i < n; ) {
    const len = sequenceLength(at, i, n);
    if (len > 0) {
      run.push(codePointAt(at, i, len));
      i += len;
    } else {
      run.push(0xfffd);
      i += -len;
    }
    if (run.length >= 4096) {
      parts.push(String.fromCodePoint(...run));
      run = [];
    }
  }
  parts.push(String.fromCodePoint(...run));
  return parts.join("");
}

/**
 * Decodes a byte string (one char per byte, 0..255) as UTF-8, or returns null where Python's
 * strict decoder raises. `variants` adds ftfy's "utf-8-variants" codec: Java's C0 80 for U+0000
 * and CESU-8 (a surrogate pair written as two 3-byte sequences). That codec finds its special
 * sequences with a regex whose `$` also matches before a final "\n", so a C0 or a CESU-8 pair
 * directly before the string's final "\n" swallows it; we keep that quirk.
 */
export function decodeUtf8Bytes(bytes: string, variants: boolean): string | null {
  const n = bytes.length;
  const at = (i: number): number => bytes.charCodeAt(i);
  const out: number[] = [];
  const parts: string[] = [];
  for (let i = 0; i < n; ) {
    const b0 = at(i);
    if (b0 < 0x80) {
      out.push(b0);
      i++;
    } else {
      if (variants && b0 === 0xc0 && i + 1 < n && (at(i + 1) === 0x80 || (at(i + 1) === 0x0a && i + 2 === n))) {
        out.push(0);
        i += 2;
        continue;
      }
      if (variants && b0 === 0xed && i + 6 <= n && isCesuPair(at, i, n)) {
        out.push(
          0x10000 + ((at(i + 1) & 0x0f) << 16) + ((at(i + 2) & 0x3f) << 10) + ((at(i + 4) & 0x0f) << 6) + (at(i + 5) & 0x3f),
        );
        i += 6;
        continue;
      }
      const len = sequenceLength(at, i, n);
      if (len < 0) return null;
      out.push(codePointAt(at, i, len));
      i += len;
    }
    if (out.length >= 4096) {
      parts.push(String.fromCodePoint(...out));
      out.length = 0;
    }
  }
  parts.push(String.fromCodePoint(...out));
  return parts.join("");
}

function isCesuPair(at: (i: number) => number, i: number, n: number): boolean {
  const c1 = at(i + 1);
  const c2 = at(i + 2);
  const c4 = at(i + 4);
  const c5 = at(i + 5);
  if (c1 < 0xa0 || c1 > 0xaf || c2 < 0x80 || c2 > 0xbf || at(i + 3) !== 0xed || c4 < 0xb0 || c4 > 0xbf) return false;
  return (c5 >= 0x80 && c5 <= 0xbf) || (c5 === 0x0a && i + 6 === n);
}

/** Appends the UTF-8 bytes of code point `cp` to `out`. */
export function pushUtf8(out: number[], cp: number): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
}

/** A string's UTF-8 bytes (lone surrogates, which cleaning removes, are written as U+FFFD). */
export function encodeUtf8(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const lo = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (cp <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff) {
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      } else cp = 0xfffd;
    }
    pushUtf8(out, cp);
  }
  return out;
}
