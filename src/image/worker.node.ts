/** @file Worker thread of ImagePool: decodes and preprocesses images straight into the shared batch. */
import { parentPort } from "node:worker_threads";
import { InternalError } from "../errors.js";
import type { PreprocessConfig, RGBImage, SourceMode } from "./config.js";
import { decodeImageSync } from "./decode.js";
import { decodeImage, readImageFile } from "./decode.node.js";
import { itemRng, preprocessRGB, randomResizedCrop } from "./transform.js";
import { scratchU8 } from "./scratch.js";
import { preprocessBytesSync } from "./pipeline.js";

/** A decoded image kept by the pool (ImagePoolOptions.decodedCache): plain RGB bytes on shared memory. */
export interface DecodedImage {
  rgb: SharedArrayBuffer;
  width: number;
  height: number;
  mode?: SourceMode;
}

export interface WorkerItem {
  index: number;
  input: string | Uint8Array;
  name: string;
  /** The image decoded before: the worker crops it instead of decoding `input`. */
  decoded?: DecodedImage;
  /** Send the decoded image back (when it is plain RGB) for the pool to keep. */
  keep?: boolean;
}

export interface WorkerJob {
  id: number;
  cfg: PreprocessConfig;
  pixels: SharedArrayBuffer;
  /** Float index in `pixels` where image 0 starts. */
  base: number;
  items: WorkerItem[];
  /** Seed for augmentation; null for the evaluation transform. */
  seed: number | null;
  /** Random resized crop ranges: area fraction and aspect ratio. */
  scale: [number, number];
  ratio: [number, number];
  /** Probability of a horizontal flip after the crop. */
  hflip: number;
  /** Probability of turning the image gray after the flip. */
  gray: number;
  applyExif: boolean;
  maxPixels: number;
}

export interface WorkerReply {
  id: number;
  /** Per item, in job order: null when it succeeded, else the error message. */
  errors: (string | null)[];
  /** Whether each error is a user error (bad file) rather than our bug. */
  userErrors: boolean[];
  /** Per item: the decoded image when the item asked to `keep` it and it is plain RGB, else null. */
  decoded: (DecodedImage | null)[];
}

/**
 * Decode + preprocess one item into the shared batch: synchronously with per-thread scratch
 * buffers when our own decoders read the format, else through sharp.
 */
async function runItem(job: WorkerJob, item: WorkerItem, out: Float32Array): Promise<DecodedImage | null> {
  const offset = job.base + item.index * 3 * job.cfg.size * job.cfg.size;
  const crop = (img: RGBImage): void => {
    randomResizedCrop(img, job.cfg, itemRng(job.seed!, item.index), job.scale, job.ratio, out, offset, job.hflip, job.gray);
  };
  if (item.decoded && job.seed !== null) {
    const d = item.decoded;
    crop({ width: d.width, height: d.height, data: new Uint8Array(d.rgb), ...(d.mode ? { mode: d.mode } : {}) });
    return null;
  }
  const opts = { name: item.name, applyExif: job.applyExif, maxPixels: job.maxPixels };
  const bytes = typeof item.input === "string" ? await readImageFile(item.input, item.name) : item.input;
  if (job.seed === null) {
    if (preprocessBytesSync(bytes, job.cfg, out, offset, opts)) return null;
    preprocessRGB(await decodeImage(bytes, opts), job.cfg, out, offset);
    return null;
  }
  const img: RGBImage = decodeImageSync(bytes, opts, (n) => scratchU8("worker.rgb", n)) ?? (await decodeImage(bytes, opts));
  crop(img);
  if (!item.keep || img.alpha || img.gray32 || img.cmyk) return null;
  // a copy of exactly the image's bytes on shared memory (the decoder may have written into a larger scratch buffer)
  const rgb = new SharedArrayBuffer(img.width * img.height * 3);
  new Uint8Array(rgb).set(img.data.subarray(0, rgb.byteLength));
  return { rgb, width: img.width, height: img.height, ...(img.mode ? { mode: img.mode } : {}) };
}

if (!parentPort) throw new InternalError("image worker started outside a worker thread");
const port = parentPort;
async function runJob(job: WorkerJob): Promise<PromiseSettledResult<DecodedImage | null>[]> {
  const out = new Float32Array(job.pixels);
  const settled: PromiseSettledResult<DecodedImage | null>[] = [];
  // one item at a time (a job's items in order; jobs interleave only at awaits, and no scratch
  // buffer is held across an await)
  for (const item of job.items) {
    try {
      settled.push({ status: "fulfilled", value: await runItem(job, item, out) });
    } catch (reason) {
      settled.push({ status: "rejected", reason });
    }
  }
  return settled;
}

port.on("message", (job: WorkerJob) => {
  void runJob(job).then((settled) => {
    const reply: WorkerReply = { id: job.id, errors: [], userErrors: [], decoded: [] };
    for (const s of settled) {
      reply.decoded.push(s.status === "fulfilled" ? s.value : null);
      if (s.status === "fulfilled") {
        reply.errors.push(null);
        reply.userErrors.push(false);
      } else {
        const e = s.reason as Error;
        reply.errors.push(e?.message ?? String(e));
        reply.userErrors.push(e?.name === "UserError");
      }
    }
    port.postMessage(reply);
  });
});
