/**
 * @file Vocabulary formats, from text already read: the reference's merges file
 * (bpe_simple_vocab_16e6.txt, gunzipped), Hugging Face's vocab.json + merges.txt, and tokenizer.json.
 * No Node APIs; files.ts reads the files.
 */
import { UserError } from "../errors.js";
import { END_OF_TEXT, ReferenceVocabularyBuilder, START_OF_TEXT, referenceVocabulary, type Vocabulary } from "./bpe.js";

/** CLIP's text vocabulary size (text_cfg.vocab_size of every OpenAI model). */
export const CLIP_VOCAB_SIZE = 49408;
/** Byte tokens, word-final byte tokens and the two special tokens: a vocabulary with no merges. */
export const BASE_VOCAB_SIZE = 256 * 2 + 2;
/** The header line the reference's merges file starts with (its loader skips line 1 unread). */
export const MERGES_HEADER = "#version: 0.2";

type Merge = readonly [string, string];

function parseMergeLines(lines: readonly string[], firstLine: number, source: string): Merge[] {
  const merges: Merge[] = [];
  lines.forEach((raw, k) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const parts = line.split(" ");
    if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
      throw new UserError(`${source}: line ${firstLine + k}: expected a merge "A B", got ${JSON.stringify(line.slice(0, 80))}`);
    }
    merges.push([parts[0], parts[1]]);
  });
  return merges;
}

/**
 * The reference's merges text: line 1 is a header, then one merge per line. `vocabSize` (the
 * model's text_cfg.vocab_size, 49408 for CLIP) caps how many merges are used: OpenAI's file holds
 * 262,144 merges of which CLIP uses the first 48,894; a trained file holds exactly its own.
 */
export function parseReferenceMerges(text: string, options: { vocabSize?: number; source?: string } = {}): Vocabulary {
  const source = options.source ?? "merges";
  const vocabSize = options.vocabSize ?? CLIP_VOCAB_SIZE;
  if (!Number.isInteger(vocabSize) || vocabSize < BASE_VOCAB_SIZE) {
    throw new UserError(`${source}: vocabulary size must be an integer >= ${BASE_VOCAB_SIZE}, got ${vocabSize}`);
  }
  const maxMerges = vocabSize - BASE_VOCAB_SIZE;
  // reads only the merges used (the OpenAI file is 3 MB, CLIP uses its first 0.5 MB), without
  // splitting the text into an array of lines first
  const merges: Merge[] = [];
  const builder = new ReferenceVocabularyBuilder();
  let compiled = true;
  let taken = 0;
  let pos = text.indexOf("\n") + 1;
  if (pos === 0) pos = text.length;
  let line = 2;
  while (pos < text.length && taken < maxMerges) {
    let end = text.indexOf("\n", pos);
    if (end < 0) end = text.length;
    let stop = end;
    if (stop > pos && text.charCodeAt(stop - 1) === 13) stop--;
    const space = text.indexOf(" ", pos);
    const next = space < 0 ? -1 : text.indexOf(" ", space + 1);
    if (space > pos && space < stop - 1 && (next < 0 || next >= stop)) {
      taken++;
      // merges are kept as pairs only if the one-pass builder cannot take them
      if (!compiled || !builder.add(text, pos, space, space + 1, stop)) {
        if (compiled) {
          compiled = false;
          for (const m of builder.pairs()) merges.push(m);
        }
        merges.push([text.slice(pos, space), text.slice(space + 1, stop)]);
      }
    } else if (stop === pos && text.slice(end).trim() === "") {
      break; // the file's final newline(s)
    } else {
      parseMergeLines([text.slice(pos, stop)], line, source); // throws, saying what is wrong
    }
    pos = end + 1;
    line++;
  }
  return (compiled && builder.build()) || referenceVocabulary(compiled ? builder.pairs() : merges);
}

/** The reference's file text for these merges; no newline after the last one, so the reference's loader reads exactly them. */
export function formatReferenceMerges(merges: readonly Merge[]): string {
  return [MERGES_HEADER, ...merges.map(([a, b]) => `${a} ${b}`)].join("\n");
}

