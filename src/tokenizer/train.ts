/**
 * @file Learning BPE merges from a caption corpus, with the reference's cleaning, pre-tokenizer and
 * byte-level symbols, so the result is a vocabulary in the reference's layout and file format.
 */
import { UserError } from "../errors.js";
import { CHAR_OF_BYTE, END_OF_TEXT, END_OF_WORD, START_OF_TEXT } from "./bpe.js";
import { cleanText, preTokenize } from "./clean.js";
import { encodeUtf8 } from "./utf8.js";
import { BASE_VOCAB_SIZE } from "./vocab.js";

export interface TrainOptions {
  /** pairs seen fewer times than this are never merged (default 2) */
  minFrequency?: number;
  /** called every so many merges (for progress bars) */
  onProgress?: (merges: number, target: number) => void;
}

/** A vocabulary learned by `trainBpe`: its merges in rank order, the vocabulary size they give, and corpus word counts. */
export interface TrainedBpe {
  /** merges in rank order */
  merges: [string, string][];
  /** 256 + 256 + merges + 2: the vocabulary these merges give */
  vocabSize: number;
  /** distinct pre-tokenized words and their total count in the corpus */
  words: number;
  wordCount: number;
}

/** Max-heap of (count, left, right) with ties broken by smaller symbol numbers: deterministic. */
class PairHeap {
  private readonly items: number[][] = [];
  get size(): number {
    return this.items.length;
  }
  private static before(x: number[], y: number[]): boolean {
    if (x[0] !== y[0]) return x[0] > y[0];
    if (x[1] !== y[1]) return x[1] < y[1];
    return x[2] < y[2];
  }
  push(item: number[]): void {
    const h = this.items;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!PairHeap.before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  pop(): number[] | undefined {
    const h = this.items;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && PairHeap.before(h[l], h[m])) m = l;
        if (r < h.length && PairHeap.before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

const KEY_BASE = 1 << 21;
const key = (a: number, b: number): number => a * KEY_BASE + b;

/**
 * Learns merges until the vocabulary has `vocabSize` tokens (or no pair is frequent enough): each
 * step merges the most frequent adjacent symbol pair over all words of the cleaned corpus.
 */
export function trainBpe(corpus: Iterable<string>, vocabSize: number, options: TrainOptions = {}): TrainedBpe {
  if (!Number.isInteger(vocabSize) || vocabSize < BASE_VOCAB_SIZE) {
    throw new UserError(`vocabulary size must be an integer >= ${BASE_VOCAB_SIZE} (bytes, word-final bytes and 2 special tokens), got ${vocabSize}`);
  }
  if (vocabSize > KEY_BASE) throw new UserError(`vocabulary size must be at most ${KEY_BASE}, got ${vocabSize}`);
  const minFrequency = options.minFrequency ?? 2;
  const target = vocabSize - BASE_VOCAB_SIZE;

  // word frequencies over the reference's pre-tokenized pieces
  const counts = new Map<string, number>();
  let wordCount = 0;
  for (const text of corpus) {
    for (const piece of preTokenize(cleanText(text))) {
      if (piece === START_OF_TEXT || piece === END_OF_TEXT) continue;
      counts.set(piece, (counts.get(piece) ?? 0) + 1);
      wordCount++;
    }
  }

  // symbols: 0..255 the bytes, 256..511 the word-final bytes (the reference's first 512 ids)
  const symbols: string[] = [...CHAR_OF_BYTE, ...CHAR_OF_BYTE.map((c) => c + END_OF_WORD)];
  const symbolOf = new Map<string, number>(symbols.map((s, i) => [s, i]));
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [piece, n] of [...counts].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) {
    const bytes = encodeUtf8(piece);
    const word = bytes.map((b, i) => (i === bytes.length - 1 ? 256 + b : b));
    words.push(word);
    freq.push(n);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const heap = new PairHeap();
  const addPairs = (w: number, sign: number, touched: Set<number>): void => {
    const word = words[w];
    for (let i = 0; i + 1 < word.length; i++) {
      const k = key(word[i], word[i + 1]);
      pairCount.set(k, (pairCount.get(k) ?? 0) + sign * freq[w]);
      touched.add(k);
      if (sign > 0) {
        let set = pairWords.get(k);
        if (!set) pairWords.set(k, (set = new Set()));
        set.add(w);
      }
    }
  };
  const initial = new Set<number>();
  words.forEach((_, w) => addPairs(w, 1, initial));
  for (const k of initial) heap.push([pairCount.get(k)!, Math.floor(k / KEY_BASE), k % KEY_BASE]);

  const merges: [string, string][] = [];
  while (merges.length < target) {
    const top = heap.pop();
    if (!top) break;
    const [count, a, b] = top;
    const k = key(a, b);
    if (pairCount.get(k) !== count) continue; // stale entry
    if (count < minFrequency || count <= 0) break;
    const text = symbols[a] + symbols[b];
    let m = symbolOf.get(text);
    if (m === undefined) {
      m = symbols.length;
      symbols.push(text);
      symbolOf.set(text, m);
    }
    merges.push([symbols[a], symbols[b]]);
    const touched = new Set<number>();
    for (const w of pairWords.get(k) ?? []) {
      const word = words[w];
      let has = false;
      for (let i = 0; i + 1 < word.length; i++) if (word[i] === a && word[i + 1] === b) has = true;
      if (!has) continue;
      addPairs(w, -1, touched);
      const merged: number[] = [];
      for (let i = 0; i < word.length; ) {
        if (i + 1 < word.length && word[i] === a && word[i + 1] === b) {
          merged.push(m);
          i += 2;
        } else merged.push(word[i++]);
      }
      words[w] = merged;
      addPairs(w, 1, touched);
    }
    pairWords.delete(k);
    for (const t of touched) {
      const c = pairCount.get(t)!;
      if (c > 0) heap.push([c, Math.floor(t / KEY_BASE), t % KEY_BASE]);
      else pairCount.delete(t);
    }
    if (options.onProgress && merges.length % 100 === 0) options.onProgress(merges.length, target);
  }
  options.onProgress?.(merges.length, target);
  return { merges, vocabSize: BASE_VOCAB_SIZE + merges.length, words: words.length, wordCount };
}
