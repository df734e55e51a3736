/** @file Paths to ../shared (read-only fixtures and datasets) and the repository root, for tests. */
import { fileURLToPath } from "node:url";
import fs from "node:fs";
import path from "node:path";

// compiled to dist/test/helpers/shared.js: the repository root is three levels up
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const SHARED = path.resolve(ROOT, "../shared");
export const REFERENCE = path.join(SHARED, "fixtures/reference");
export const DATASETS = path.join(SHARED, "datasets");
export const VOCAB = path.join(SHARED, "vocab/bpe_simple_vocab_16e6.txt.gz");
export const CLI = path.join(ROOT, "bin/clip.js");

/**
 * The files of `dir` matching `pattern`, asserting there are at least `min`: tests generated from
 * fixture files fail loudly when the fixtures are missing instead of silently vanishing.
 */
export function requireFiles(dir: string, pattern: RegExp, min = 1): string[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir).filter((f) => pattern.test(f)).sort();
  } catch (e) {
    throw new Error(`fixtures missing: cannot read ${dir} (${(e as Error).message})`);
  }
  if (names.length < min) throw new Error(`fixtures missing: ${dir} has ${names.length} files matching ${pattern}, expected at least ${min}`);
  return names;
}
