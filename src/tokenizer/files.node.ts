/** @file Node file access for the tokenizer: find and read vocabulary files, write the reference gz format. */
import { createGunzip, gzipSync } from "node:zlib";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../errors.js";
import type { Vocabulary } from "./bpe.js";
import {
  BASE_VOCAB_SIZE,
  CLIP_VOCAB_SIZE,
  formatReferenceMerges,
  parseHfTokenizerJson,
  parseHfVocab,
  parseReferenceMerges,
} from "./vocab.js";

export const REFERENCE_VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz";

export interface LoadedVocabulary {
  vocabulary: Vocabulary;
  /** text_cfg.context_length from the checkpoint's open_clip_config.json, if any */
  contextLength?: number;
}

async function exists(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch (e) {
    throw new UserError(`cannot read vocabulary ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Gunzips only as much as `lines` lines need: CLIP uses the first 48,895 lines (0.5 MB) of the
 * 3.2 MB OpenAI file.
 */
async function gunzipLines(file: string, data: Buffer, lines: number): Promise<string> {
  const chunks: Buffer[] = [];
  let newlines = 0;
  await new Promise<void>((resolve, reject) => {
    const gunzip = createGunzip();
    let done = false;
    gunzip.on("data", (chunk: Buffer) => {
      if (done) return;
      chunks.push(chunk);
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) newlines++;
      if (newlines > lines) {
        done = true;
        gunzip.destroy();
        resolve();
      }
    });
    gunzip.on("end", () => resolve());
    gunzip.on("error", (e) => (done ? resolve() : reject(new UserError(`${file}: not a valid gzip file (${e.message})`))));
    gunzip.end(data);
  });
  return Buffer.concat(chunks).toString("utf8");
}

/** A reference merges file, gzipped (by content, not name) or plain. */
async function loadReferenceFile(file: string, vocabSize: number): Promise<Vocabulary> {
  const data = await readFile(file);
  const gz = data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
  const text = gz ? await gunzipLines(file, data, vocabSize - BASE_VOCAB_SIZE + 1) : data.toString("utf8");
  return parseReferenceMerges(text, { vocabSize, source: file });
}

async function loadHfPair(vocabFile: string, mergesFile: string): Promise<Vocabulary> {
  const [vocabJson, mergesTxt] = await Promise.all([readFile(vocabFile, "utf8"), readFile(mergesFile, "utf8")]);
  return parseHfVocab(vocabJson, mergesTxt, vocabFile);
}

/** A vocabulary file (reference .txt.gz / .txt, HF vocab.json with merges.txt beside it, HF tokenizer.json) or a directory. */
export async function loadVocabulary(file: string, options: { vocabSize?: number } = {}): Promise<LoadedVocabulary> {
  if (await isDirectory(file)) return loadVocabularyFromDir(file, options);
  const base = path.basename(file);
  if (base.endsWith(".json")) {
    if (base === "tokenizer.json") return { vocabulary: parseHfTokenizerJson(await readFile(file, "utf8"), file) };
    const merges = path.join(path.dirname(file), "merges.txt");
    if (!(await exists(merges))) throw new UserError(`${file}: a Hugging Face vocab.json needs merges.txt beside it (${merges} not found)`);
    return { vocabulary: await loadHfPair(file, merges) };
  }
  if (base === "merges.txt" && (await exists(path.join(path.dirname(file), "vocab.json")))) {
    return { vocabulary: await loadHfPair(path.join(path.dirname(file), "vocab.json"), file) };
  }
  return { vocabulary: await loadReferenceFile(file, options.vocabSize ?? CLIP_VOCAB_SIZE) };
}

/** text_cfg of an open_clip_config.json, if the directory has one. */
async function textConfig(dir: string): Promise<{ vocabSize?: number; contextLength?: number }> {
  const file = path.join(dir, "open_clip_config.json");
  if (!(await exists(file))) return {};
  let cfg: { model_cfg?: { text_cfg?: { vocab_size?: unknown; context_length?: unknown } } };
  try {
    cfg = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const text = cfg.model_cfg?.text_cfg ?? {};
  const int = (v: unknown, field: string): number | undefined => {
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || (v as number) < 2) throw new UserError(`${file}: model_cfg.text_cfg.${field} must be an integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  return { vocabSize: int(text.vocab_size, "vocab_size"), contextLength: int(text.context_length, "context_length") };
}

/** The tokenizer files of a checkpoint directory, in the order open_clip and Hugging Face place them. */
export async function loadVocabularyFromDir(dir: string, options: { vocabSize?: number } = {}): Promise<LoadedVocabulary> {
  if (!(await isDirectory(dir))) throw new UserError(`${dir} is not a directory`);
  const cfg = await textConfig(dir);
  const vocabSize = options.vocabSize ?? cfg.vocabSize ?? CLIP_VOCAB_SIZE;
  const reference = path.join(dir, REFERENCE_VOCAB_FILE);
  if (await exists(reference)) return { vocabulary: await loadReferenceFile(reference, vocabSize), contextLength: cfg.contextLength };
  const vocabJson = path.join(dir, "vocab.json");
  const mergesTxt = path.join(dir, "merges.txt");
  if ((await exists(vocabJson)) && (await exists(mergesTxt))) {
    return { vocabulary: await loadHfPair(vocabJson, mergesTxt), contextLength: cfg.contextLength };
  }
  const tokenizerJson = path.join(dir, "tokenizer.json");
  if (await exists(tokenizerJson)) {
    return { vocabulary: parseHfTokenizerJson(await readFile(tokenizerJson, "utf8"), tokenizerJson), contextLength: cfg.contextLength };
  }
  throw new UserError(
    `no tokenizer vocabulary in ${dir}: expected ${REFERENCE_VOCAB_FILE}, or vocab.json + merges.txt, or tokenizer.json`,
  );
}

/** Writes merges as the reference's gzipped merges file, which the reference loader and ours read back unchanged. */
export async function writeReferenceVocabulary(file: string, merges: readonly (readonly [string, string])[]): Promise<void> {
  await writeFile(file, gzipSync(Buffer.from(formatReferenceMerges(merges), "utf8"), { level: 9 }));
}
