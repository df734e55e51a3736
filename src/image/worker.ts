/** @file Worker thread of ImagePool: decodes and preprocesses images straight into the shared batch. */
import { parentPort } from "node:worker_threads";
import { InternalError } from "../errors.js";
import type { PreprocessConfig } from "./config.js";
import { decodeImage } from "./decode.js";
import { preprocessRGB, randomResizedCrop } from "./transform.js";
import { Rng } from "../util/rng.js";

export interface WorkerItem {
  index: number;
  input: string | Uint8Array;
  name: string;
}

export interface WorkerJob {
  id: number;
  cfg: PreprocessConfig;
  pixels: SharedArrayBuffer;
  items: WorkerItem[];
  /** Seed for augmentation; null for the evaluation transform. */
  seed: number | null;
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

/** Per-image generator for augmentation: depends only on (seed, index), not on scheduling. */
export function itemRng(seed: number, index: number): Rng {
  return new Rng((Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
}

async function runItem(job: WorkerJob, item: WorkerItem, out: Float32Array): Promise<void> {
  const img = await decodeImage(item.input, { name: item.name, applyExif: job.applyExif, maxPixels: job.maxPixels });
  const offset = item.index * 3 * job.cfg.size * job.cfg.size;
  if (job.seed === null) preprocessRGB(img, job.cfg, out, offset);
  else randomResizedCrop(img, job.cfg, itemRng(job.seed, item.index), undefined, undefined, out, offset);
}

if (!parentPort) throw new InternalError("image worker started outside a worker thread");
const port = parentPort;
port.on("message", (job: WorkerJob) => {
  const out = new Float32Array(job.pixels);
  void Promise.allSettled(job.items.map((item) => runItem(job, item, out))).then((settled) => {
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
