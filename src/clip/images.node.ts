/**
 * @file The image side both embedders share (ClipModel in this thread, ThreadedClipModel in a
 * worker): encoded images decoded in batches on an ImagePool while the model embeds the batch
 * before, and mixed inputs (paths, bytes, decoded RGB) turned into one pixel tensor. Each embedder
 * passes only how it runs one batch.
 */
import type { PreprocessConfig, RGBImage } from "../image/config.js";
import type { ImagePool } from "../image/pool.node.js";
import { preprocessRGB } from "../image/transform.js";
import { normalizeRows } from "../util/vector.js";
import type { EncodeOptions, Embeddings } from "./embedder.js";

/** A path or a file's bytes: decoded on the pool's threads (anything else is decoded RGB already). */
export const isEncoded = (x: string | Uint8Array | RGBImage): x is string | Uint8Array => typeof x === "string" || x instanceof Uint8Array;

/**
 * Embeds encoded images batch by batch (`batchSize`): the pool decodes the next batch into one of
 * two reused buffers while `run` embeds the current one from the other. `run(pixels, n)` gets
 * [n, 3, S, S] pixels and returns the raw rows [n, dim]; the result is L2-normalized unless
 * `opts.normalize` is false.
 */
export async function embedEncoded(
  pool: ImagePool,
  images: (string | Uint8Array)[],
  batchSize: number,
  dim: number,
  run: (pixels: Float32Array, n: number) => Promise<Float32Array>,
  opts: EncodeOptions = {},
): Promise<Embeddings> {
  const out = new Float32Array(images.length * dim);
  const rows = Math.min(batchSize, images.length);
  const buffers = [pool.allocBatch(rows), pool.allocBatch(rows)];
  const per = buffers[0]!.length / Math.max(rows, 1); // 3 * S * S
  const prepare = (i: number): Promise<{ pixels: Float32Array }> | undefined => {
    if (i >= images.length) return undefined;
    const p = pool.preprocessBatch(images.slice(i, i + batchSize), { out: buffers[(i / batchSize) % 2] });
    p.catch(() => undefined); // reported when awaited
    return p;
  };
  let next = prepare(0);
  for (let i = 0; i < images.length; i += batchSize) {
    const n = Math.min(batchSize, images.length - i);
    const { pixels } = await next!;
    // the buffer refilled next is the other one: this batch's stays untouched until its run ends
    next = prepare(i + batchSize);
    out.set(await run(pixels.subarray(0, n * per), n), i * dim);
    opts.onProgress?.(i + n, images.length);
  }
  if (opts.normalize !== false) normalizeRows(out, dim);
  return { data: out, n: images.length, dim };
}

/** Pixels [n, 3, S, S] of mixed inputs, in their order: encoded ones through the pool, decoded RGB ones preprocessed here. */
export async function mixedPixels(inputs: (string | Uint8Array | RGBImage)[], cfg: PreprocessConfig, pool: () => ImagePool): Promise<Float32Array> {
  const per = 3 * cfg.size * cfg.size;
  const pixels = new Float32Array(inputs.length * per);
  const encoded = inputs.flatMap((x, i) => (isEncoded(x) ? [i] : []));
  if (encoded.length) {
    const r = await pool().preprocessBatch(encoded.map((i) => inputs[i] as string | Uint8Array));
    encoded.forEach((i, j) => pixels.set(r.pixels.subarray(j * per, (j + 1) * per), i * per));
  }
  inputs.forEach((x, i) => {
    if (!isEncoded(x)) preprocessRGB(x, cfg, pixels, i * per);
  });
  return pixels;
}
