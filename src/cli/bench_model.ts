/** @file The measurement behind `clip bench`: median throughput of the image and text sessions. */
import os from "node:os";
import { ClipModel } from "../clip/model.js";
import { loadCheckpoint } from "../weights/checkpoint.js";
import { ClipTokenizer, referenceVocabulary } from "../tokenizer/index.js";
import type { Precision } from "../models/clip/int8.js";

export interface BenchResult {
  images_per_second: number;
  texts_per_second: number;
  batch: number;
  threads: number;
  precision: Precision;
  /** Peak resident memory of this process, MiB. */
  peak_rss_mb: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs `fn` once to warm up, then until `seconds` have passed (at least 3 times); median seconds per run (also bench/int8/transformersjs.ts's timing, so both sides are timed alike). */
export async function timeRuns(fn: () => Promise<unknown>, seconds: number): Promise<number> {
  await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || performance.now() - start < seconds * 1000) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

export async function benchModel(dir: string, batch: number, threads: number | undefined, seconds: number, precision: Precision = "fp32"): Promise<BenchResult> {
  const ck = loadCheckpoint(dir);
  // token ids are synthetic, so the bench needs no vocabulary file
  const tokenizer = new ClipTokenizer(referenceVocabulary([]), { contextLength: ck.config.text_cfg.context_length });
  const model = new ClipModel(ck.config, ck.preprocess, ck.state, tokenizer, { threads, batchSize: batch, precision }, dir, ck.int8);
  ck.state.clear(); // the model holds the weights now, and lets each tower's go once compiled
  try {
    const S = model.imageSize;
    const pixels = new Float32Array(batch * 3 * S * S);
    let seed = 1;
    for (let i = 0; i < pixels.length; i++) pixels[i] = ((seed = (seed * 16807) % 2147483647) / 2147483647) * 4 - 2;
    const L = model.contextLength;
    const ids = new BigInt64Array(batch * L);
    const vocab = ck.config.text_cfg.vocab_size;
    for (let b = 0; b < batch; b++) {
      const len = 8 + (b % 12);
      ids[b * L] = BigInt(vocab - 2);
      for (let j = 1; j < len; j++) ids[b * L + j] = BigInt((seed = (seed * 16807) % 2147483647) % (vocab - 2));
      ids[b * L + len] = BigInt(vocab - 1);
    }
    const img = await timeRuns(() => model.encodePixels(pixels, batch), seconds);
    const txt = await timeRuns(() => model.encodeTokens(ids, batch), seconds);
    return { images_per_second: batch / img, texts_per_second: batch / txt, batch, threads: threads ?? os.availableParallelism(), precision, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
  } finally {
    await model.close();
  }
}
