/** @file The tokenizer's public API: CLIP's byte-level BPE, exact to the reference, plus vocabulary training. */
export {
  ClipTokenizer,
  CLIP_CONTEXT_LENGTH,
  TRUNCATE_POLICIES,
  type ChunkOptions,
  type Chunks,
  type LoadOptions,
  type TokenizeOptions,
  type TruncatePolicy,
  type TruncationStats,
} from "./tokenizer.js";
export { trainBpe, type TrainOptions, type TrainedBpe } from "./train.js";
export { formatReferenceMerges, parseReferenceMerges, parseHfVocab, parseHfTokenizerJson, CLIP_VOCAB_SIZE, BASE_VOCAB_SIZE } from "./vocab.js";
export { START_OF_TEXT, END_OF_TEXT, END_OF_WORD, referenceVocabulary, toByteChars, type Vocabulary } from "./bpe.js";
export { cleanText, preTokenize } from "./clean.js";
export { fixText } from "./ftfy/index.js";

/** Writes merges as a gzipped reference vocabulary file (bpe_simple_vocab_16e6.txt.gz format). Node only. */
export async function writeBpeVocab(path: string, merges: readonly (readonly [string, string])[]): Promise<void> {
  const files = await import("./files.node.js");
  await files.writeReferenceVocabulary(path, merges);
}
