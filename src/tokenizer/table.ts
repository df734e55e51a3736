/**
 * @file A vocabulary's token strings in one UTF-16 arena with an open-addressing index. Reading a
 * merges file this way makes no string per token (a file is ~49k of them): tokens are found by
 * a range of the file's text and joined inside the arena; strings are made only when asked for.
 */
import { hashChars, hashRange } from "./pieces.js";

export class TokenTable {
  /** code units of every token, back to back; token `id` is chars[start[id], start[id] + len[id]) */
  private chars = new Uint16Array(1 << 18);
  private used = 0;
  private start = new Int32Array(1 << 12);
  private len = new Int32Array(1 << 12);
  private hash = new Int32Array(1 << 12);
  /** id + 1 of the token in each slot, 0 for an empty slot */
  private slots = new Int32Array(1 << 13);
  private mask = (1 << 13) - 1;
  /** number of tokens (ids 0 .. size - 1) */
  size = 0;

  /** The id of text[start, end), or -1. */
  find(text: string, start: number, end: number): number {
    const n = end - start;
    const h = hashRange(text, start, end);
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const id = this.slots[s] - 1;
      if (id < 0) return -1;
      if (this.hash[id] !== h || this.len[id] !== n) continue;
      const at = this.start[id];
      let k = 0;
      while (k < n && this.chars[at + k] === text.charCodeAt(start + k)) k++;
      if (k === n) return id;
    }
  }

  /** Adds a token string; returns its id, or -1 if the table already holds it. */
  add(token: string): number {
    this.reserve(token.length);
    const at = this.used;
    for (let k = 0; k < token.length; k++) this.chars[at + k] = token.charCodeAt(k);
    return this.commit(token.length);
  }

  /** Adds the token that joins tokens a and b; returns its id, or -1 if the table already holds it. */
  addJoined(a: number, b: number): number {
    const la = this.len[a];
    const lb = this.len[b];
    this.reserve(la + lb);
    const at = this.used;
    this.chars.copyWithin(at, this.start[a], this.start[a] + la);
    this.chars.copyWithin(at + la, this.start[b], this.start[b] + lb);
    return this.commit(la + lb);
  }

  /** Indexes the n code units written at chars[used ...] as the next id, unless they are a token already. */
  private commit(n: number): number {
    const at = this.used;
    const h = hashChars(this.chars, at, at + n);
    let s = h & this.mask;
    for (; ; s = (s + 1) & this.mask) {
      const id = this.slots[s] - 1;
      if (id < 0) break;
      if (this.hash[id] !== h || this.len[id] !== n) continue;
      const other = this.start[id];
      let k = 0;
      while (k < n && this.chars[other + k] === this.chars[at + k]) k++;
      if (k === n) return -1;
    }
    const id = this.size++;
    if (id === this.start.length) {
      this.start = grow(this.start);
      this.len = grow(this.len);
      this.hash = grow(this.hash);
    }
    this.start[id] = at;
    this.len[id] = n;
    this.hash[id] = h;
    this.slots[s] = id + 1;
    this.used += n;
    if (this.size * 2 > this.slots.length) this.rehash();
    return id;
  }

  private reserve(n: number): void {
    if (this.used + n > this.chars.length) {
      const next = new Uint16Array(Math.max(2 * this.chars.length, this.used + n));
      next.set(this.chars.subarray(0, this.used));
      this.chars = next;
    }
  }

  private rehash(): void {
    this.slots = new Int32Array(this.slots.length * 2);
    this.mask = this.slots.length - 1;
    for (let id = 0; id < this.size; id++) {
      let s = this.hash[id] & this.mask;
      while (this.slots[s] !== 0) s = (s + 1) & this.mask;
      this.slots[s] = id + 1;
    }
  }

  /** The string of token `id`. */
  token(id: number): string {
    return String.fromCharCode(...this.chars.subarray(this.start[id], this.start[id] + this.len[id]));
  }

  /** Every token string, in id order. */
  tokens(): string[] {
    const out = new Array<string>(this.size);
    for (let id = 0; id < this.size; id++) out[id] = this.token(id);
    return out;
  }
}

/** `a` at twice its length. */
export function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const next = new Int32Array(a.length * 2);
  next.set(a);
  return next;
}
