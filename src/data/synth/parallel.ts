/** @file Rendering the synthetic world on several threads, in item order (same bytes as one thread). */
import { Worker } from "node:worker_threads";
import type { Sample } from "../types.js";
import { synthWorld, type SynthOptions } from "./world.js";
import type { SynthJob } from "./worker.js";

const CHUNK = 64;

/** The first n items of a split, rendered by `threads` worker threads; identical to synthWorld(opts). */
export async function* synthWorldParallel(opts: SynthOptions, threads: number): AsyncGenerator<Sample> {
  if (threads <= 1 || opts.n <= CHUNK) {
    yield* synthWorld(opts);
    return;
  }
  const workers = Array.from({ length: threads }, () => new Worker(new URL("./worker.js", import.meta.url)));
  const waiting = new Map<number, (s: Sample[]) => void>();
  let failure: Error | null = null;
  for (const w of workers) {
    w.on("message", (m: { id: number; samples: Sample[] }) => {
      waiting.get(m.id)?.(m.samples);
      waiting.delete(m.id);
    });
    w.on("error", (e) => {
      failure = e;
      for (const resolve of waiting.values()) resolve([]);
    });
  }
  const jobs: Promise<Sample[]>[] = [];
  let next = 0;
  const submit = (): void => {
    if (next >= opts.n) return;
    const job: SynthJob = { id: jobs.length, opts, start: next, end: Math.min(opts.n, next + CHUNK) };
    next = job.end;
    jobs.push(new Promise((resolve) => waiting.set(job.id, resolve)));
    workers[job.id % threads]!.postMessage(job);
  };
  try {
    for (let k = 0; k < threads * 3; k++) submit(); // keep every thread busy
    for (let j = 0; j < jobs.length; j++) {
      const samples = await jobs[j]!;
      if (failure) throw failure;
      submit();
      for (const s of samples) {
        s.image = new Uint8Array(s.image!.buffer, s.image!.byteOffset, s.image!.byteLength);
        yield s;
      }
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
