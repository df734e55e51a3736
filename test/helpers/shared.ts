/** @file Paths to ../shared (read-only fixtures and datasets) and the repository root, for tests. */
import { fileURLToPath } from "node:url";
import path from "node:path";

// compiled to dist/test/helpers/shared.js: the repository root is three levels up
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const SHARED = path.resolve(ROOT, "../shared");
export const REFERENCE = path.join(SHARED, "fixtures/reference");
export const DATASETS = path.join(SHARED, "datasets");
export const VOCAB = path.join(SHARED, "vocab/bpe_simple_vocab_16e6.txt.gz");
export const CLI = path.join(ROOT, "bin/clip.js");
