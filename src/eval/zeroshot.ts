/**
 * @file Zero-shot classification: class names x prompt templates -> one unit-norm text embedding
 * per class (prompt ensembling), softmax over logit_scale * cosine similarities, and the metrics
 * CLIP_benchmark reports (top-1, top-5, mean per-class recall, confusion matrix).
 */
import { InternalError, UserError } from "../errors.js";
import type { Embedder, Embeddings } from "../clip/embedder.js";
import { FeatureCache } from "./features.js";
import { checkEmbeddings, checkSameDim, l2NormalizeRows, matmulABt, topKRow } from "./matrix.js";
import { classificationMetrics, validateLabels, type ClassificationMetrics } from "./metrics.js";
import { fillTemplate, validateTemplates } from "./templates.js";
import { readTextFile } from "../util/files.node.js";

export { classificationMetrics, renderClassificationMarkdown, validateLabels, type ClassificationMetrics } from "./metrics.js";

// ---------------------------------------------------------------------------------------------
// Labels

/** Class names must be non-empty and distinct (a duplicate class can never be predicted consistently). */
export function validateClassnames(classnames: readonly string[], source = "labels"): void {
  if (classnames.length === 0) throw new UserError(`${source}: no class names`);
  if (classnames.length === 1) throw new UserError(`${source}: only one class name ("${classnames[0]}"); zero-shot needs at least two`);
  const seen = new Map<string, number>();
  classnames.forEach((c, i) => {
    if (c.trim() === "") throw new UserError(`${source}: class ${i + 1} is an empty name`);
    const prev = seen.get(c);
    if (prev !== undefined) throw new UserError(`${source}: duplicate class name "${c}" (entries ${prev + 1} and ${i + 1})`);
    seen.set(c, i);
  });
}

/** `--labels "cat,dog"`: comma-separated, trimmed; empty entries are an error. */
export function parseLabelList(list: string): string[] {
  const names = list.split(",").map((s) => s.trim());
  validateClassnames(names, "--labels");
  return names;
}

/**
 * A class-name file: one name per line in class-index order (CLIP_benchmark's classnames.txt).
 * Trailing blank lines are ignored; a blank line before the last name is an error, since it
 * would shift every later index.
 */
export function parseClassnames(text: string, file: string): string[] {
  const lines = text.split("\n").map((l) => l.trim());
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  lines.forEach((l, i) => {
    if (l === "") throw new UserError(`${file}:${i + 1}: empty class name`);
  });
  const seen = new Map<string, number>();
  lines.forEach((l, i) => {
    const prev = seen.get(l);
    if (prev !== undefined) throw new UserError(`${file}:${i + 1}: duplicate class name "${l}" (first on line ${prev + 1})`);
    seen.set(l, i);
  });
  validateClassnames(lines, file);
  return lines;
}

export async function loadClassnamesFile(file: string): Promise<string[]> {
  const text = await readTextFile(file, "labels file");
  return parseClassnames(text, file);
}

// ---------------------------------------------------------------------------------------------
// Classifier weights

export interface ZeroShotOptions {
  /** Folder for the weights cache; no caching without it (or without `modelId`). */
  cacheDir?: string;
  /** Identifies the model for the cache key (e.g. `modelFingerprint(dir)`); any JSON value. */
  modelId?: unknown;
  /** Texts per `encodeTexts` call (rounded to whole classes; default 4096). */
  chunkTexts?: number;
  onProgress?: (done: number, total: number) => void;
}

/** [C, D] unit-norm class embeddings, row c for classnames[c]. */
export interface ZeroShotWeights extends Embeddings {
  classnames: string[];
  /** The templates the prompts were filled from; empty when the classes came with prompts of their own. */
  templates: string[];
  /** prompts[c]: the texts ensembled into row c. */
  prompts: string[][];
  /** True when read from the cache. */
  cached: boolean;
}

/** Cache key of the classifier weights; bump `version` when the ensembling changes. */
export function zeroShotCacheKey(modelId: unknown, classnames: readonly string[], templates: readonly string[]): unknown {
  return { kind: "zeroshot-weights", version: 1, model: modelId, classnames: [...classnames], templates: [...templates] };
}