/** A JSON object of token -> id as an id -> token list and the special tokens' ids. */
function tokensOfJsonObject(value: unknown, source: string, field: string): { tokens: (string | undefined)[]; sot: number; eot: number } {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UserError(`${source}: ${field} must be a JSON object of token -> id`);
  }
  const vocab = value as Record<string, unknown>;
  const keys = Object.keys(vocab);
  // sized up front: assigning ids into an empty array would make it a slow sparse one
  const tokens = new Array<string | undefined>(keys.length).fill(undefined);
  for (const token of keys) {
    const id = vocab[token];
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > 10_000_000) {
      throw new UserError(`${source}: token ${JSON.stringify(token)} has id ${JSON.stringify(id)}, expected an integer >= 0`);
    }
    while (tokens.length <= id) tokens.push(undefined);
    tokens[id] = token;
  }
  const sot = Object.hasOwn(vocab, START_OF_TEXT) ? (vocab[START_OF_TEXT] as number) : undefined;
  const eot = Object.hasOwn(vocab, END_OF_TEXT) ? (vocab[END_OF_TEXT] as number) : undefined;
  if (sot === undefined || eot === undefined) {
    throw new UserError(`${source}: vocabulary has no ${sot === undefined ? START_OF_TEXT : END_OF_TEXT} token`);
  }
  return { tokens, sot, eot };
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${source}: not valid JSON (${(e as Error).message})`);
  }
}

/** Hugging Face's pair: vocab.json (token -> id) and merges.txt (optional "#version" header, then "A B" lines). */
export function parseHfVocab(vocabJson: string, mergesTxt: string, source = "vocab.json"): Vocabulary {
  const vocab = tokensOfJsonObject(parseJson(vocabJson, source), source, "the file");
  const lines = mergesTxt.split("\n");
  let first = 0;
  if (lines.length > 0 && lines[0].startsWith("#version")) first = 1;
  const body = lines.slice(first);
  while (body.length > 0 && body[body.length - 1].trim() === "") body.pop();
  const merges = parseMergeLines(body, first + 1, source.replace(/vocab\.json$/, "merges.txt"));
  return { ...vocab, merges };
}

/** Hugging Face's tokenizer.json (a BPE model: model.vocab and model.merges as "A B" strings or [A, B] pairs). */
export function parseHfTokenizerJson(text: string, source = "tokenizer.json"): Vocabulary {
  const doc = parseJson(text, source) as { model?: { type?: string; vocab?: unknown; merges?: unknown } };
  const model = doc?.model;
  if (!model || (model.type !== undefined && model.type !== "BPE")) {
    throw new UserError(`${source}: expected a BPE model in "model", got ${JSON.stringify(model?.type)}`);
  }
  const vocab = tokensOfJsonObject(model.vocab, source, "model.vocab");
  if (!Array.isArray(model.merges)) throw new UserError(`${source}: model.merges must be an array`);
  const merges: Merge[] = model.merges.map((m: unknown, k: number) => {
    if (typeof m === "string") return parseMergeLines([m], k + 1, `${source} model.merges`)[0];
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string") return [m[0], m[1]] as const;
    throw new UserError(`${source}: model.merges[${k}] must be "A B" or ["A", "B"]`);
  });
  return { ...vocab, merges };
}

/**
 * Hugging Face's files for a vocabulary, as transformers' CLIPTokenizer and open_clip's
 * HFTokenizer read them: vocab.json (token -> id, in id order), merges.txt ("#version: 0.2" then
 * the merges in rank order), tokenizer_config.json and special_tokens_map.json.
 */
export function hfTokenizerFiles(v: Vocabulary, contextLength: number): Record<string, string> {
  // written by hand: JSON.stringify would put integer-like tokens ("0".."9") first, out of id order
  const entries: string[] = [];
  v.tokens.forEach((t, id) => {
    if (t !== undefined) entries.push(`${JSON.stringify(t)}: ${id}`);
  });
  // pads with <|endoftext|> where clip.tokenize pads with 0: the features are the same (causal mask,
  // argmax pooling finds the first end token); "!" as pad_token would become a special token and
  // change how a text containing "!" splits
  const special = { bos_token: START_OF_TEXT, eos_token: END_OF_TEXT, pad_token: END_OF_TEXT, unk_token: END_OF_TEXT };
  const config = {
    tokenizer_class: "CLIPTokenizer",
    ...special,
    add_prefix_space: false,
    do_lower_case: true,
    errors: "replace",
    model_max_length: contextLength,
  };
  return {
    "vocab.json": `{${entries.join(", ")}}\n`,
    "merges.txt": `${MERGES_HEADER}\n${v.merges.map(([a, b]) => `${a} ${b}`).join("\n")}\n`,
    "tokenizer_config.json": JSON.stringify(config, null, 2) + "\n",
    "special_tokens_map.json": JSON.stringify(special, null, 2) + "\n",
  };
}
