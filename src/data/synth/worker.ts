/** @file Worker thread for the synthetic world: renders ranges of items and posts them back (image bytes transferred). */
import { parentPort } from "node:worker_threads";
import { synthSample, type SynthOptions } from "./world.js";

export interface SynthJob {
  id: number;
  opts: SynthOptions;
  start: number;
  end: number;
}

parentPort!.on("message", (job: SynthJob) => {
  const samples = [];
  const transfer: ArrayBuffer[] = [];
  for (let i = job.start; i < job.end; i++) {
    const s = synthSample(i, job.opts);
    samples.push(s);
    transfer.push(s.image!.buffer as ArrayBuffer);
  }
  parentPort!.postMessage({ id: job.id, samples }, transfer);
});
