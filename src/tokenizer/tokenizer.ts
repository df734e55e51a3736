/**
 * @file ClipTokenizer: openai/CLIP's SimpleTokenizer and clip.tokenize, id for id, with an explicit
 * policy for texts longer than the context. No Node APIs here: file loading is in files.ts, reached
 * through fromFile/fromDir by dynamic import.
 */
import { UserError } from "../errors.js";
import { BpeModel, END_OF_TEXT, END_OF_WORD, START_OF_TEXT, referenceVocabulary, type Vocabulary } from "./bpe.js";
import { cleanText, preTokenize } from "./clean.js";
import { pushUtf8 } from "./utf8.js";
import { PieceCache, asciiPieces, hashRange } from "./pieces.js";
import { parseHfVocab, parseReferenceMerges } from "./vocab.js";

/** What to do with a text longer than the context: throw, cut it and warn, or cut it silently. */
export type TruncatePolicy = "error" | "warn" | "silent";
/** The accepted values of `TruncatePolicy`. */
export const TRUNCATE_POLICIES: readonly TruncatePolicy[] = ["error", "warn", "silent"];

/** CLIP's context length (text_cfg.context_length of every OpenAI model). */
export const CLIP_CONTEXT_LENGTH = 77;

export interface TruncationStats {
  /** how many texts were cut */
  texts: number;
  /** how many BPE tokens were dropped in all */
  tokensDropped: number;
  /** which texts were cut (indices into the input) */
  indices: number[];
}

/** Options of `tokenize`: context length and what to do with texts beyond it. */
export interface TokenizeOptions {
  /** row length including <|startoftext|> and <|endoftext|>; default: the tokenizer's contextLength (77) */
  contextLength?: number;
  /** default "warn" */
  truncate?: TruncatePolicy;
  /** receives the "warn" policy's warning; without it the warning goes to console.warn */
  onWarning?: (message: string, stats: TruncationStats) => void;
}

export interface ChunkOptions {
  contextLength?: number;
}

/** Long texts as several context-length rows: rows of text i are those with textIndex === i. */
export interface Chunks {
  tokens: number[][];
  textIndex: number[];
}

export interface LoadOptions {
  /** the model's text vocabulary size (caps the merges read from a reference file); default 49408 */
  vocabSize?: number;
  /** default context length of tokenize(); default 77 */
  contextLength?: number;
}

/** Default entries of the piece cache; a full cache starts over (captions need far fewer). */
const CACHE_LIMIT = 1 << 18;

/** CLIP's byte-level BPE tokenizer, exact to openai/CLIP's simple_tokenizer.py and `clip.tokenize` (ftfy, whitespace cleaning, lower-casing, <|startoftext|>/<|endoftext|>). */
export class ClipTokenizer {
  /** number of token ids (49408 for CLIP) */
  readonly vocabSize: number;
  readonly sotToken: number;
  readonly eotToken: number;
  /** the context length tokenize() uses by default */
  readonly contextLength: number;
  readonly vocabulary: Vocabulary;
  private readonly model: BpeModel;
  /** ids of each piece, as the reference caches bpe(); probed without creating the piece's string */
  private readonly cache: PieceCache;
  /** [start, end, hash] of each piece of the text being encoded */
  private bounds = new Int32Array(3 * 4096);
  /** ids of the text being encoded */
  private scratch = new Int32Array(1024);
  private wordEnds: Uint8Array | undefined;

  constructor(vocabulary: Vocabulary, options: { contextLength?: number; cacheSize?: number } = {}) {
    this.vocabulary = vocabulary;
    this.model = new BpeModel(vocabulary);
    this.vocabSize = this.model.size;
    this.sotToken = vocabulary.sot;
    this.eotToken = vocabulary.eot;
    this.contextLength = checkContextLength(options.contextLength ?? CLIP_CONTEXT_LENGTH);
    const cacheSize = options.cacheSize ?? CACHE_LIMIT;
    if (!Number.isInteger(cacheSize) || cacheSize < 1) throw new UserError(`cacheSize must be a positive integer, got ${cacheSize}`);
    this.cache = new PieceCache(cacheSize);
  }

