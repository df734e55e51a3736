/** @file Worker thread of ImagePool: decodes and preprocesses images straight into the shared batch. */
import { parentPort } from "node:worker_threads";
import { InternalError } from "../errors.js";
import type { PreprocessConfig, RGBImage } from "./config.js";
import { decodeImageSync } from "./decode.js";
import { decodeImage, readImageFile } from "./decode.node.js";
import { itemRng, preprocessRGB, randomResizedCrop } from "./transform.js";
import { scratchU8 } from "./scratch.js";
import { preprocessBytesSync } from "./pipeline.js";

export interface WorkerItem {
  index: number;
  input: string | Uint8Array;
  name: string;
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
}

/**
 * Decode + preprocess one item into the shared batch: synchronously with per-thread scratch
 * buffers when our own decoders read the format, else through sharp.
 */
async function runItem(job: WorkerJob, item: WorkerItem, out: Float32Array): Promise<void> {
  const opts = { name: item.name, applyExif: job.applyExif, maxPixels: job.maxPixels };
  const bytes = typeof item.input === "string" ? await readImageFile(item.input, item.name) : item.input;
  const offset = job.base + item.index * 3 * job.cfg.size * job.cfg.size;
  if (job.seed === null) {
    if (preprocessBytesSync(bytes, job.cfg, out, offset, opts)) return;
    preprocessRGB(await decodeImage(bytes, opts), job.cfg, out, offset);
    return;
  }
  const img: RGBImage = decodeImageSync(bytes, opts, (n) => scratchU8("worker.rgb", n)) ?? (await decodeImage(bytes, opts));
  randomResizedCrop(img, job.cfg, itemRng(job.seed, item.index), job.scale, job.ratio, out, offset, job.hflip, job.gray);
}

if (!parentPort) throw new InternalError("image worker started outside a worker thread");
const port = parentPort;
async function runJob(job: WorkerJob): Promise<PromiseSettledResult<void>[]> {
  const out = new Float32Array(job.pixels);
  const settled: PromiseSettledResult<void>[] = [];
  // one item at a time (a job's items in order; jobs interleave only at awaits, and no scratch
  // buffer is held across an await)
  for (const item of job.items) {
    try {
      await runItem(job, item, out);
      settled.push({ status: "fulfilled", value: undefined });
    } catch (reason) {
      settled.push({ status: "rejected", reason });
    }
  }
  return settled;
}

port.on("message", (job: WorkerJob) => {
  void runJob(job).then((settled) => {
    const reply: WorkerReply = { id: job.id, errors: [], userErrors: [] };
    for (const s of settled) {
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
