/**
 * @file Embedding whole evaluation datasets: batches of images through the model while the next
 * batch is read, keys, labels and captions kept aligned, results optionally cached on disk.
 */
import { InternalError, UserError } from "../errors.js";
import type { Embedder, Embeddings } from "../clip/embedder.js";
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
      const m = hit.meta as { keys: string[]; labels: number[] | null; captions: string[][] };
      opts.onProgress?.(hit.emb.n);
      return {
        images: hit.emb,
        keys: m.keys,
        labels: m.labels ? Int32Array.from(m.labels) : undefined,
        captions: m.captions,
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
    const e = await embedder.encodeImages(
      batch.map((s) => s.image!),
      { normalize: false },
    );
    encodeSeconds += (performance.now() - t) / 1000;
    if (e.n !== batch.length) throw new InternalError(`encodeImages returned ${e.n} rows for ${batch.length} images`);
    if (dim >= 0 && e.dim !== dim) throw new InternalError(`encodeImages returned width ${e.dim}, earlier ${dim}`);
    if (dim < 0) dim = e.dim;
    chunks.push(e.data);
    done += batch.length;
    opts.onProgress?.(done);
  };

  let pending: Promise<void> | undefined;
  let batch: EvalSample[] = [];
  try {
    for await (const s of samples) {
      if (keys.length >= limit) break;
      if (!s.image) throw new UserError(`sample "${s.key}"${s.shard ? ` in ${s.shard}` : ""} has no image`);
      keys.push(s.key);
      captions.push(s.captions);
      if (s.label === undefined) allLabeled = false;
      else labels.push(s.label);
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
  if (n === 0) throw new UserError("the dataset has no samples with images");
  const data = new Float32Array(n * dim);
  let o = 0;
  for (const c of chunks) {
    data.set(c, o);
    o += c.length;
  }
  const images: Embeddings = { data, n, dim };
  const lab = allLabeled ? Int32Array.from(labels) : undefined;
  if (cache) await cache.put(key, images, { keys, labels: lab ? Array.from(lab) : null, captions }, "images");
  return { images, keys, labels: lab, captions, cached: false, encodeSeconds, totalSeconds: (performance.now() - t0) / 1000 };
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