/**
 * Prompt ensembling as in CLIP's notebook: for each class, embed every template filled with the
 * class name, L2-normalize each embedding, average them, and L2-normalize the average.
 * Labels and templates are validated before any text is encoded. With `cacheDir` and `modelId`
 * the weights are read from / written to a feature-cache entry keyed by
 * sha256(model id, class names, templates) (format in features.ts).
 */
export async function buildZeroShotClassifier(
  embedder: Embedder,
  classnames: readonly string[],
  templates: readonly string[],
  opts: ZeroShotOptions = {},
): Promise<ZeroShotWeights> {
  validateClassnames(classnames);
  validateTemplates(templates);
  const prompts = classnames.map((c) => templates.map((t) => fillTemplate(t, c)));
  const key = zeroShotCacheKey(opts.modelId ?? null, classnames, templates);
  return { ...(await ensembleClasses(embedder, classnames, prompts, key, opts)), templates: [...templates] };
}

/**
 * The same ensembling over prompts of each class's own (CuPL-style; prompts[c] for classnames[c],
 * any number per class), for classes whose phrasing a template cannot give (an irregular plural).
 */
export async function buildZeroShotClassifierFromPrompts(
  embedder: Embedder,
  classnames: readonly string[],
  prompts: readonly (readonly string[])[],
  opts: ZeroShotOptions = {},
): Promise<ZeroShotWeights> {
  validateClassnames(classnames);
  validateClassPrompts(classnames, prompts);
  const key = { kind: "zeroshot-weights", version: 1, model: opts.modelId ?? null, classnames: [...classnames], prompts: prompts.map((p) => [...p]) };
  return { ...(await ensembleClasses(embedder, classnames, prompts, key, opts)), templates: [] };
}

/** One non-empty list of distinct, non-blank prompts per class. */
export function validateClassPrompts(classnames: readonly string[], prompts: readonly (readonly string[])[], source = "prompts"): void {
  if (prompts.length !== classnames.length) throw new UserError(`${source}: ${prompts.length} prompt lists for ${classnames.length} classes`);
  prompts.forEach((list, c) => {
    if (list.length === 0) throw new UserError(`${source}: class "${classnames[c]}" has no prompts`);
    const seen = new Set<string>();
    for (const p of list) {
      if (p.trim() === "") throw new UserError(`${source}: class "${classnames[c]}" has an empty prompt`);
      if (seen.has(p)) throw new UserError(`${source}: class "${classnames[c]}" repeats the prompt ${JSON.stringify(p)}`);
      seen.add(p);
    }
  });
}

/** Embeds prompts[c] for every class (whole classes per encodeTexts call) and ensembles each class's rows. */
async function ensembleClasses(
  embedder: Embedder,
  classnames: readonly string[],
  prompts: readonly (readonly string[])[],
  key: unknown,
  opts: ZeroShotOptions,
): Promise<Omit<ZeroShotWeights, "templates">> {
  const names = [...classnames];
  const lists = prompts.map((p) => [...p]);
  const cache = opts.cacheDir !== undefined && opts.modelId !== undefined ? new FeatureCache(opts.cacheDir) : undefined;
  if (cache) {
    const hit = await cache.get(key, "zeroshot");
    if (hit) return { ...hit.emb, classnames: names, prompts: lists, cached: true };
  }
  const C = names.length;
  const total = lists.reduce((s, p) => s + p.length, 0);
  const chunk = opts.chunkTexts ?? 4096;
  let dim = -1;
  let data = new Float32Array(0);
  let done = 0;
  for (let c0 = 0; c0 < C; ) {
    // whole classes, at least one, up to `chunk` texts
    let c1 = c0 + 1;
    let n = lists[c0]!.length;
    while (c1 < C && n + lists[c1]!.length <= chunk) n += lists[c1++]!.length;
    const texts = lists.slice(c0, c1).flat();
    const emb = await embedder.encodeTexts(texts, { normalize: false });
    checkEmbeddings(emb, "encodeTexts result");
    if (emb.n !== texts.length) throw new InternalError(`encodeTexts returned ${emb.n} rows for ${texts.length} texts`);
    if (dim < 0) {
      dim = emb.dim;
      data = new Float32Array(C * dim);
    } else if (emb.dim !== dim) {
      throw new InternalError(`encodeTexts returned width ${emb.dim}, earlier ${dim}`);
    }
    let row = 0;
    for (let c = c0; c < c1; c++) {
      ensembleInto(emb, row, lists[c]!.length, c, data);
      row += lists[c]!.length;
    }
    done += texts.length;
    opts.onProgress?.(done, total);
    c0 = c1;
  }
  const weights: Embeddings = { data, n: C, dim };
  if (cache) await cache.put(key, weights, { classnames: names, prompts: lists }, "zeroshot");
  return { ...weights, classnames: names, prompts: lists, cached: false };
}

