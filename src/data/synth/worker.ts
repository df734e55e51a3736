/** @file Worker thread for the synthetic world: renders whole shards and writes them itself (no per-image messages). */
import { parentPort } from "node:worker_threads";
import { TarWriter } from "../tar.js";
import { addSample } from "../writer.js";
import { synthSample, type SynthOptions } from "./world.js";

export interface SynthShardJob {
  shard: number;
  file: string;
  opts: SynthOptions;
  start: number;
  end: number;
}

parentPort!.on("message", (job: SynthShardJob) => {
  try {
    const w = new TarWriter(job.file);
    for (let i = job.start; i < job.end; i++) {
      const s = synthSample(i, job.opts);
      addSample(w, s.key, s);
    }
    w.close();
    parentPort!.postMessage({ shard: job.shard, error: null });
  } catch (e) {
    parentPort!.postMessage({ shard: job.shard, error: (e as Error).message });
  }
});
