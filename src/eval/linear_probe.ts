/**
 * @file Linear probe on frozen features, the CLIP paper's protocol: L2-regularized multinomial
 * logistic regression fit by L-BFGS, with the regularization strength chosen on a held-out part of
 * the training set and the model then refit on all of it; also few-shot (k samples per class).
 *
 * Objective, identical to scikit-learn's LogisticRegression(C, lbfgs, fit_intercept=True) with
 * multinomial loss (intercepts not penalized):
 *     sum_i -log softmax(W x_i + b)[y_i]  +  1/(2C) * ||W||_F^2
 * optimized divided by n (same minimizer, better scaled; sklearn 1.2's lbfgs path minimizes the
 * sum itself, so its `tol` on the gradient is n times stricter than ours; the fits still agree to
 * a fraction of a point of accuracy, see test/eval/linear_probe.test.ts). With two classes sklearn fits
 * a single binary logistic model instead; that is the 2-class multinomial problem with C/2 (the
 * symmetric solution w1 = -w0 = w/2 halves the penalty), which is what we solve, reporting
 * w = w1 - w0 and b = b1 - b0 like sklearn's `coef_` [1, D] and `intercept_` [1].
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { startWorker } from "../util/builtins.node.js";
import { InternalError, UserError } from "../errors.js";
import { Rng } from "../util/rng.js";
import { lbfgs } from "./lbfgs.js";
import { CHUNKS, chunkRange, DONE, GEN, lossGradRange, type ProbeWorkerData } from "./probe_kernel.js";
import { classificationMetrics, type ClassificationMetrics } from "./metrics.js";

export type FloatArray = Float32Array | Float64Array;

/** Row-major features [n, dim] with class labels in [0, numClasses). */
export interface ProbeData {
  x: FloatArray;
  n: number;
  dim: number;
  y: Int32Array;
  numClasses: number;
}

/** A multinomial logistic regression: weights [numClasses, dim] and biases, as scikit-learn's coef_ and intercept_. */
export interface LogRegModel {
  numClasses: number;
  dim: number;
  C: number;
  /** [rows, dim]: rows = numClasses, or 1 for a binary problem (sklearn's `coef_`). */
  coef: Float64Array;
  /** [rows] (sklearn's `intercept_`). */
  intercept: Float64Array;
}

/** Options of one L2-regularized multinomial logistic regression fit (`fitLogisticRegression`). */
export interface FitOptions {
  /** Inverse regularization strength (sklearn's C). */
  C: number;
  /** L-BFGS iterations (default 1000, the paper's setting). */
  maxIter?: number;
  /** Stop when max |gradient| of the n-scaled objective is <= tol (default 1e-4). */
  tol?: number;
  /** Warm start: the parameters of an earlier fit on the same classes and width. */
  init?: LogRegModel;
  /** Threads for the objective (default: 1 for small problems, else all cores). */
  threads?: number;
  /** An objective over this same data to reuse (its worker threads stay up between fits). */
  objective?: ProbeObjective;
  onIter?: (iter: number, f: number, gmax: number) => void;
}

/** A fitted logistic regression and how the optimizer ended. */
export interface FitResult {
  model: LogRegModel;
  /** The objective in sklearn's (sum) form at the solution. */
  objective: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  message: string;
}

/** Checks shapes and labels of probe data. */
export function checkProbeData(d: ProbeData, what: string): void {
  if (d.x.length !== d.n * d.dim) throw new InternalError(`${what}: features length ${d.x.length} is not n*dim = ${d.n}*${d.dim}`);
  if (d.y.length !== d.n) throw new InternalError(`${what}: ${d.y.length} labels for ${d.n} samples`);
  if (d.numClasses < 2) throw new UserError(`${what}: a linear probe needs at least 2 classes, got ${d.numClasses}`);
  for (let i = 0; i < d.n; i++) {
    const c = d.y[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= d.numClasses) throw new UserError(`${what}: sample ${i} has class ${c}, outside [0, ${d.numClasses})`);
  }
}

/**
 * Summed loss and gradient over all samples, computed in CHUNKS fixed chunks whose partial sums
 * are added in chunk order (bit-identical for any thread count). With threads > 1, chunks are
 * shared between the calling thread and threads - 1 workers over shared memory; the calling
 * thread blocks (Atomics.wait) until they are done, so the objective stays a plain function.
 */
