/**
 * @file Worker thread of the linear probe's objective: waits for a new generation of parameters
 * in shared memory, computes its chunks' loss and gradient partial sums, reports done.
 * Protocol (Int32 control words): [GEN] bumped by the main thread per evaluation (-1: exit),
 * [DONE] incremented by each worker when its chunks are written.
 */
import { workerData } from "node:worker_threads";
import { CHUNKS, chunkRange, DONE, GEN, lossGradRange, type ProbeWorkerData } from "./probe_kernel.js";

function run(w: ProbeWorkerData): void {
  const P = w.K * w.D + w.K;
  const z = new Float64Array(4 * w.K);
  let seen = 0;
  for (;;) {
    Atomics.wait(w.ctrl, GEN, seen);
    const gen = Atomics.load(w.ctrl, GEN);
    if (gen < 0) return;
    seen = gen;
    for (let c = w.index; c < CHUNKS; c += w.stride) {
      const g = w.partials.subarray(c * P, (c + 1) * P);
      g.fill(0);
      const [s, e] = chunkRange(w.n, c);
      w.losses[c] = lossGradRange(w.x, w.y, w.D, w.K, w.theta, g, s, e, z);
    }
    Atomics.add(w.ctrl, DONE, 1);
    Atomics.notify(w.ctrl, DONE);
  }
}

if (workerData) run(workerData as ProbeWorkerData);
