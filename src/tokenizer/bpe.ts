/** @file Byte-level BPE: the byte <-> printable-character table, the vocabulary and the merge engine. No Node APIs. */
import { UserError } from "../errors.js";
import { TokenTable, grow } from "./table.js";
import { decodeUtf8Replace, pushUtf8 } from "./utf8.js";

export const START_OF_TEXT = "<|startoftext|>";
export const END_OF_TEXT = "<|endoftext|>";
/** Marks the last symbol of a word. */
export const END_OF_WORD = "</w>";

/**
 * bytes_to_unicode(): every byte gets a printable character, so merges files are plain text.
 * Printable Latin-1 bytes stand for themselves; the 68 others map to U+0100.. in byte order.
 * BYTE_CHARS lists them in the reference's order, which is also the order of the first 256 ids.
 */
function byteTable(): { byteChars: string[]; charOfByte: string[] } {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const charOfByte: string[] = new Array<string>(256);
  bs.forEach((b, i) => (charOfByte[b] = String.fromCharCode(cs[i])));
  return { byteChars: cs.map((c) => String.fromCharCode(c)), charOfByte };
}
const TABLE = byteTable();
/** The 256 byte characters in vocabulary order (ids 0..255 of the reference vocabulary). */
export const BYTE_CHARS: readonly string[] = TABLE.byteChars;
/** byte -> its character. */
export const CHAR_OF_BYTE: readonly string[] = TABLE.charOfByte;
const BYTE_OF_CHAR = new Map<string, number>(CHAR_OF_BYTE.map((c, b) => [c, b]));

/** A string's UTF-8 bytes written with the byte characters (what merges files are written in). */
export function toByteChars(text: string): string {
  const bytes: number[] = [];
  for (const ch of text) pushUtf8(bytes, ch.codePointAt(0)!);
  let out = "";
  for (const b of bytes) out += CHAR_OF_BYTE[b];
  return out;
}

/** A tokenizer vocabulary: id -> token string, the merges in rank order, the special tokens. */
export interface Vocabulary {
  /** id -> token string (byte characters, "</w>" ending a word); `undefined` for unused ids */
  readonly tokens: readonly (string | undefined)[];
  /** merges in rank order: each pair of symbols becomes their concatenation */
  readonly merges: readonly (readonly [string, string])[];
  readonly sot: number;
  readonly eot: number;
  /** the merges as token ids, when the loader already resolved them (saves the engine a string pass) */
  readonly compiled?: CompiledMerges;
}

/** Merge r joins tokens left[r] and right[r] into merged[r]; idOf finds a token string's id. */
export interface CompiledMerges {
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly merged: Int32Array;
  /** number of tokens (the length `tokens` has) */
  readonly size: number;
  idOf(token: string): number | undefined;
}

type Merge = readonly [string, string];

/** The first 512 tokens of the reference layout: bytes, then word-final bytes. */
function byteTokens(): string[] {
  return [...BYTE_CHARS, ...BYTE_CHARS.map((c) => c + END_OF_WORD)];
}

/** The reference's vocabulary from its merges: 256 bytes, 256 word-final bytes, one per merge, sot, eot. */
export function referenceVocabulary(merges: readonly Merge[]): Vocabulary {
  const tokens = byteTokens();
  for (const [a, b] of merges) tokens.push(a + b);
  tokens.push(START_OF_TEXT, END_OF_TEXT);
  return { tokens, merges, sot: tokens.length - 2, eot: tokens.length - 1 };
}

/**
 * Builds the reference layout while the merges are read, resolving each merge's symbols to ids
 * in the same pass, from ranges of the file's text into one token table (no string per merge).
 * `add` returns false when a symbol is unknown or a token repeats; the caller then falls back to
 * referenceVocabulary().
 */
export class ReferenceVocabularyBuilder {
  private readonly table = new TokenTable();
  private left = new Int32Array(1024);
  private right = new Int32Array(1024);
  private count = 0;

  constructor() {
    for (const t of byteTokens()) this.table.add(t);
  }

