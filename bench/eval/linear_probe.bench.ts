/**
 * @file Linear-probe speed on synthetic CLIP-sized features (n x 512, K classes): one objective +
 * gradient evaluation single-threaded and on all cores, full fits at three C values, and with
 * "sweep" the whole protocol (15-fit C sweep on 80% + refit on all).
 * Run: node dist/bench/eval/linear_probe.bench.js [n=50000] [K=10] [sweep]
 */
import { availableParallelism, cpus } from "node:os";
import { fitLogisticRegression, linearProbe, ProbeObjective, type ProbeData } from "../../src/eval/linear_probe.js";
import { Rng } from "../../src/util/rng.js";

/** Gaussian clusters: class means and isotropic noise of norm ~1 and ~1.5 (overlapping classes). */
function synth(n: number, dim: number, K: number, seed: number, noise: number): ProbeData {
  const rng = new Rng(seed);
  const rand = (): number => rng.next();
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const means = new Float64Array(K * dim);
  for (let i = 0; i < means.length; i++) means[i] = gauss() / Math.sqrt(dim);
  const x = new Float32Array(n * dim);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % K;
    y[i] = c;
    for (let j = 0; j < dim; j++) x[i * dim + j] = means[c * dim + j]! + (noise * gauss()) / Math.sqrt(dim);
  }
  return { x, n, dim, y, numClasses: K };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const n = Number(process.argv[2] ?? 50000);
const K = Number(process.argv[3] ?? 10);
const dim = 512;
const data = synth(n, dim, K, 1, 1.5);
console.log(`machine: ${cpus()[0]?.model ?? "?"}, ${availableParallelism()} threads; n=${n} D=${dim} K=${K}`);
const theta = new Float64Array(K * dim + K);
const g = new Float64Array(theta.length);
for (const threads of [1, availableParallelism()]) {
  const obj = new ProbeObjective(data, threads);
  const f = obj.objective(1);
  const times: number[] = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    f(theta, g);
    times.push(performance.now() - t0);
  }
  obj.close();
  const ms = median(times);
  console.log(`objective + gradient, ${threads} thread(s): median ${ms.toFixed(1)} ms (${((4 * n * dim * K) / ms / 1e6).toFixed(2)} GFLOP/s)`);
}
for (const C of [0.01, 1, 100]) {
  const t0 = performance.now();
  const fit = fitLogisticRegression(data, { C });
  const s = (performance.now() - t0) / 1000;
  console.log(`fit C=${C}: ${s.toFixed(1)} s, ${fit.iterations} iterations, ${fit.evaluations} evaluations, ${fit.message}`);
}

if (process.argv[4] === "sweep") {
  // same class means as the training set: draw more samples with the same seed, keep the tail
  const nt = Math.round(n / 5);
  const all = synth(n + nt, dim, K, 1, 1.5);
  const test: ProbeData = { x: all.x.subarray(n * dim), n: nt, dim, y: all.y.subarray(n), numClasses: K };
  const t0 = performance.now();
  let evals = 0;
  const r = linearProbe(data, test, { onFit: (p) => (evals += p.iterations) });
  console.log(
    `linear probe with sweep: ${((performance.now() - t0) / 1000).toFixed(1)} s, ${r.sweep!.points.length} sweep fits (${evals} iterations), C=${r.C.toExponential(2)}, test top-1 ${(100 * r.test.top1).toFixed(2)}%`,
  );
}
