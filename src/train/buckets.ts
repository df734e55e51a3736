/**
 * @file Text buckets of a training step. The text tower is causal and pools at the end-of-text
 * token, so ids after a caption's end change nothing: a step sorts its pairs by caption length
 * (the contrastive loss and BatchNorm's batch statistics do not depend on the order of the pairs),
 * splits them into buckets and cuts each bucket after its longest caption: the text tower runs on
 * the positions the captions use, not the whole context.
 */
import type { HostTensor } from "../runtime/core.js";

/** Images per bucket for a micro-batch of `images`: two halves (one bucket below two images). */
export function bucketSizes(images: number): number[] {
  if (images < 2) return [images];
  const half = Math.floor(images / 2);
  return [half, images - half];
}

/** A micro-batch in bucket order: its pixels permuted to match, and the feeds `tokens.j`, `positions.j`. */
export interface BucketedBatch {
  pixels: Float32Array;
  feeds: Record<string, HostTensor>;
}

/** Length of caption row r of `tokens` [rows, ctx]: its end-of-text (the largest id, first of ties, as the tower's argmax) + 1. */
function rowLength(tokens: BigInt64Array, ctx: number, r: number): number {
  let best = 0;
  for (let j = 1; j < ctx; j++) if (tokens[r * ctx + j]! > tokens[r * ctx + best]!) best = j;
  return best + 1;
}

/**
 * Sorts the micro-batch's images by their longest caption (ties keep their order) and splits them
 * into buckets of `sizes` images: pixels [images, ...] and tokens [images * k, ctx], image i's
 * captions at rows i*k .. i*k+k-1, in and out.
 */
export function bucketCaptions(pixels: Float32Array, tokens: BigInt64Array, k: number, ctx: number, sizes: readonly number[]): BucketedBatch {
  const images = sizes.reduce((a, b) => a + b, 0);
  const per = pixels.length / images;
  const imageLength = Array.from({ length: images }, (_v, i) => {
    let m = 1;
    for (let c = 0; c < k; c++) m = Math.max(m, rowLength(tokens, ctx, i * k + c));
    return m;
  });
  const order = [...imageLength.keys()].sort((a, b) => imageLength[a]! - imageLength[b]! || a - b);
  const out = new Float32Array(pixels.length);
  order.forEach((src, dst) => out.set(pixels.subarray(src * per, (src + 1) * per), dst * per));
  const feeds: Record<string, HostTensor> = {};
  let start = 0;
  sizes.forEach((count, j) => {
    const imgs = order.slice(start, start + count);
    start += count;
    const len = Math.max(1, ...imgs.map((i) => imageLength[i]!));
    const cut = new BigInt64Array(count * k * len); // [count * k, ctx] cut to [count * k, len]
    imgs.forEach((src, a) => {
      for (let c = 0; c < k; c++) cut.set(tokens.subarray((src * k + c) * ctx, (src * k + c) * ctx + len), (a * k + c) * len);
    });
    feeds[`tokens.${j}`] = { data: cut, shape: [count * k, len] };
    feeds[`positions.${j}`] = { data: BigInt64Array.from({ length: len }, (_v, p) => BigInt(p)), shape: [len] };
  });
  return { pixels: out, feeds };
}
