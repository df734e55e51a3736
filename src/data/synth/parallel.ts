/** @file Writing the synthetic world as shards on several threads: each worker renders and writes whole shards. */
import fs from "node:fs";
import path from "node:path";
import { startWorker } from "../../util/builtins.node.js";
import { UserError } from "../../errors.js";
import { synthClassnames, synthTemplates, synthWorld, type SynthOptions } from "./world.js";
import { writeShards, writeSidecars, type WriteShardsResult } from "../writer.js";
import type { SynthShardJob } from "./worker.js";

export interface SynthShardOptions {
  /** Worker threads; 1 renders on the calling thread. */
  threads: number;
  /** Shard file prefix (default: the split name). */
  prefix?: string;
  /** Fewest images worth a thread of its own (default: ~5000 at 64 px, scaled by pixel count). */
  minPerThread?: number;
  /** Called as shards complete, with the number of samples written so far. */
  onProgress?: (count: number) => void;
}

/**
 * Writes the first n items of a split as shards (plus sizes.json, and classnames.txt and templates
 * for a classification view). The bytes are the same for any thread count, and the same as
 * `writeShards(synthWorld(opts), ...)`.
 */
export async function writeSynthShards(opts: SynthOptions, outDir: string, shardSize: number, o: SynthShardOptions): Promise<WriteShardsResult> {
  const split = opts.split ?? "train";
  const task = opts.task ?? "none";
  const prefix = o.prefix ?? split;
  const side = { classnames: synthClassnames(task), templates: synthTemplates(task) };
  const nShards = Math.ceil(opts.n / shardSize);
  // a fresh thread renders ~1.5x slower for its first few thousand images (cold JIT, small heap):
  // give each at least ~5000 images' work (scaled by pixels) or stay on this thread
  const perThread = o.minPerThread ?? Math.max(1, Math.ceil((5000 * 64 * 64) / ((opts.size ?? 64) ** 2)));
  const threads = Math.min(o.threads, nShards, Math.ceil(opts.n / perThread));
  if (threads <= 1) {
    return writeShards(synthWorld(opts), outDir, shardSize, { prefix, ...side, onSample: (c) => c % shardSize === 0 && o.onProgress?.(c) });
  }
  fs.mkdirSync(outDir, { recursive: true });
  const jobs: SynthShardJob[] = Array.from({ length: nShards }, (_, k) => ({
    shard: k,
    file: path.join(outDir, `${prefix}-${String(k).padStart(6, "0")}.tar`),
    opts,
    start: k * shardSize,
    end: Math.min(opts.n, (k + 1) * shardSize),
  }));
  let next = 0;
  let written = 0;
  const workers = Array.from({ length: threads }, () => startWorker(new URL("./worker.js", import.meta.url)));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const give = (): void => {
              if (next >= jobs.length) return resolve();
              w.postMessage(jobs[next++]);
            };
            w.on("message", (m: { shard: number; error: string | null }) => {
              if (m.error) return reject(new UserError(`writing ${jobs[m.shard]!.file}: ${m.error}`));
              const j = jobs[m.shard]!;
              written += j.end - j.start;
              o.onProgress?.(written);
              give();
            });
            w.on("error", reject);
            give();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const sizes: Record<string, number> = {};
  for (const j of jobs) sizes[path.basename(j.file)] = j.end - j.start;
  writeSidecars(outDir, sizes, side);
  return { shards: jobs.map((j) => j.file), count: opts.n, sizes };
}