export class ProbeObjective {
  readonly K: number;
  readonly threads: number;
  private readonly P: number;
  private readonly x: FloatArray;
  private readonly y: Int32Array;
  private readonly theta: Float64Array;
  private readonly partials: Float64Array;
  private readonly losses: Float64Array;
  private readonly ctrl: Int32Array;
  private readonly z: Float64Array;
  private workers: Worker[] = [];

  constructor(
    private readonly data: ProbeData,
    threads = 1,
  ) {
    const { n, dim: D, numClasses: K } = data;
    this.K = K;
    this.P = K * D + K;
    this.threads = Math.max(1, Math.min(Math.floor(threads), CHUNKS));
    this.z = new Float64Array(4 * K);
    if (this.threads === 1) {
      this.x = data.x;
      this.y = data.y;
      this.theta = new Float64Array(this.P);
      this.partials = new Float64Array(this.P);
      this.losses = new Float64Array(1);
      this.ctrl = new Int32Array(2);
      return;
    }
    const shared = <T extends Float32Array | Float64Array | Int32Array>(ctor: { new (b: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number }, len: number): T =>
      new ctor(new SharedArrayBuffer(len * ctor.BYTES_PER_ELEMENT));
    const x: FloatArray = data.x instanceof Float64Array ? shared(Float64Array, n * D) : shared(Float32Array, n * D);
    x.set(data.x);
    const y = shared(Int32Array, n);
    y.set(data.y);
    this.x = x;
    this.y = y;
    this.theta = shared(Float64Array, this.P);
    this.partials = shared(Float64Array, CHUNKS * this.P);
    this.losses = shared(Float64Array, CHUNKS);
    this.ctrl = shared(Int32Array, 2);
    for (let w = 1; w < this.threads; w++) {
      const wd: ProbeWorkerData = { x, y, n, D, K, theta: this.theta, partials: this.partials, losses: this.losses, ctrl: this.ctrl, index: w, stride: this.threads };
      const worker = startWorker(new URL("./probe_worker.js", import.meta.url), { workerData: wd });
      worker.unref();
      this.workers.push(worker);
    }
  }

  /** Summed loss; the summed (unscaled, unregularized) gradient into g. */
  evaluate(theta: Float64Array, g: Float64Array): number {
    const { n, dim: D } = this.data;
    const P = this.P;
    g.fill(0);
    let loss = 0;
    if (this.threads === 1) {
      const part = this.partials;
      for (let c = 0; c < CHUNKS; c++) {
        const [s, e] = chunkRange(n, c);
        if (s === e) continue;
        part.fill(0);
        loss += lossGradRange(this.x, this.y, D, this.K, theta, part, s, e, this.z);
        for (let q = 0; q < P; q++) g[q]! += part[q]!;
      }
      return loss;
    }
    this.theta.set(theta);
    Atomics.store(this.ctrl, DONE, 0);
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
    // this thread takes chunks 0, threads, 2*threads, ...
    for (let c = 0; c < CHUNKS; c += this.threads) {
      const part = this.partials.subarray(c * P, (c + 1) * P);
      part.fill(0);
      const [s, e] = chunkRange(n, c);
      this.losses[c] = lossGradRange(this.x, this.y, D, this.K, this.theta, part, s, e, this.z);
    }
    const others = this.threads - 1;
    for (let done = Atomics.load(this.ctrl, DONE); done < others; done = Atomics.load(this.ctrl, DONE)) {
      if (Atomics.wait(this.ctrl, DONE, done, 60_000) === "timed-out" && Atomics.load(this.ctrl, DONE) === done) {
        throw new InternalError("linear probe worker threads stopped responding");
      }
    }
    for (let c = 0; c < CHUNKS; c++) {
      const [s, e] = chunkRange(n, c);
      if (s === e) continue;
      loss += this.losses[c]!;
      const o = c * P;
      for (let q = 0; q < P; q++) g[q]! += this.partials[o + q]!;
    }
    return loss;
  }

  /**
   * The n-scaled objective at C, as L-BFGS minimizes it:
   * (1/n) sum_i (logsumexp(z_i) - z_i[y_i]) + lambda/2 ||W||^2 with lambda = 1/(C n).
   */
  objective(C: number): (theta: Float64Array, g: Float64Array) => number {
    const n = this.data.n;
    const KD = this.K * this.data.dim;
    const lambda = 1 / (C * n);
    const invN = 1 / n;
    return (theta, g) => {
      const loss = this.evaluate(theta, g);
      let reg = 0;
      for (let q = 0; q < KD; q++) {
        reg += theta[q]! * theta[q]!;
        g[q] = g[q]! * invN + lambda * theta[q]!;
      }
      for (let k = KD; k < KD + this.K; k++) g[k]! *= invN;
      return loss * invN + 0.5 * lambda * reg;
    };
  }

  /** Stops the workers. */
  close(): void {
    if (this.workers.length === 0) return;
    Atomics.store(this.ctrl, GEN, -1);
    Atomics.notify(this.ctrl, GEN);
    for (const w of this.workers) void w.terminate();
    this.workers = [];
  }
}

/** Threads worth using for n x D x K work: 1 below ~4M multiply-adds per evaluation, else all cores (at most CHUNKS). */
export function defaultThreads(n: number, D: number, K: number): number {
  return n * D * K < 4_000_000 ? 1 : Math.min(CHUNKS, availableParallelism());
}

/** Single-threaded n-scaled objective at C (see ProbeObjective.objective). */
export function makeObjective(data: ProbeData, C: number): (theta: Float64Array, g: Float64Array) => number {
  return new ProbeObjective(data, 1).objective(C);
}

/** theta [W (K x D), b (K)] of the internal multinomial parametrization from a model. */
function thetaFromModel(m: LogRegModel, K: number, D: number): Float64Array {
  const theta = new Float64Array(K * D + K);
  if (m.coef.length === K * D) {
    theta.set(m.coef, 0);
    theta.set(m.intercept, K * D);
  } else {
    // binary model w, b -> symmetric w1 = w/2, w0 = -w/2
    for (let j = 0; j < D; j++) {
      theta[j] = -0.5 * m.coef[j]!;
      theta[D + j] = 0.5 * m.coef[j]!;
    }
    theta[2 * D] = -0.5 * m.intercept[0]!;
    theta[2 * D + 1] = 0.5 * m.intercept[0]!;
  }
  return theta;
}

/** Fits the probe at one C. */
export function fitLogisticRegression(data: ProbeData, opts: FitOptions): FitResult {
  checkProbeData(data, "linear probe");
  if (!(opts.C > 0) || !Number.isFinite(opts.C)) throw new UserError(`linear probe: C must be a positive number, got ${opts.C}`);
  if (data.n === 0) throw new UserError("linear probe: no training samples");
  const K = data.numClasses;
  const D = data.dim;
  const binary = K === 2;
  const Cint = binary ? opts.C / 2 : opts.C;
  const pool = opts.objective ?? new ProbeObjective(data, opts.threads ?? defaultThreads(data.n, D, K));
  let res;
  try {
    const init = opts.init && opts.init.dim === D && opts.init.numClasses === K ? thetaFromModel(opts.init, K, D) : new Float64Array(K * D + K);
    res = lbfgs(pool.objective(Cint), init, { maxIter: opts.maxIter ?? 1000, gtol: opts.tol ?? 1e-4, onIter: opts.onIter });
  } finally {
    if (!opts.objective) pool.close();
  }
  const th = res.x;
  let coef: Float64Array;
  let intercept: Float64Array;
  if (binary) {
    coef = new Float64Array(D);
    for (let j = 0; j < D; j++) coef[j] = th[D + j]! - th[j]!;
    intercept = Float64Array.of(th[2 * D + 1]! - th[2 * D]!);
  } else {
    coef = th.slice(0, K * D);
    intercept = th.slice(K * D);
  }
  return {
    model: { numClasses: K, dim: D, C: opts.C, coef, intercept },
    objective: res.f * data.n,
    iterations: res.iterations,
    evaluations: res.evaluations,
    converged: res.converged,
    message: res.message,
  };
}

/** [n, numClasses] decision scores (logits; for a binary model column 0 is 0 and column 1 is w·x + b). */
export function decisionScores(model: LogRegModel, x: FloatArray, n: number): Float64Array {
  const D = model.dim;
  const K = model.numClasses;
  if (x.length !== n * D) throw new InternalError(`decisionScores: features length ${x.length} is not n*dim = ${n}*${D}`);
  const rows = model.coef.length / D;
  const out = new Float64Array(n * K);
  for (let i = 0; i < n; i++) {
    const xo = i * D;
    for (let r = 0; r < rows; r++) {
      let s = model.intercept[r]!;
      const wo = r * D;
      for (let j = 0; j < D; j++) s += model.coef[wo + j]! * x[xo + j]!;
      if (rows === 1) out[i * K + 1] = s;
      else out[i * K + r] = s;
    }
  }
  return out;
}

/** Predicted classes (arg-max, ties to the lower class index). */
export function predict(model: LogRegModel, x: FloatArray, n: number): Int32Array {
  const s = decisionScores(model, x, n);
  const K = model.numClasses;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (s[i * K + k]! > s[i * K + best]!) best = k;
    out[i] = best;
  }
  return out;
}

