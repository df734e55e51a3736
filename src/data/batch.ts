/** @file Helpers for the workflows: batching a stream, and counting samples whose image fails to decode. */
import type { Dataset, Sample } from "./types.js";

/** Groups a stream into arrays of `size` samples (the last one shorter unless dropLast). */
export async function* batches(samples: AsyncIterable<Sample>, size: number, opts: { dropLast?: boolean } = {}): AsyncGenerator<Sample[]> {
  let batch: Sample[] = [];
  for await (const s of samples) {
    batch.push(s);
    if (batch.length === size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length && !opts.dropLast) yield batch;
}

/**
 * After decoding a batch (e.g. ImagePool.preprocessBatch with skipBad, giving `ok` and `errors`):
 * counts each failed sample in the dataset's statistics as "undecodable_image" (naming shard and
 * key) and returns the indices of the samples that decoded, so images and captions stay aligned.
 * `errors` may hold one entry per input, or one message per failed input in input order.
 */
export function keepDecoded(
  ds: Pick<Dataset, "reportBad">,
  samples: readonly Sample[],
  ok: ArrayLike<boolean | number>,
  errors?: ArrayLike<string | Error | null | undefined>,
): number[] {
  const kept: number[] = [];
  const perInput = errors !== undefined && errors.length === samples.length;
  let failed = 0;
  for (let i = 0; i < samples.length; i++) {
    if (ok[i]) {
      kept.push(i);
      continue;
    }
    const e = errors?.[perInput ? i : failed];
    failed++;
    ds.reportBad(samples[i]!, "undecodable_image", e ? `image does not decode: ${e instanceof Error ? e.message : e}` : "image does not decode");
  }
  return kept;
}

/** Decodes one sample's image with `decode`; on failure counts it ("undecodable_image") and returns undefined. */
export async function decodeOrSkip<T>(ds: Pick<Dataset, "reportBad">, sample: Sample, decode: (s: Sample) => Promise<T>): Promise<T | undefined> {
  try {
    return await decode(sample);
  } catch (e) {
    ds.reportBad(sample, "undecodable_image", `image does not decode: ${(e as Error).message}`);
    return undefined;
  }
}