  /** Adds the merge of text[a0, a1) and text[b0, b1). */
  add(text: string, a0: number, a1: number, b0: number, b1: number): boolean {
    const ia = this.table.find(text, a0, a1);
    const ib = this.table.find(text, b0, b1);
    if (ia < 0 || ib < 0) return false;
    // a repeated token would make ids depend on the reference's last-one-wins dict: fall back
    // (the caller then rebuilds from pairs(), which does not need the table's index)
    if (this.table.addJoined(ia, ib) < 0) return false;
    if (this.count === this.left.length) {
      this.left = grow(this.left);
      this.right = grow(this.right);
    }
    this.left[this.count] = ia;
    this.right[this.count] = ib;
    this.count++;
    return true;
  }

  /** The merges added so far, as string pairs (for the fallback). */
  pairs(): Merge[] {
    return Array.from(this.left.subarray(0, this.count), (a, r) => [this.table.token(a), this.table.token(this.right[r])] as const);
  }

  /**
   * The vocabulary, or null when a merge made a special token's string (the caller then falls
   * back). The builder is spent. Token strings are made on first use of `tokens`.
   */
  build(): Vocabulary | null {
    const n = this.count;
    const table = this.table;
    const left = this.left.slice(0, n);
    const right = this.right.slice(0, n);
    const merged = new Int32Array(n);
    for (let r = 0; r < n; r++) merged[r] = 512 + r;
    const sot = table.add(START_OF_TEXT);
    const eot = table.add(END_OF_TEXT);
    if (sot < 0 || eot < 0) return null;
    let tokens: string[] | undefined;
    let merges: Merge[] | undefined;
    return {
      get tokens(): readonly string[] {
        tokens ??= table.tokens();
        return tokens;
      },
      get merges(): readonly Merge[] {
        merges ??= Array.from(left, (a, r) => [table.token(a), table.token(right[r])] as const);
        return merges;
      },
      sot,
      eot,
      compiled: {
        left,
        right,
        merged,
        size: table.size,
        idOf: (token) => {
          const id = table.find(token, 0, token.length);
          return id < 0 ? undefined : id;
        },
      },
    };
  }
}

/**
 * Open-addressing table from a symbol pair to its merge rank and merged symbol; two Int32Array
 * lookups instead of a string key per probe.
 */
class PairTable {
  private readonly mask: number;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly rank: Int32Array;
  readonly merged: Int32Array;

  constructor(capacity: number) {
    let size = 16;
    while (size < capacity * 2) size <<= 1;
    this.mask = size - 1;
    this.left = new Int32Array(size).fill(-1);
    this.right = new Int32Array(size);
    this.rank = new Int32Array(size);
    this.merged = new Int32Array(size);
  }

  private slot(a: number, b: number): number {
    let h = (Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b)) & this.mask;
    while (this.left[h] !== -1 && (this.left[h] !== a || this.right[h] !== b)) h = (h + 1) & this.mask;
    return h;
  }

  /** Later merges of the same pair win, as in the reference's dict(zip(merges, ranks)). */
  set(a: number, b: number, rank: number, merged: number): void {
    const h = this.slot(a, b);
    this.left[h] = a;
    this.right[h] = b;
    this.rank[h] = rank;
    this.merged[h] = merged;
  }

  /** The slot of pair (a, b), or -1. */
  find(a: number, b: number): number {
    const h = this.slot(a, b);
    return this.left[h] === -1 ? -1 : h;
  }
}

/**
 * The BPE engine over a vocabulary. Symbols are numbered by their token id (a string's last id
 * wins, as in the reference's dict(zip(vocab, ids))); a merge symbol missing from the vocabulary
 * gets a number past the ids and fails only if a word ends up using it.
 */
export class BpeModel {
  readonly vocab: Vocabulary;
  /** a token string's id (the last id of a string repeated in `tokens`) */
  private readonly lookup: (token: string) => number | undefined;
  /** symbols that are not tokens (numbered from `size` on) */
  private readonly extraSymbols: string[] = [];
  private readonly extraOf = new Map<string, number>();
  private readonly pairs: PairTable;
  /** byte -> symbol of its character, and of its character + "</w>" */
  private readonly byteSymbol = new Int32Array(256);
  private readonly byteEndSymbol = new Int32Array(256);
  readonly size: number;