  /** From merges in rank order, with the reference's vocabulary layout (bytes, word-final bytes, merges, sot, eot). */
  static fromMerges(merges: readonly (readonly [string, string])[], options: { contextLength?: number } = {}): ClipTokenizer {
    return new ClipTokenizer(referenceVocabulary(merges), options);
  }

  /** From the text of a reference merges file (bpe_simple_vocab_16e6.txt, already gunzipped). */
  static fromMergesText(text: string, options: LoadOptions & { source?: string } = {}): ClipTokenizer {
    return new ClipTokenizer(parseReferenceMerges(text, options), options);
  }

  /** From Hugging Face's vocab.json and merges.txt contents. */
  static fromHuggingFace(vocabJson: string, mergesTxt: string, options: { contextLength?: number } = {}): ClipTokenizer {
    return new ClipTokenizer(parseHfVocab(vocabJson, mergesTxt), options);
  }

  /**
   * From a vocabulary file: bpe_simple_vocab_16e6.txt.gz (or any reference merges file, gzipped
   * or not), a Hugging Face vocab.json (merges.txt beside it) or tokenizer.json, or a checkpoint directory.
   */
  static async fromFile(path: string, options: LoadOptions = {}): Promise<ClipTokenizer> {
    const files = await import("./files.node.js");
    const loaded = await files.loadVocabulary(path, options);
    return new ClipTokenizer(loaded.vocabulary, { contextLength: options.contextLength ?? loaded.contextLength });
  }

  /**
   * From a checkpoint directory: bpe_simple_vocab_16e6.txt.gz, else vocab.json + merges.txt, else
   * tokenizer.json; vocab size and context length from open_clip_config.json's text_cfg when present.
   */
  static async fromDir(checkpointDir: string, options: LoadOptions = {}): Promise<ClipTokenizer> {
    const files = await import("./files.node.js");
    const loaded = await files.loadVocabularyFromDir(checkpointDir, options);
    return new ClipTokenizer(loaded.vocabulary, { contextLength: options.contextLength ?? loaded.contextLength });
  }

  /** BPE ids of one text, without <|startoftext|> / <|endoftext|> (the reference's encode). */
  encode(text: string): number[] {
    const n = this.encodeToScratch(text);
    return Array.from(this.scratch.subarray(0, n));
  }

  /** The pieces BPE sees: the cleaned, lower-cased text split by the reference's pattern. */
  preTokenize(text: string): string[] {
    return preTokenize(cleanText(text));
  }

  /** Writes the ids of `text` to this.scratch; returns how many. */
  private encodeToScratch(text: string): number {
    const cleaned = cleanText(text);
    if (this.bounds.length < 3 * cleaned.length) this.bounds = new Int32Array(3 * cleaned.length);
    const bounds = this.bounds;
    let count = 0;
    let n = asciiPieces(cleaned, bounds);
    let pieces: string[] | undefined;
    if (n < 0) {
      // text with non-ASCII characters goes through the pattern itself
      pieces = preTokenize(cleaned);
      n = pieces.length;
    }
    // indexed loops only: before the JIT warms up, iterator protocol calls cost more than the work
    const cache = this.cache;
    for (let k = 0; k < n; k++) {
      let slot: number;
      if (pieces === undefined) {
        const start = bounds[3 * k];
        const end = bounds[3 * k + 1];
        const hash = bounds[3 * k + 2];
        slot = cache.get(cleaned, start, end, hash);
        if (slot < 0) slot = this.encodePiece(cleaned.slice(start, end), hash);
      } else {
        const piece = pieces[k];
        const hash = hashRange(piece, 0, piece.length);
        slot = cache.get(piece, 0, piece.length, hash);
        if (slot < 0) slot = this.encodePiece(piece, hash);
      }
      const at = cache.start[slot];
      const len = cache.length[slot];
      if (count + len > this.scratch.length) this.growScratch(count + len);
      const scratch = this.scratch;
      const ids = cache.ids;
      for (let j = 0; j < len; j++) scratch[count + j] = ids[at + j];
      count += len;
    }
    return count;
  }

