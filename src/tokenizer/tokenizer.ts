/**
 * @file ClipTokenizer: openai/CLIP's SimpleTokenizer and clip.tokenize, id for id, with an explicit
 * policy for texts longer than the context. No Node APIs here: file loading is in files.ts, reached
 * through fromFile/fromDir by dynamic import.
 */
import { UserError } from "../errors.js";
import { BpeModel, END_OF_TEXT, END_OF_WORD, START_OF_TEXT, referenceVocabulary, type Vocabulary } from "./bpe.js";
import { cleanText, preTokenize } from "./clean.js";
import { pushUtf8 } from "./utf8.js";
import { parseHfVocab, parseReferenceMerges } from "./vocab.js";

/** What to do with a text longer than the context: throw, cut it and warn, or cut it silently. */
export type TruncatePolicy = "error" | "warn" | "silent";
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

/** Pieces whose ids are cached; cleared when full (captions need far fewer). */
const CACHE_LIMIT = 1 << 18;

export class ClipTokenizer {
  /** number of token ids (49408 for CLIP) */
  readonly vocabSize: number;
  readonly sotToken: number;
  readonly eotToken: number;
  /** the context length tokenize() uses by default */
  readonly contextLength: number;
  readonly vocabulary: Vocabulary;
  private readonly model: BpeModel;
  private readonly cache = new Map<string, readonly number[]>();
  private wordEnds: Uint8Array | undefined;

  constructor(vocabulary: Vocabulary, options: { contextLength?: number } = {}) {
    this.vocabulary = vocabulary;
    this.model = new BpeModel(vocabulary);
    this.vocabSize = this.model.size;
    this.sotToken = vocabulary.sot;
    this.eotToken = vocabulary.eot;
    this.contextLength = checkContextLength(options.contextLength ?? CLIP_CONTEXT_LENGTH);
    // the reference caches the special tokens as themselves
    this.cache.set(START_OF_TEXT, [this.sotToken]);
    this.cache.set(END_OF_TEXT, [this.eotToken]);
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
    const files = await import("./files.js");
    const loaded = await files.loadVocabulary(path, options);
    return new ClipTokenizer(loaded.vocabulary, { contextLength: options.contextLength ?? loaded.contextLength });
  }

  /**
   * From a checkpoint directory: bpe_simple_vocab_16e6.txt.gz, else vocab.json + merges.txt, else
   * tokenizer.json; vocab size and context length from open_clip_config.json's text_cfg when present.
   */
  static async fromDir(checkpointDir: string, options: LoadOptions = {}): Promise<ClipTokenizer> {
    const files = await import("./files.js");
    const loaded = await files.loadVocabularyFromDir(checkpointDir, options);
    return new ClipTokenizer(loaded.vocabulary, { contextLength: options.contextLength ?? loaded.contextLength });
  }

  /** BPE ids of one text, without <|startoftext|> / <|endoftext|> (the reference's encode). */
  encode(text: string): number[] {
    const out: number[] = [];
    this.encodeInto(cleanText(text), out);
    return out;
  }

  /** The pieces BPE sees: the cleaned, lower-cased text split by the reference's pattern. */
  preTokenize(text: string): string[] {
    return preTokenize(cleanText(text));
  }

  private encodeInto(cleaned: string, out: number[]): void {
    for (const piece of preTokenize(cleaned)) {
      let ids = this.cache.get(piece);
      if (ids === undefined) {
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
        ids = this.model.encodeWord(bytes);
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(piece, ids);
      }
      for (let k = 0; k < ids.length; k++) out.push(ids[k]);
    }
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
    if (truncation.texts > 0 && (options.truncate ?? "warn") === "warn") {
      const ctx = options.contextLength ?? this.contextLength;
      const total = typeof texts === "string" ? 1 : texts.length;
      const message =
        `truncated ${truncation.texts} of ${total} text(s) to the context length ${ctx}: ` +
        `${truncation.tokensDropped} token(s) dropped (first: text ${truncation.indices[0]}); ` +
        `use chunking to keep them, or truncate "silent" to hide this`;
      if (options.onWarning) options.onWarning(message, truncation);
      else console.warn(`clip-ts: warning: ${message}`);
    }
    return tokens;
  }

  /** tokenize() that returns what was cut instead of warning ("error" still throws). */
  tokenizeWithStats(
    texts: string | readonly string[],
    options: Omit<TokenizeOptions, "onWarning"> = {},
  ): { tokens: number[][]; truncation: TruncationStats } {
    const list = typeof texts === "string" ? [texts] : texts;
    const ctx = checkContextLength(options.contextLength ?? this.contextLength);
    const policy = options.truncate ?? "warn";
    if (!TRUNCATE_POLICIES.includes(policy)) {
      throw new UserError(`truncate must be one of ${TRUNCATE_POLICIES.join("|")}, got ${JSON.stringify(policy)}`);
    }
    const truncation: TruncationStats = { texts: 0, tokensDropped: 0, indices: [] };
    const ids: number[] = [];
    const tokens = list.map((text, i) => {
      ids.length = 0;
      this.encodeInto(cleanText(text), ids);
      const row = new Array<number>(ctx).fill(0);
      row[0] = this.sotToken;
      let n = ids.length;
      if (n + 2 > ctx) {
        if (policy === "error") {
          const preview = text.length > 60 ? JSON.stringify(text.slice(0, 60)) + "..." : JSON.stringify(text);
          throw new UserError(
            `text ${i} (${preview}) is ${n + 2} tokens with <|startoftext|> and <|endoftext|>, ` +
              `longer than the context length ${ctx}; truncate it ("warn" or "silent") or split it into chunks`,
          );
        }
        truncation.texts++;
        truncation.tokensDropped += n + 2 - ctx;
        truncation.indices.push(i);
        n = ctx - 2;
      }
      for (let k = 0; k < n; k++) row[k + 1] = ids[k];
      row[n + 1] = this.eotToken;
      return row;
    });
    return { tokens, truncation };
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
