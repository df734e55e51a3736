/**
 * @file Embedding whole evaluation datasets: batches of images through the model while the next
 * batch is read, keys, labels and captions kept aligned, results optionally cached on disk.
 */
import { InternalError, UserError } from "../errors.js";
import type { Embedder, Embeddings, PartialEmbeddings } from "../clip/embedder.js";
import { keepDecoded, skipSummary, type Dataset, type Sample, type SkipSummary } from "../data/index.js";
import { FeatureCache } from "./features.js";

/** What evaluation needs of a dataset sample (the data layer's `Sample` fits). */
export interface EvalSample {
  key: string;
  shard?: string;
  image?: Uint8Array;
  captions: string[];
  label?: number;
}

/** Image embeddings of a dataset with what each row came with. */
export interface EmbeddedImages {
  /** Raw (not normalized) image embeddings [n, dim]. */
  images: Embeddings;
  keys: string[];
  /** Class labels; present only when every sample has one. */
  labels?: Int32Array;
  /** Captions per image (empty arrays when the dataset has none). */
  captions: string[][];
  /** True when read from the feature cache. */
  cached: boolean;
  /** The dataset's skips (reader and decoding), when `dataset` was given; from the cache on a hit. */
  skipped?: SkipSummary;
  /** Seconds spent inside `encodeImages` (model execution and preprocessing); 0 when cached. */
  encodeSeconds: number;
  /** Wall seconds of the whole pass. */
  totalSeconds: number;
}

export interface EmbedDatasetOptions {
  /** Images per `encodeImages` call (default 256; the model batches further inside). */
  batchSize?: number;
  /** Stop after this many samples. */
  limit?: number;
  /** Called after each batch with the samples embedded so far. */
  onProgress?: (done: number) => void;
  /** Feature cache folder and the key of this dataset's features (model + data spec + options). */
  cache?: { dir: string; key: unknown };
  /**
   * The dataset the samples come from: an image that does not decode is then skipped and counted
   * there ("undecodable_image", naming shard and key, as training does) instead of failing the
   * pass, and its statistics become `skipped`. Without it the first bad image throws.
   */
  dataset?: Pick<Dataset, "reportBad" | "stats">;
}

/** Encodes a batch, leaving bad images out when the embedder can (else: all or the first error). */
async function encodeBatch(embedder: Embedder, batch: EvalSample[], lenient: boolean): Promise<PartialEmbeddings> {
  const images = batch.map((s) => s.image!);
  if (lenient && embedder.encodeImagesSkipping) {
    return embedder.encodeImagesSkipping(images, { normalize: false, names: batch.map((s) => (s.shard ? `${s.shard}: ${s.key}` : s.key)) });
  }
  try {
    const e = await embedder.encodeImages(images, { normalize: false });
    return { embeddings: e, ok: batch.map(() => true), errors: batch.map(() => null) };
  } catch (err) {
    if (!lenient || !(err instanceof UserError)) throw err;
  }
  // an embedder without encodeImagesSkipping: find the bad images one by one
  const ok: boolean[] = [];
  const errors: (string | null)[] = [];
  const rows: Embeddings[] = [];
  for (const img of images) {
    try {
      rows.push(await embedder.encodeImages([img], { normalize: false }));
      ok.push(true);
      errors.push(null);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      ok.push(false);
      errors.push(err.message);
    }
  }
  const dim = rows[0]?.dim ?? embedder.embedDim;
  const data = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => data.set(r.data, i * dim));
  return { embeddings: { data, n: rows.length, dim }, ok, errors };
}

/**
 * Embeds every sample's image. Reading the next batch overlaps with the model running on the
 * current one (the reader is asynchronous I/O, the model runs in native threads).
 */
