/**
 * @file The tokenizer's hot path: splitting cleaned ASCII text into pieces without the regex or
 * substrings, and a cache from piece to ids probed with (text, start, end).
 */

// FNV-1a, 32 bits: the hash of the piece cache and the token table
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

const SPACE = 0x20;
const APOSTROPHE = 0x27;
const LESS_THAN = 0x3c;
const START_OF_TEXT = "<|startoftext|>";
const END_OF_TEXT = "<|endoftext|>";

// ASCII classes of the reference pattern: 0 other, 1 letter, 2 digit, 3 White_Space
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) ASCII_CLASS[c] = 1;
  else if (c >= 0x30 && c <= 0x39) ASCII_CLASS[c] = 2;
  else if (c === SPACE || (c >= 0x09 && c <= 0x0d)) ASCII_CLASS[c] = 3;
}

function startsWithAt(text: string, at: number, word: string): boolean {
  if (at + word.length > text.length) return false;
  for (let k = 0; k < word.length; k++) if (text.charCodeAt(at + k) !== word.charCodeAt(k)) return false;
  return true;
}

/** Length of a contraction ('s 't 're 've 'm 'll 'd) at `i` (an apostrophe), or 0. */
function contractionAt(text: string, i: number): number {
  const a = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return 2; // s t m d
  const b = i + 2 < text.length ? text.charCodeAt(i + 2) : 0;
  if ((a === 0x72 || a === 0x76) && b === 0x65) return 3; // re ve
  if (a === 0x6c && b === 0x6c) return 3; // ll
  return 0;
}

/**
 * The reference pattern's findall on ASCII-only text, as [start, end, hash] triples written into
 * `out` (hash: hashRange of the piece, computed on the same pass); returns the number of pieces.
 * At each position the pattern's alternatives are tried in order: the special tokens, the
 * contractions, a run of letters, one digit, a run of anything else (which runs on through '<'
 * and "'" once started). Whitespace separates pieces. Returns -1 at the first non-ASCII character
 * (the caller then uses the regex).
 */
export function asciiPieces(text: string, out: Int32Array): number {
  let n = 0;
  const len = text.length;
  let i = 0;
  while (i < len) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return -1;
    const cls = ASCII_CLASS[c];
    if (cls === 3) {
      i++;
      continue;
    }
    let end: number;
    let h = Math.imul(FNV_OFFSET ^ c, FNV_PRIME);
    if (cls === 1) {
      end = i + 1;
      // (bounds are checked before each read: reading past the end would deoptimize)
      while (end < len) {
        const d = text.charCodeAt(end);
        if (d >= 0x80 || ASCII_CLASS[d] !== 1) break;
        h = Math.imul(h ^ d, FNV_PRIME);
        end++;
      }
    } else if (cls === 2) {
      end = i + 1;
    } else {
      end = 0;
      if (c === LESS_THAN) {
        if (startsWithAt(text, i, START_OF_TEXT)) end = i + START_OF_TEXT.length;
        else if (startsWithAt(text, i, END_OF_TEXT)) end = i + END_OF_TEXT.length;
      } else if (c === APOSTROPHE) {
        const k = contractionAt(text, i);
        if (k > 0) end = i + k;
      }
      if (end === 0) {
        end = i + 1;
        while (end < len) {
          const d = text.charCodeAt(end);
          if (d >= 0x80 || ASCII_CLASS[d] !== 0) break;
          end++;
        }
      }
      h = hashRange(text, i, end);
    }
    out[n++] = i;
    out[n++] = end;
    out[n++] = h;
    i = end;
  }
  return n / 3;
}

/** FNV-1a over the UTF-16 code units of text[start, end). */
export function hashRange(text: string, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h;
}

/** FNV-1a over chars[start, end): the value hashRange gives for the same code units. */
export function hashChars(chars: Uint16Array, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ chars[i], FNV_PRIME);
  return h;
}

/** Slots a cache starts with: a caption corpus's ~10k distinct words fit without growing (a grow re-inserts every entry). */
const INITIAL_SLOTS = 16384;

/**
 * Piece -> ids, probed with (text, start, end) so that a hit creates no string: open addressing
 * on the FNV hash, keys compared in place. A piece's ids sit in one shared Int32Array (`ids`,
 * from `start[slot]`, `length[slot]` of them): no array per piece. Starts over when it reaches
 * `limit` entries.
 */
export class PieceCache {
  private keys: string[] = [];
  private hashes = new Int32Array(0);
  /** per slot: where its ids start in `ids`; -1 for an empty slot */
  start = new Int32Array(0);
  /** per slot: how many ids */
  length = new Int32Array(0);
  /** the ids of every cached piece, back to back */
  ids = new Int32Array(1 << 15);
  private used = 0;
  private mask = 0;
  private count = 0;

  constructor(private readonly limit: number) {
    this.resize(INITIAL_SLOTS, false);
  }

  private resize(capacity: number, keep: boolean): void {
    const { keys, hashes, start, length } = this;
    this.keys = new Array<string>(capacity).fill("");
    this.hashes = new Int32Array(capacity);
    this.start = new Int32Array(capacity).fill(-1);
    this.length = new Int32Array(capacity);
    this.mask = capacity - 1;
    if (!keep) return;
    for (let s = 0; s < start.length; s++) {
      if (start[s] >= 0) this.insert(keys[s], hashes[s], start[s], length[s]);
    }
  }

  private insert(key: string, hash: number, at: number, n: number): number {
    let s = hash & this.mask;
    while (this.start[s] >= 0) s = (s + 1) & this.mask;
    this.keys[s] = key;
    this.hashes[s] = hash;
    this.start[s] = at;
    this.length[s] = n;
    return s;
  }

  get size(): number {
    return this.count;
  }

  /** The slot of text[start, end) (whose hashRange is `hash`), or -1 if it is not cached. */
  get(text: string, start: number, end: number, hash: number): number {
    const len = end - start;
    for (let s = hash & this.mask; ; s = (s + 1) & this.mask) {
      if (this.start[s] < 0) return -1;
      if (this.hashes[s] !== hash) continue;
      const key = this.keys[s];
      if (key.length !== len) continue;
      let k = 0;
      while (k < len && key.charCodeAt(k) === text.charCodeAt(start + k)) k++;
      if (k === len) return s;
    }
  }

  /** Caches the ids of `key`; returns its slot. */
  set(key: string, hash: number, ids: readonly number[]): number {
    if (this.count >= this.limit) {
      this.count = 0;
      this.used = 0;
      this.resize(INITIAL_SLOTS, false);
    }
    if ((this.count + 1) * 2 > this.start.length) this.resize(this.start.length * 2, true);
    if (this.used + ids.length > this.ids.length) {
      const grown = new Int32Array(Math.max(2 * this.ids.length, this.used + ids.length));
      grown.set(this.ids.subarray(0, this.used));
      this.ids = grown;
    }
    const at = this.used;
    for (let k = 0; k < ids.length; k++) this.ids[at + k] = ids[k];
    this.used += ids.length;
    this.count++;
    return this.insert(key, hash, at, ids.length);
  }

  /** The ids in a slot (a copy). */
  idsAt(slot: number): number[] {
    return Array.from(this.ids.subarray(this.start[slot], this.start[slot] + this.length[slot]));
  }
}