  private growScratch(size: number): void {
    const grown = new Int32Array(Math.max(2 * this.scratch.length, size));
    grown.set(this.scratch);
    this.scratch = grown;
  }

  /** BPE of one piece (a cache miss): its UTF-8 bytes through the merges; returns its cache slot. */
  private encodePiece(piece: string, hash: number): number {
    // the reference's cache starts with the special tokens as themselves
    if (piece === START_OF_TEXT) return this.cache.set(piece, hash, [this.sotToken]);
    if (piece === END_OF_TEXT) return this.cache.set(piece, hash, [this.eotToken]);
    const bytes: number[] = [];
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      if (c < 0x80) bytes.push(c);
      else {
        const cp = piece.codePointAt(i)!;
        if (cp > 0xffff) i++;
        pushUtf8(bytes, cp);
      }
    }
    return this.cache.set(piece, hash, this.model.encodeWord(bytes));
  }

  /** Text of token ids: bytes decoded as UTF-8 (invalid ones as U+FFFD), each word followed by a space. */
  decode(ids: readonly number[]): string {
    return this.model.decode(ids);
  }

  /**
   * clip.tokenize: one row per text, contextLength long: <|startoftext|>, the ids, <|endoftext|>,
   * zeros. A longer text throws ("error"), or is cut to contextLength with <|endoftext|> last as
   * clip.tokenize(truncate=True) does ("warn", the default, and "silent").
   */
  tokenize(texts: string | readonly string[], options: TokenizeOptions = {}): number[][] {
    const { tokens, truncation } = this.tokenizeWithStats(texts, options);
    this.warnTruncation(truncation, tokens.length, options.contextLength ?? this.contextLength, options);
    return tokens;
  }

  private warnTruncation(truncation: TruncationStats, total: number, ctx: number, options: TokenizeOptions): void {
    if (truncation.texts === 0 || (options.truncate ?? "warn") !== "warn") return;
    const message =
      `truncated ${truncation.texts} of ${total} text(s) to the context length ${ctx}: ` +
      `${truncation.tokensDropped} token(s) dropped (first: text ${truncation.indices[0]}); ` +
      `use chunking to keep them, or truncate "silent" to hide this`;
    if (options.onWarning) options.onWarning(message, truncation);
    else console.warn(`clip-ts: warning: ${message}`);
  }

  /** tokenize() that returns what was cut instead of warning ("error" still throws). */
  tokenizeWithStats(
    texts: string | readonly string[],
    options: Omit<TokenizeOptions, "onWarning"> = {},
  ): { tokens: number[][]; truncation: TruncationStats } {
    const tokens: number[][] = [];
    const truncation = this.tokenizeInto(texts, options, tokens, null);
    return { tokens, truncation };
  }

  /**
   * tokenize() into one Int32Array of shape [texts, contextLength], row-major: the layout of
   * clip.tokenize's tensor, without an array per row. Same policies and warning as tokenize().
   */
  tokenizeTensor(texts: string | readonly string[], options: TokenizeOptions = {}): { data: Int32Array; shape: [number, number]; truncation: TruncationStats } {
    const count = typeof texts === "string" ? 1 : texts.length;
    const ctx = checkContextLength(options.contextLength ?? this.contextLength);
    const data = new Int32Array(count * ctx);
    const truncation = this.tokenizeInto(texts, options, null, data);
    this.warnTruncation(truncation, count, ctx, options);
    return { data, shape: [count, ctx], truncation };
  }

  /**
   * Encodes each text, applies the policy, and writes its row to `rows` (arrays) or `data` (a
   * [texts, ctx] tensor). One loop for both, without callbacks, so it is quick to optimize.
   */
  private tokenizeInto(
    texts: string | readonly string[],
    options: Omit<TokenizeOptions, "onWarning">,
    rows: number[][] | null,
    data: Int32Array | null,
  ): TruncationStats {
    const list = typeof texts === "string" ? [texts] : texts;
    const ctx = checkContextLength(options.contextLength ?? this.contextLength);
    const policy = options.truncate ?? "warn";
    if (!TRUNCATE_POLICIES.includes(policy)) {
      throw new UserError(`truncate must be one of ${TRUNCATE_POLICIES.join("|")}, got ${JSON.stringify(policy)}`);
    }
    const truncation: TruncationStats = { texts: 0, tokensDropped: 0, indices: [] };
    // copying a zero row is one builtin call, cheaper than writing ctx elements from script
    const zeros = rows ? new Array<number>(ctx).fill(0) : [];
    const sot = this.sotToken;
    const eot = this.eotToken;
    for (let i = 0; i < list.length; i++) {
      let n = this.encodeToScratch(list[i]);
      if (n + 2 > ctx) {
        if (policy === "error") throw this.tooLong(list[i], i, n, ctx);
        truncation.texts++;
        truncation.tokensDropped += n + 2 - ctx;
        truncation.indices.push(i);
        n = ctx - 2;
      }
      const ids = this.scratch;
      if (rows) {
        const row = zeros.slice();
        row[0] = sot;
        for (let k = 0; k < n; k++) row[k + 1] = ids[k];
        row[n + 1] = eot;
        rows.push(row);
      } else {
        const offset = i * ctx;
        data![offset] = sot;
        for (let k = 0; k < n; k++) data![offset + 1 + k] = ids[k];
        data![offset + n + 1] = eot;
      }
    }
    return truncation;
  }

  private tooLong(text: string, i: number, n: number, ctx: number): UserError {
    const preview = text.length > 60 ? JSON.stringify(text.slice(0, 60)) + "..." : JSON.stringify(text);
    return new UserError(
      `text ${i} (${preview}) is ${n + 2} tokens with <|startoftext|> and <|endoftext|>, ` +
        `longer than the context length ${ctx}; truncate it ("warn" or "silent") or split it into chunks`,
    );
  }

  /**
   * Long texts split into context-length windows (each with <|startoftext|> and <|endoftext|>) so
   * a model can embed every part and average; windows end at word boundaries where one exists.
   * Texts that fit give one row, identical to tokenize().
   */
  chunk(texts: string | readonly string[], options: ChunkOptions = {}): Chunks {
    const list = typeof texts === "string" ? [texts] : texts;
    const ctx = checkContextLength(options.contextLength ?? this.contextLength);
    const width = ctx - 2;
    const isWordEnd = this.wordEndTable();
    const result: Chunks = { tokens: [], textIndex: [] };
    list.forEach((text, i) => {
      const ids = this.encode(text);
      let start = 0;
      do {
        let end = Math.min(start + width, ids.length);
        if (end < ids.length) {
          let e = end;
          while (e > start && !isWordEnd[ids[e - 1]]) e--;
          if (e > start) end = e;
        }
        const row = new Array<number>(ctx).fill(0);
        row[0] = this.sotToken;
        for (let k = start; k < end; k++) row[k - start + 1] = ids[k];
        row[end - start + 1] = this.eotToken;
        result.tokens.push(row);
        result.textIndex.push(i);
        start = end;
      } while (start < ids.length);
    });
    return result;
  }

  private wordEndTable(): Uint8Array {
    if (!this.wordEnds) {
      const table = new Uint8Array(this.vocabSize);
      this.vocabulary.tokens.forEach((t, id) => {
        if (t !== undefined && (t.endsWith(END_OF_WORD) || id === this.sotToken || id === this.eotToken)) table[id] = 1;
      });
      this.wordEnds = table;
    }
    return this.wordEnds;
  }
}

function checkContextLength(n: number): number {
  if (!Number.isInteger(n) || n < 2) throw new UserError(`context length must be an integer >= 2, got ${n}`);
  return n;
}
