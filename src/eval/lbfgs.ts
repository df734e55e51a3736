/**
 * @file Unconstrained L-BFGS in float64: two-loop recursion over the last m (s, y) pairs, and a
 * line search that returns a step satisfying the strong Wolfe conditions (Nocedal & Wright,
 * Numerical Optimization, 2nd ed., Algorithms 3.5/3.6, cubic interpolation in the zoom phase).
 *
 * It follows what scikit-learn gets from scipy's L-BFGS-B without bounds: memory 10, first step
 * 1/||d|| then 1, sufficient-decrease constant 1e-3 and curvature constant 0.9 (MINPACK-2
 * dcsrch's defaults in L-BFGS-B), stop when max|g_i| <= gtol or when the relative reduction
 * (f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol, at most maxIter iterations and maxls
 * function evaluations per line search.
 */

/** f(x), writing the gradient into g. */
export type Objective = (x: Float64Array, g: Float64Array) => number;

export interface LbfgsOptions {
  /** History pairs kept (default 10). */
  memory?: number;
  /** Iteration limit (default 1000). */
  maxIter?: number;
  /** Stop when the largest absolute gradient entry is <= gtol (default 1e-5). */
  gtol?: number;
  /** Stop when the relative reduction of f is <= ftol (default 64 * machine epsilon, as sklearn). */
  ftol?: number;
  /** Function evaluations per line search (default 50, as sklearn). */
  maxls?: number;
  /** Armijo constant c1 (default 1e-3). */
  c1?: number;
  /** Curvature constant c2 (default 0.9). */
  c2?: number;
  /** Called after each accepted iteration. */
  onIter?: (iter: number, f: number, gmax: number) => void;
}

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  g: Float64Array;
  /** Accepted iterations. */
  iterations: number;
  /** Objective evaluations, the first included. */
  evaluations: number;
  converged: boolean;
  message: string;
}

const EPS = 2.220446049250313e-16;

function dotv(a: Float64Array, b: Float64Array): number {
  let s0 = 0,
    s1 = 0;
  const n = a.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    s0 += a[i]! * b[i]!;
    s1 += a[i + 1]! * b[i + 1]!;
  }
  if (i < n) s0 += a[i]! * b[i]!;
  return s0 + s1;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]!);
    if (v > m || Number.isNaN(v)) m = v;
  }
  return m;
}

/**
 * Minimizer of the cubic through (a, fa, da), (b, fb, db) (N&W eq. 3.59), or NaN when it does
 * not exist or is not finite.
 */
function cubicMin(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const d1 = da + db - (3 * (fa - fb)) / (a - b);
  const disc = d1 * d1 - da * db;
  if (!(disc >= 0)) return NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  const t = b - ((b - a) * (db + d2 - d1)) / (db - da + 2 * d2);
  return Number.isFinite(t) ? t : NaN;
}

interface LineSearchResult {
  ok: boolean;
  alpha: number;
  f: number;
  evaluations: number;
}

/**
 * Strong-Wolfe line search along d from x (f0, slope dphi0 < 0). Each trial point is evaluated
 * into (xt, gt); on success the accepted point is the last one evaluated, so (xt, gt) hold it.
 */
function lineSearch(
  fun: Objective,
  x: Float64Array,
  d: Float64Array,
  f0: number,
  dphi0: number,
  alpha1: number,
  xt: Float64Array,
  gt: Float64Array,
  c1: number,
  c2: number,
  maxls: number,
): LineSearchResult {
  let evals = 0;
  const phi = (a: number): [number, number] => {
    for (let i = 0; i < x.length; i++) xt[i] = x[i]! + a * d[i]!;
    const f = fun(xt, gt);
    evals++;
    return [f, dotv(gt, d)];
  };
  const armijo = (a: number, f: number) => f <= f0 + c1 * a * dphi0;
  const curvature = (dp: number) => Math.abs(dp) <= -c2 * dphi0;

  // zoom between lo (satisfies Armijo, lowest f so far) and hi
  const zoom = (lo: number, flo: number, dlo: number, hi: number, fhi: number, dhi: number): LineSearchResult => {
    while (evals < maxls) {
      const lo_ = Math.min(lo, hi);
      const hi_ = Math.max(lo, hi);
      const width = hi_ - lo_;
      let t = Number.isFinite(fhi) && Number.isFinite(dhi) ? cubicMin(lo, flo, dlo, hi, fhi, dhi) : NaN;
      // safeguard: stay inside the interval, away from its ends, else bisect
      if (!(t > lo_ + 0.1 * width && t < hi_ - 0.1 * width)) t = 0.5 * (lo + hi);
      if (width <= EPS * Math.max(1, hi_)) return { ok: false, alpha: lo, f: flo, evaluations: evals };
      const [ft, dt] = phi(t);
      if (!armijo(t, ft) || !(ft < flo) || !Number.isFinite(ft)) {
        hi = t;
        fhi = ft;
        dhi = dt;
      } else {
        if (curvature(dt)) return { ok: true, alpha: t, f: ft, evaluations: evals };
        if (dt * (hi - lo) >= 0) {
          hi = lo;
          fhi = flo;
          dhi = dlo;
        }
        lo = t;
        flo = ft;
        dlo = dt;
      }
    }
    return { ok: false, alpha: lo, f: flo, evaluations: evals };
  };

  let aPrev = 0;
  let fPrev = f0;
  let dPrev = dphi0;
  let a = alpha1;
  for (let i = 0; evals < maxls; i++) {
    const [fa, da] = phi(a);
    if (!Number.isFinite(fa) || !armijo(a, fa) || (i > 0 && fa >= fPrev)) return zoom(aPrev, fPrev, dPrev, a, fa, da);
    if (curvature(da)) return { ok: true, alpha: a, f: fa, evaluations: evals };
    if (da >= 0) return zoom(a, fa, da, aPrev, fPrev, dPrev);
    aPrev = a;
    fPrev = fa;
    dPrev = da;
    a *= 2;
  }
  return { ok: false, alpha: aPrev, f: fPrev, evaluations: evals };
}