/** Fraction of correct predictions. */
export function accuracy(model: LogRegModel, data: ProbeData): number {
  const p = predict(model, data.x, data.n);
  let c = 0;
  for (let i = 0; i < data.n; i++) if (p[i] === data.y[i]) c++;
  return data.n > 0 ? c / data.n : NaN;
}

/** Mean negative log-likelihood (used to break accuracy ties in the sweep). */
export function meanLogLoss(model: LogRegModel, data: ProbeData): number {
  const s = decisionScores(model, data.x, data.n);
  const K = model.numClasses;
  let loss = 0;
  for (let i = 0; i < data.n; i++) {
    let mx = -Infinity;
    for (let k = 0; k < K; k++) mx = Math.max(mx, s[i * K + k]!);
    let se = 0;
    for (let k = 0; k < K; k++) se += Math.exp(s[i * K + k]! - mx);
    loss += mx + Math.log(se) - s[i * K + data.y[i]!]!;
  }
  return data.n > 0 ? loss / data.n : NaN;
}

// ---------------------------------------------------------------------------------------------
// Seeded sampling

/** Sample indices of each class, in dataset order. */
function indicesByClass(y: Int32Array, K: number): Int32Array[] {
  const counts = new Int32Array(K);
  for (let i = 0; i < y.length; i++) counts[y[i]!]!++;
  const out = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(K);
  for (let i = 0; i < y.length; i++) out[y[i]!]![fill[y[i]!]!++] = i;
  return out;
}

