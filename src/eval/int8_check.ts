/**
 * @file What int8 costs on a dataset: the same samples through an fp32 and an int8 model, compared
 * as embedding cosines (image rows; text rows of captions or class prompts), zero-shot top-1
 * agreement (labelled data) and retrieval recall of both (captioned data).
 */
import type { Embedder, Embeddings } from "../clip/embedder.js";
import { embedCaptions, embedImages, type EvalSample } from "./embed_dataset.js";
import { retrievalRecall, type RetrievalResult } from "./retrieval.js";
import { buildZeroShotClassifier, zeroShotLogits } from "./zeroshot.js";

/** Mean and minimum of the row cosines between two embeddings of the same inputs. */
export interface CosineStats {
  mean: number;
  min: number;
}

/** How an int8 model agrees with its fp32 original on one dataset (`clip quantize --check`). */
export interface AgreementReport {
  images: number;
  imageCosine: CosineStats;
  /** Over the captions (captioned data) or the class prompts (labelled data). */
  textCosine?: CosineStats;
  zeroshot?: { classes: number; top1Fp32: number; top1Int8: number; agreement: number };
  retrieval?: { fp32: RetrievalResult; int8: RetrievalResult };
}

/** Options of `compareInt8`. */
export interface CompareOptions {
  /** Class names and prompt templates, for zero-shot agreement on labelled data. */
  classnames?: readonly string[];
  templates?: readonly string[];
  limit?: number;
  batchSize?: number;
  onProgress?: (what: string) => void;
}

/** Row cosines of two [n, dim] embeddings. */
export function rowCosineStats(a: Embeddings, b: Embeddings): CosineStats {
  let sum = 0;
  let min = Infinity;
  for (let r = 0; r < a.n; r++) {
    let d = 0;
    let x = 0;
    let y = 0;
    for (let j = 0; j < a.dim; j++) {
      const u = a.data[r * a.dim + j];
      const v = b.data[r * b.dim + j];
      d += u * v;
      x += u * u;
      y += v * v;
    }
    const c = x > 0 && y > 0 ? d / Math.sqrt(x * y) : x === y ? 1 : 0;
    sum += c;
    min = Math.min(min, c);
  }
  return { mean: a.n ? sum / a.n : 1, min: a.n ? min : 1 };
}

function argmaxRows(logits: Float32Array, n: number, m: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < m; j++) if (logits[i * m + j] > logits[i * m + best]) best = j;
    out[i] = best;
  }
  return out;
}

/** Runs `open()`'s samples through both models (one after the other) and compares what they give. */
export async function compareInt8(fp32: Embedder, int8: Embedder, open: () => AsyncIterable<EvalSample>, opts: CompareOptions = {}): Promise<AgreementReport> {
  opts.onProgress?.("fp32 images");
  const a = await embedImages(fp32, open(), { limit: opts.limit, batchSize: opts.batchSize });
  opts.onProgress?.("int8 images");
  const b = await embedImages(int8, open(), { limit: opts.limit, batchSize: opts.batchSize });
  const report: AgreementReport = { images: a.images.n, imageCosine: rowCosineStats(a.images, b.images) };
  if (a.labels && opts.classnames && opts.templates) {
    opts.onProgress?.("class prompts");
    const wa = await buildZeroShotClassifier(fp32, opts.classnames, opts.templates);
    const wb = await buildZeroShotClassifier(int8, opts.classnames, opts.templates);
    const k = opts.classnames.length;
    const pa = argmaxRows(zeroShotLogits(a.images, wa, fp32.logitScale), a.images.n, k);
    const pb = argmaxRows(zeroShotLogits(b.images, wb, int8.logitScale), b.images.n, k);
    let agree = 0;
    let ra = 0;
    let rb = 0;
    for (let i = 0; i < pa.length; i++) {
      agree += pa[i] === pb[i] ? 1 : 0;
      ra += pa[i] === a.labels[i] ? 1 : 0;
      rb += pb[i] === a.labels[i] ? 1 : 0;
    }
    const n = Math.max(1, pa.length);
    report.zeroshot = { classes: k, top1Fp32: ra / n, top1Int8: rb / n, agreement: agree / n };
    report.textCosine = rowCosineStats(wa, wb);
  }
  if (a.captions.length && a.captions.every((c) => c.length > 0)) {
    opts.onProgress?.("captions");
    const ta = await embedCaptions(fp32, a.captions);
    const tb = await embedCaptions(int8, a.captions);
    report.textCosine = rowCosineStats(ta.texts, tb.texts);
    report.retrieval = { fp32: retrievalRecall(a.images, ta.texts, ta.textToImage), int8: retrievalRecall(b.images, tb.texts, tb.textToImage) };
  }
  return report;
}