/** Minimizes `fun` from x0 (not modified). */
export function lbfgs(fun: Objective, x0: Float64Array, opts: LbfgsOptions = {}): LbfgsResult {
  const m = opts.memory ?? 10;
  const maxIter = opts.maxIter ?? 1000;
  const gtol = opts.gtol ?? 1e-5;
  const ftol = opts.ftol ?? 64 * EPS;
  const maxls = opts.maxls ?? 50;
  const c1 = opts.c1 ?? 1e-3;
  const c2 = opts.c2 ?? 0.9;
  const n = x0.length;

  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = fun(x, g);
  let evaluations = 1;
  let xt = new Float64Array(n);
  let gt = new Float64Array(n);
  const d = new Float64Array(n);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alphas = new Float64Array(m);

  if (!Number.isFinite(f)) return { x, f, g, iterations: 0, evaluations, converged: false, message: "objective is not finite at the start" };
  if (maxAbs(g) <= gtol) return { x, f, g, iterations: 0, evaluations, converged: true, message: "gradient below tolerance" };

  let iter = 0;
  let fresh = true; // no curvature pairs yet: scale the first step by 1/||d||
  while (iter < maxIter) {
    // d = -H g by the two-loop recursion
    for (let i = 0; i < n; i++) d[i] = -g[i]!;
    const k = S.length;
    for (let j = k - 1; j >= 0; j--) {
      const a = rho[j]! * dotv(S[j]!, d);
      alphas[j] = a;
      const y = Y[j]!;
      for (let i = 0; i < n; i++) d[i]! -= a * y[i]!;
    }
    if (k > 0) {
      const gamma = dotv(S[k - 1]!, Y[k - 1]!) / dotv(Y[k - 1]!, Y[k - 1]!);
      for (let i = 0; i < n; i++) d[i]! *= gamma;
    }
    for (let j = 0; j < k; j++) {
      const b = rho[j]! * dotv(Y[j]!, d);
      const s = S[j]!;
      const c = alphas[j]! - b;
      for (let i = 0; i < n; i++) d[i]! += c * s[i]!;
    }
    let dphi0 = dotv(g, d);
    if (!(dphi0 < 0)) {
      // not a descent direction (numerical breakdown): restart from steepest descent
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i]!;
      dphi0 = dotv(g, d);
      fresh = true;
    }
    const alpha1 = fresh ? Math.min(1, 1 / Math.sqrt(dotv(d, d))) : 1;
    const ls = lineSearch(fun, x, d, f, dphi0, alpha1, xt, gt, c1, c2, maxls);
    evaluations += ls.evaluations;
    if (!ls.ok) {
      if (S.length > 0) {
        // L-BFGS-B's recovery: drop the memory and retry along -g once
        S.length = Y.length = rho.length = 0;
        fresh = true;
        continue;
      }
      return { x, f, g, iterations: iter, evaluations, converged: false, message: "line search failed to find a Wolfe point" };
    }
    // s = xt - x, y = gt - g
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xt[i]! - x[i]!;
      y[i] = gt[i]! - g[i]!;
    }
    const sy = dotv(s, y);
    const yy = dotv(y, y);
    if (sy > EPS * yy) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
      fresh = false;
    }
    const fOld = f;
    [x, xt] = [xt, x];
    [g, gt] = [gt, g];
    f = ls.f;
    iter++;
    const gmax = maxAbs(g);
    opts.onIter?.(iter, f, gmax);
    if (gmax <= gtol) return { x, f, g, iterations: iter, evaluations, converged: true, message: "gradient below tolerance" };
    if ((fOld - f) / Math.max(Math.abs(fOld), Math.abs(f), 1) <= ftol) {
      return { x, f, g, iterations: iter, evaluations, converged: true, message: "relative reduction of f below tolerance" };
    }
  }
  return { x, f, g, iterations: iter, evaluations, converged: false, message: `stopped after ${maxIter} iterations` };
}