/** Copies the rows `idx` (in the order given) into a new ProbeData. */
export function subset(data: ProbeData, idx: ArrayLike<number>): ProbeData {
  const D = data.dim;
  const x = new Float32Array(idx.length * D);
  const y = new Int32Array(idx.length);
  for (let r = 0; r < idx.length; r++) {
    const i = idx[r]!;
    for (let j = 0; j < D; j++) x[r * D + j] = data.x[i * D + j]!;
    y[r] = data.y[i]!;
  }
  return { x, n: idx.length, dim: D, y, numClasses: data.numClasses };
}

export interface FewShotSelection {
  /** Selected sample indices, ascending. */
  indices: Int32Array;
  /** Samples taken per class (less than k where a class has fewer). */
  perClass: number[];
}

/**
 * k samples per class, chosen uniformly at random with a seeded PRNG (`Rng(seed)`; each
 * class's indices shuffled by Fisher-Yates in class order, the first k kept). A class with fewer
 * than k samples contributes all of them.
 */
export function fewShotIndices(y: Int32Array, numClasses: number, k: number, seed = 0): FewShotSelection {
  if (!Number.isInteger(k) || k < 1) throw new UserError(`few-shot: k must be a positive integer, got ${k}`);
  const rng = new Rng(seed);
  const chosen: number[] = [];
  const perClass: number[] = [];
  for (const idx of indicesByClass(y, numClasses)) {
    const a = idx.slice();
    rng.shuffle(a);
    const take = Math.min(k, a.length);
    perClass.push(take);
    for (let i = 0; i < take; i++) chosen.push(a[i]!);
  }
  return { indices: Int32Array.from(chosen.sort((p, q) => p - q)), perClass };
}