  constructor(vocab: Vocabulary) {
    this.vocab = vocab;
    const compiled = vocab.compiled;
    if (compiled) {
      this.size = compiled.size;
      this.lookup = compiled.idOf;
      const n = compiled.left.length;
      this.pairs = new PairTable(n);
      for (let rank = 0; rank < n; rank++) this.pairs.set(compiled.left[rank], compiled.right[rank], rank, compiled.merged[rank]);
    } else {
      const tokens = vocab.tokens;
      this.size = tokens.length;
      const idOf = new Map<string, number>();
      for (let id = 0; id < tokens.length; id++) {
        const t = tokens[id];
        if (t !== undefined) idOf.set(t, id);
      }
      this.lookup = (token) => idOf.get(token);
      const merges = vocab.merges;
      this.pairs = new PairTable(merges.length);
      for (let rank = 0; rank < merges.length; rank++) {
        const [a, b] = merges[rank];
        this.pairs.set(this.symbol(a), this.symbol(b), rank, this.symbol(a + b));
      }
    }
    for (let b = 0; b < 256; b++) {
      this.byteSymbol[b] = this.symbol(CHAR_OF_BYTE[b]);
      this.byteEndSymbol[b] = this.symbol(CHAR_OF_BYTE[b] + END_OF_WORD);
    }
  }

  private symbol(s: string): number {
    let id = this.lookup(s) ?? this.extraOf.get(s);
    if (id === undefined) {
      id = this.size + this.extraSymbols.length;
      this.extraSymbols.push(s);
      this.extraOf.set(s, id);
    }
    return id;
  }

  /** The id of a token string, if the vocabulary has it. */
  idOf(token: string): number | undefined {
    return this.lookup(token);
  }

  /**
   * bpe(token) of the reference for one pre-tokenized piece given as UTF-8 bytes: start from
   * single bytes (the last marked end-of-word), then repeatedly merge every occurrence of the
   * lowest-ranked adjacent pair, left to right. Returns token ids.
   */
  encodeWord(bytes: readonly number[]): number[] {
    const n0 = bytes.length;
    const word: number[] = new Array<number>(n0);
    for (let i = 0; i < n0 - 1; i++) word[i] = this.byteSymbol[bytes[i]];
    word[n0 - 1] = this.byteEndSymbol[bytes[n0 - 1]];
    let n = n0;
    const pairs = this.pairs;
    while (n > 1) {
      let bestRank = 0x7fffffff;
      let bestSlot = -1;
      for (let i = 0; i < n - 1; i++) {
        const slot = pairs.find(word[i], word[i + 1]);
        if (slot >= 0 && pairs.rank[slot] < bestRank) {
          bestRank = pairs.rank[slot];
          bestSlot = slot;
        }
      }
      if (bestSlot < 0) break;
      const merged = pairs.merged[bestSlot];
      const a = pairs.left[bestSlot];
      const b = pairs.right[bestSlot];
      let j = 0;
      for (let i = 0; i < n; ) {
        if (i < n - 1 && word[i] === a && word[i + 1] === b) {
          word[j++] = merged;
          i += 2;
        } else word[j++] = word[i++];
      }
      n = j;
    }
    word.length = n;
    for (const id of word) {
      if (id >= this.size) {
        throw new UserError(`vocabulary has no token "${this.extraSymbols[id - this.size]}" that its merges produce`);
      }
    }
    return word;
  }

  /** decode(): token strings joined, byte characters back to bytes, UTF-8 with U+FFFD, "</w>" -> " ". */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    for (const id of ids) {
      const token = Number.isInteger(id) && id >= 0 && id < this.size ? this.vocab.tokens[id] : undefined;
      if (token === undefined) throw new UserError(`token id ${id} is not in the vocabulary (0..${this.size - 1})`);
      for (const ch of token) {
        const b = BYTE_OF_CHAR.get(ch);
        if (b === undefined) throw new UserError(`token ${id} ("${token}") has a character that is not a byte character`);
        bytes.push(b);
      }
    }
    return decodeUtf8Replace(bytes).replaceAll(END_OF_WORD, " ");
  }
}