/** Rows [row0, row0+count) of `emb` are class c's prompts: normalize each, mean, re-normalize into out[c]. */
function ensembleInto(emb: Embeddings, row0: number, count: number, c: number, out: Float32Array): void {
  const d = emb.dim;
  const acc = new Float64Array(d);
  for (let t = 0; t < count; t++) {
    const o = (row0 + t) * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += emb.data[o + j]! * emb.data[o + j]!;
    if (!(s > 0)) throw new UserError(`prompt ${t + 1} for class ${c + 1} embedded to a zero or non-finite vector`);
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < d; j++) acc[j]! += emb.data[o + j]! * inv;
  }
  let s = 0;
  for (let j = 0; j < d; j++) {
    acc[j]! /= count;
    s += acc[j]! * acc[j]!;
  }
  const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
  const o = c * d;
  for (let j = 0; j < d; j++) out[o + j] = acc[j]! * inv;
}

// ---------------------------------------------------------------------------------------------
// Classification

/** logitScale * normalize(images) · weightsᵀ: [N, C] logits. */
export function zeroShotLogits(imageEmb: Embeddings, weights: Embeddings, logitScale: number): Float32Array {
  checkEmbeddings(imageEmb, "image embeddings");
  checkEmbeddings(weights, "classifier weights");
  checkSameDim(imageEmb, weights, "zero-shot");
  return matmulABt(l2NormalizeRows(imageEmb), weights, logitScale);
}

/** Row-wise softmax in float64 (max subtracted), written to a new float32 array. */
export function softmaxRows(logits: Float32Array, n: number, m: number): Float32Array {
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++) {
    const o = i * m;
    let mx = -Infinity;
    for (let j = 0; j < m; j++) mx = Math.max(mx, logits[o + j]!);
    let s = 0;
    for (let j = 0; j < m; j++) s += Math.exp(logits[o + j]! - mx);
    for (let j = 0; j < m; j++) out[o + j] = Math.exp(logits[o + j]! - mx) / s;
  }
  return out;
}

export interface Prediction {
  /** Class index. */
  index: number;
  prob: number;
}

/** Zero-shot probabilities of n images over numClasses classes, with each image's best classes. */
export interface ClassifyResult {
  n: number;
  numClasses: number;
  /** [n, numClasses] softmax probabilities. */
  probs: Float32Array;
  /** Per image, the topK classes, most probable first (ties: lower class index first). */
  top: Prediction[][];
}

/** Softmax(logitScale * cos(image, class)) per image, with each image's top-k classes. */
export function classify(imageEmb: Embeddings, weights: Embeddings, logitScale: number, topK = 5): ClassifyResult {
  const C = weights.n;
  const logits = zeroShotLogits(imageEmb, weights, logitScale);
  const probs = softmaxRows(logits, imageEmb.n, C);
  const top: Prediction[][] = [];
  for (let i = 0; i < imageEmb.n; i++) {
    // rank on logits, not on rounded float32 probabilities, so near-ties keep their order
    top.push(topKRow(logits, i * C, C, Math.max(1, topK)).map((index) => ({ index, prob: probs[i * C + index]! })));
  }
  return { n: imageEmb.n, numClasses: C, probs, top };
}

/** Zero-shot evaluation of image embeddings with known labels against classifier weights. */
export function evaluateZeroShot(imageEmb: Embeddings, labels: ArrayLike<number>, weights: Embeddings, logitScale: number): ClassificationMetrics {
  validateLabels(labels, weights.n, "dataset");
  const logits = zeroShotLogits(imageEmb, weights, logitScale);
  return classificationMetrics(logits, imageEmb.n, weights.n, labels);
}