/**
 * Stratified, seeded train/validation split for the C sweep: per class, round(count * valFraction)
 * samples go to validation, at least one when the class has two or more, and never all of them.
 */
export function stratifiedSplit(y: Int32Array, numClasses: number, valFraction: number, seed = 0): { train: Int32Array; val: Int32Array } {
  if (!(valFraction > 0 && valFraction < 1)) throw new UserError(`validation fraction must be in (0, 1), got ${valFraction}`);
  const rng = Rng.from(seed, "stratified-split");
  const train: number[] = [];
  const val: number[] = [];
  for (const idx of indicesByClass(y, numClasses)) {
    const a = idx.slice();
    rng.shuffle(a);
    const c = a.length;
    const nVal = c >= 2 ? Math.min(c - 1, Math.max(1, Math.round(c * valFraction))) : 0;
    for (let i = 0; i < c; i++) (i < nVal ? val : train).push(a[i]!);
  }
  return { train: Int32Array.from(train.sort((p, q) => p - q)), val: Int32Array.from(val.sort((p, q) => p - q)) };
}

// ---------------------------------------------------------------------------------------------
// The C sweep (CLIP paper, appendix A.3)

export interface SweepOptions {
  /** log10 C of the first grid (default [-6, -4, -2, 0, 2, 4, 6]). */
  initialLogC?: number[];
  /** Stop halving the spacing at 1/stepsPerDecade decades (default 8). */
  stepsPerDecade?: number;
  maxIter?: number;
  tol?: number;
  /** Threads of the objective (default: 1 for small problems, else all cores). */
  threads?: number;
  /** Called after each fit. */
  onFit?: (point: SweepPoint) => void;
}

export interface SweepPoint {
  C: number;
  log10C: number;
  valAccuracy: number;
  valLogLoss: number;
  iterations: number;
  converged: boolean;
}

export interface SweepResult {
  bestC: number;
  best: SweepPoint;
  /** Every evaluated point, in evaluation order. */
  points: SweepPoint[];
}

/** a is better than b: higher validation accuracy, then lower validation log-loss, then smaller C. */
function better(a: SweepPoint, b: SweepPoint): boolean {
  if (a.valAccuracy !== b.valAccuracy) return a.valAccuracy > b.valAccuracy;
  if (a.valLogLoss !== b.valLogLoss) return a.valLogLoss < b.valLogLoss;
  return a.log10C < b.log10C;
}

/**
 * The paper's parametric binary search: fit on `train`, score on `val` over the grid
 * C = 10^[-6, -4, ..., 6], then repeatedly evaluate the two points halfway between the best one
 * and its neighbours at the current spacing, halving the spacing until it reaches
 * 1/stepsPerDecade decades (2 -> 1 -> 0.5 -> 0.25 -> 0.125: 7 + 8 fits). Each fit starts from
 * the solution of the nearest C already fitted (same minimum, fewer iterations).
 */