export async function embedImages(embedder: Embedder, samples: AsyncIterable<EvalSample>, opts: EmbedDatasetOptions = {}): Promise<EmbeddedImages> {
  const t0 = performance.now();
  const cache = opts.cache ? new FeatureCache(opts.cache.dir) : undefined;
  const key = opts.cache ? { kind: "dataset-image-features", version: 1, limit: opts.limit ?? null, data: opts.cache.key } : undefined;
  if (cache) {
    const hit = await cache.get(key, "images");
    if (hit) {
      const m = hit.meta as { keys: string[]; labels: number[] | null; captions: string[][]; skipped?: SkipSummary };
      opts.onProgress?.(hit.emb.n);
      return {
        images: hit.emb,
        keys: m.keys,
        labels: m.labels ? Int32Array.from(m.labels) : undefined,
        captions: m.captions,
        ...(m.skipped ? { skipped: m.skipped } : {}),
        cached: true,
        encodeSeconds: 0,
        totalSeconds: (performance.now() - t0) / 1000,
      };
    }
  }

  const bs = opts.batchSize ?? 256;
  const limit = opts.limit ?? Infinity;
  const keys: string[] = [];
  const labels: number[] = [];
  let allLabeled = true;
  const captions: string[][] = [];
  const chunks: Float32Array[] = [];
  let dim = -1;
  let encodeSeconds = 0;
  let done = 0;

  const encode = async (batch: EvalSample[]): Promise<void> => {
    const t = performance.now();
    const r = await encodeBatch(embedder, batch, opts.dataset !== undefined);
    const e = r.embeddings;
    encodeSeconds += (performance.now() - t) / 1000;
    // the samples come from opts.dataset: bad ones are counted there, the rest stay aligned
    const kept = opts.dataset ? keepDecoded(opts.dataset, batch as Sample[], r.ok, r.errors) : batch.map((_s, i) => i);
    if (e.n !== kept.length) throw new InternalError(`encodeImages returned ${e.n} rows for ${kept.length} images`);
    if (e.n > 0 && dim >= 0 && e.dim !== dim) throw new InternalError(`encodeImages returned width ${e.dim}, earlier ${dim}`);
    if (e.n > 0 && dim < 0) dim = e.dim;
    for (const i of kept) {
      const s = batch[i]!;
      keys.push(s.key);
      captions.push(s.captions);
      if (s.label === undefined) allLabeled = false;
      else labels.push(s.label);
    }
    if (e.n > 0) chunks.push(e.data);
    done += batch.length;
    opts.onProgress?.(done);
  };

  let pending: Promise<void> | undefined;
  let batch: EvalSample[] = [];
  let read = 0;
  try {
    for await (const s of samples) {
      if (read >= limit) break;
      if (!s.image) throw new UserError(`sample "${s.key}"${s.shard ? ` in ${s.shard}` : ""} has no image`);
      read++;
      batch.push(s);
      if (batch.length === bs) {
        if (pending) await pending;
        pending = encode(batch);
        batch = [];
      }
    }
  } catch (e) {
    await pending?.catch(() => undefined); // the reader's error wins; do not leave a rejection unhandled
    throw e;
  }
  if (pending) await pending;
  if (batch.length > 0) await encode(batch);

  const n = keys.length;
  const skipped = opts.dataset ? skipSummary(opts.dataset.stats()) : undefined;
  if (n === 0) throw new UserError(`the dataset has no samples with usable images${skipped?.count ? ` (skipped ${skipped.count}: ${skipped.examples[0]?.message ?? ""})` : ""}`);
  const data = new Float32Array(n * dim);
  let o = 0;
  for (const c of chunks) {
    data.set(c, o);
    o += c.length;
  }
  const images: Embeddings = { data, n, dim };
  const lab = allLabeled ? Int32Array.from(labels) : undefined;
  if (cache) await cache.put(key, images, { keys, labels: lab ? Array.from(lab) : null, captions, ...(skipped ? { skipped } : {}) }, "images");
  return { images, keys, labels: lab, captions, ...(skipped ? { skipped } : {}), cached: false, encodeSeconds, totalSeconds: (performance.now() - t0) / 1000 };
}

/** Text embeddings of all captions, flattened image by image, optionally cached. */
export async function embedCaptions(
  embedder: Embedder,
  captions: string[][],
  opts: { cache?: { dir: string; key: unknown }; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ texts: Embeddings; textToImage: Int32Array; cached: boolean; encodeSeconds: number }> {
  const flat: string[] = [];
  const textToImage: number[] = [];
  captions.forEach((cs, i) => {
    for (const c of cs) {
      flat.push(c);
      textToImage.push(i);
    }
  });
  const cache = opts.cache ? new FeatureCache(opts.cache.dir) : undefined;
  const key = opts.cache ? { kind: "dataset-text-features", version: 1, data: opts.cache.key, captions: flat.length } : undefined;
  if (cache) {
    const hit = await cache.get(key, "texts");
    if (hit && hit.emb.n === flat.length) return { texts: hit.emb, textToImage: Int32Array.from(textToImage), cached: true, encodeSeconds: 0 };
  }
  const t = performance.now();
  const texts = await embedder.encodeTexts(flat, { normalize: false, onProgress: opts.onProgress });
  const encodeSeconds = (performance.now() - t) / 1000;
  if (cache) await cache.put(key, texts, {}, "texts");
  return { texts, textToImage: Int32Array.from(textToImage), cached: false, encodeSeconds };
}