export function sweepC(train: ProbeData, val: ProbeData, opts: SweepOptions = {}): SweepResult {
  if (val.n === 0) throw new UserError("linear probe: the validation split is empty (too few training samples per class to choose C); pass C explicitly");
  const grid = opts.initialLogC ?? [-6, -4, -2, 0, 2, 4, 6];
  const finest = 1 / (opts.stepsPerDecade ?? 8);
  const fitted = new Map<number, { point: SweepPoint; model: LogRegModel }>();
  const key = (l: number) => Math.round(l * 1e6) / 1e6;
  const objective = new ProbeObjective(train, opts.threads ?? defaultThreads(train.n, train.dim, train.numClasses));

  const evalAt = (log10C: number): SweepPoint => {
    const k = key(log10C);
    const hit = fitted.get(k);
    if (hit) return hit.point;
    let init: LogRegModel | undefined;
    let nearest = Infinity;
    for (const [l, f] of fitted) {
      if (Math.abs(l - k) < nearest) {
        nearest = Math.abs(l - k);
        init = f.model;
      }
    }
    const C = Math.pow(10, log10C);
    const fit = fitLogisticRegression(train, { C, maxIter: opts.maxIter, tol: opts.tol, init, objective });
    const point: SweepPoint = {
      C,
      log10C,
      valAccuracy: accuracy(fit.model, val),
      valLogLoss: meanLogLoss(fit.model, val),
      iterations: fit.iterations,
      converged: fit.converged,
    };
    fitted.set(k, { point, model: fit.model });
    opts.onFit?.(point);
    return point;
  };

  let best: SweepPoint;
  try {
    best = evalAt(grid[0]!);
    for (const l of grid.slice(1)) {
      const p = evalAt(l);
      if (better(p, best)) best = p;
    }
    let step = grid.length > 1 ? Math.abs(grid[1]! - grid[0]!) : 1;
    const lo = Math.min(...grid);
    const hi = Math.max(...grid);
    while (step / 2 >= finest - 1e-12) {
      step /= 2;
      const center = best;
      for (const l of [center.log10C - step, center.log10C + step]) {
        if (l < lo - 1e-9 || l > hi + 1e-9) continue;
        const p = evalAt(l);
        if (better(p, best)) best = p;
      }
    }
  } finally {
    objective.close();
  }
  const points = [...fitted.values()].map((f) => f.point);
  return { bestC: best.C, best, points };
}

// ---------------------------------------------------------------------------------------------
// The whole protocol

/** Options of `linearProbe`: the C sweep's, plus a fixed C or few-shot sampling. */
export interface LinearProbeOptions extends SweepOptions {
  /** Use this C instead of sweeping. */
  C?: number;
  /** Few-shot: k training samples per class. */
  kShot?: number;
  /** Seed of the few-shot selection and of the validation split (default 0). */
  seed?: number;
  /** Part of the training set held out to choose C (default 0.2). */
  valFraction?: number;
}

/** The paper's linear-probe protocol's outcome: the chosen C, the sweep, and test metrics. */
export interface LinearProbeResult {
  C: number;
  chosenBy: "sweep" | "given";
  sweep?: SweepResult;
  trainSamples: number;
  /** Few-shot only: samples per class actually used. */
  fewShot?: { k: number; perClass: number[] };
  trainAccuracy: number;
  test: ClassificationMetrics;
  iterations: number;
  converged: boolean;
  model: LogRegModel;
}

/**
 * Few-shot selection (optional) -> C from a sweep on a stratified held-out split of the training
 * set (unless given) -> refit on the whole (selected) training set -> metrics on the test set.
 */
export function linearProbe(train: ProbeData, test: ProbeData, opts: LinearProbeOptions = {}): LinearProbeResult {
  checkProbeData(train, "linear probe train set");
  checkProbeData(test, "linear probe test set");
  if (train.dim !== test.dim) throw new UserError(`linear probe: train features have width ${train.dim}, test ${test.dim}`);
  if (train.numClasses !== test.numClasses) throw new UserError(`linear probe: train has ${train.numClasses} classes, test ${test.numClasses}`);
  const seed = opts.seed ?? 0;
  let data = train;
  let fewShot: LinearProbeResult["fewShot"];
  if (opts.kShot !== undefined) {
    const sel = fewShotIndices(train.y, train.numClasses, opts.kShot, seed);
    data = subset(train, sel.indices);
    fewShot = { k: opts.kShot, perClass: sel.perClass };
  }
  let C = opts.C;
  let sweep: SweepResult | undefined;
  if (C === undefined) {
    const split = stratifiedSplit(data.y, data.numClasses, opts.valFraction ?? 0.2, seed);
    sweep = sweepC(subset(data, split.train), subset(data, split.val), opts);
    C = sweep.bestC;
  }
  const fit = fitLogisticRegression(data, { C, maxIter: opts.maxIter, tol: opts.tol, threads: opts.threads });
  const scores = decisionScores(fit.model, test.x, test.n);
  return {
    C,
    chosenBy: sweep ? "sweep" : "given",
    sweep,
    trainSamples: data.n,
    fewShot,
    trainAccuracy: accuracy(fit.model, data),
    test: classificationMetrics(scores, test.n, test.numClasses, test.y),
    iterations: fit.iterations,
    converged: fit.converged,
    model: fit.model,
  };
}
