import { test } from "node:test";
import assert from "node:assert/strict";
import { UserError } from "../../src/errors.js";
import { lbfgs } from "../../src/eval/lbfgs.js";
import {
  accuracy,
  fewShotIndices,
  fitLogisticRegression,
  linearProbe,
  makeObjective,
  ProbeObjective,
  stratifiedSplit,
  subset,
  sweepC,
  type ProbeData,
} from "../../src/eval/linear_probe.js";
import { loadProbeFixture } from "./probe_fixture.js";
import { Rng } from "../../src/util/rng.js";

const fixture = loadProbeFixture();

function frob(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s);
}

test("L-BFGS minimizes the Rosenbrock function", () => {
  const rosen = (x: Float64Array, g: Float64Array) => {
    let f = 0;
    g.fill(0);
    for (let i = 0; i + 1 < x.length; i++) {
      const a = x[i + 1]! - x[i]! * x[i]!;
      const b = 1 - x[i]!;
      f += 100 * a * a + b * b;
      g[i]! += -400 * x[i]! * a - 2 * b;
      g[i + 1]! += 200 * a;
    }
    return f;
  };
  const r = lbfgs(rosen, Float64Array.from([-1.2, 1, -1.2, 1, 0.5]), { gtol: 1e-9, maxIter: 2000 });
  assert.ok(r.converged, r.message);
  for (const v of r.x) assert.ok(Math.abs(v - 1) < 1e-6, `x = ${Array.from(r.x)}`);
});

test("the objective's gradient matches central differences (float64, with a tail of n % 4 samples)", () => {
  const rng = new Rng(3);
  const rand = (): number => rng.next();
  const n = 11;
  const D = 5;
  const K = 3;
  const x = new Float64Array(n * D).map(() => rand() * 2 - 1);
  const y = Int32Array.from({ length: n }, (_, i) => i % K);
  const f = makeObjective({ x, n, dim: D, y, numClasses: K }, 0.7);
  const theta = new Float64Array(K * D + K).map(() => rand() - 0.5);
  const g = new Float64Array(theta.length);
  f(theta, g);
  const h = 1e-6;
  const tp = new Float64Array(theta.length);
  const gd = new Float64Array(theta.length);
  for (let q = 0; q < theta.length; q++) {
    tp.set(theta);
    tp[q]! += h;
    const fp = f(tp, gd);
    tp[q]! -= 2 * h;
    const fm = f(tp, gd);
    const num = (fp - fm) / (2 * h);
    assert.ok(Math.abs(num - g[q]!) < 1e-7, `d/dtheta[${q}]: analytic ${g[q]}, numeric ${num}`);
  }
});

test("worker threads give bit-identical loss and gradient (fixed chunking), and the same fit", () => {
  const p = fixture.problems.multinomial;
  const rng = new Rng(11);
  const rand = (): number => rng.next();
  const theta = new Float64Array(6 * 24 + 6).map(() => (rand() - 0.5) * 0.2);
  const one = new ProbeObjective(p.train, 1);
  const three = new ProbeObjective(p.train, 3);
  try {
    const g1 = new Float64Array(theta.length);
    const g3 = new Float64Array(theta.length);
    for (let rep = 0; rep < 2; rep++) {
      assert.equal(three.objective(0.5)(theta, g3), one.objective(0.5)(theta, g1));
      assert.deepEqual(g3, g1);
    }
    const a = fitLogisticRegression(p.train, { C: 0.1, objective: one });
    const b = fitLogisticRegression(p.train, { C: 0.1, objective: three });
    assert.equal(a.iterations, b.iterations);
    assert.deepEqual(a.model.coef, b.model.coef);
  } finally {
    one.close();
    three.close();
  }
});

for (const name of ["multinomial", "binary"] as const) {
  test(`linear probe accuracy equals scikit-learn's LogisticRegression (lbfgs, same C) within 0.5 points: ${name}`, () => {
    const p = fixture.problems[name];
    for (const ref of p.fits) {
      const fit = fitLogisticRegression(p.train, { C: ref.C });
      assert.ok(fit.converged, `C=${ref.C}: ${fit.message}`);
      const acc = accuracy(fit.model, p.test);
      assert.ok(Math.abs(acc - ref.testAccuracy) <= 0.005, `C=${ref.C}: test accuracy ${acc} vs sklearn ${ref.testAccuracy}`);
      const tr = accuracy(fit.model, p.train);
      assert.ok(Math.abs(tr - ref.trainAccuracy) <= 0.005, `C=${ref.C}: train accuracy ${tr} vs sklearn ${ref.trainAccuracy}`);
      assert.equal(fit.model.coef.length, (name === "binary" ? 1 : p.train.numClasses) * p.train.dim);
    }
  });

  test(`converged tightly, the probe reaches sklearn's optimum (objective and coefficient norm): ${name}`, () => {
    const p = fixture.problems[name];
    for (const ref of p.fits.filter((r) => r.C === 0.01 || r.C === 1)) {
      const fit = fitLogisticRegression(p.train, { C: ref.C, tol: 1e-7 });
      // same objective (sklearn's sum form); ours may only be lower, by less than sklearn's own slack
      assert.ok(fit.objective <= ref.objective * (1 + 1e-9), `C=${ref.C}: objective ${fit.objective} above sklearn's ${ref.objective}`);
      assert.ok(fit.objective >= ref.objective * (1 - 1e-5), `C=${ref.C}: objective ${fit.objective} far below sklearn's ${ref.objective}`);
      const norm = frob(fit.model.coef);
      assert.ok(Math.abs(norm - ref.coefNorm) / ref.coefNorm < 1e-3, `C=${ref.C}: |coef| ${norm} vs sklearn ${ref.coefNorm}`);
      if (name === "binary") assert.ok(Math.abs(fit.model.intercept[0]! - ref.intercept[0]!) < 1e-2, `C=${ref.C}: intercept`);
    }
  });
}

test("the C sweep follows the paper's binary search and the protocol refits on all training data", () => {
  const p = fixture.problems.multinomial;
  const seen: number[] = [];
  const r = linearProbe(p.train, p.test, { onFit: (pt) => seen.push(pt.log10C) });
  // 7 grid points, then 2 per halving (2 -> 1 -> 0.5 -> 0.25 -> 0.125), minus any outside [-6, 6]
  assert.deepEqual(seen.slice(0, 7), [-6, -4, -2, 0, 2, 4, 6]);
  assert.ok(seen.length >= 13 && seen.length <= 15, `points: ${seen}`);
  for (const l of seen) assert.ok(Math.abs(l - Math.round(l * 8) / 8) < 1e-9, "every point is on the 1/8-decade grid");
  const s = r.sweep!;
  assert.equal(s.points.length, seen.length);
  for (const pt of s.points) assert.ok(pt.valAccuracy <= s.best.valAccuracy);
  assert.equal(r.C, s.bestC);
  assert.equal(r.chosenBy, "sweep");
  // the refit uses the whole training set, and lands near sklearn's best test accuracy over C
  assert.equal(r.trainSamples, p.train.n);
  const bestSk = Math.max(...p.fits.map((f) => f.testAccuracy));
  assert.ok(r.test.top1 >= bestSk - 0.02, `probe test accuracy ${r.test.top1} vs sklearn's best ${bestSk}`);
  assert.equal(r.test.n, p.test.n);
});

test("a given C skips the sweep", () => {
  const p = fixture.problems.multinomial;
  const given = linearProbe(p.train, p.test, { C: 1 });
  assert.equal(given.chosenBy, "given");
  assert.equal(given.sweep, undefined);
  assert.ok(Math.abs(given.test.top1 - p.fits.find((f) => f.C === 1)!.testAccuracy) <= 0.005);
});

test("the validation split and sweep are seeded: same seed, same choice", () => {
  const p = fixture.problems.binary;
  const a = stratifiedSplit(p.train.y, 2, 0.2, 3);
  const b = stratifiedSplit(p.train.y, 2, 0.2, 3);
  assert.deepEqual(a, b);
  const c = stratifiedSplit(p.train.y, 2, 0.2, 4);
  assert.notDeepEqual(Array.from(a.val), Array.from(c.val));
  const s1 = sweepC(subset(p.train, a.train), subset(p.train, a.val), { initialLogC: [-2, 0, 2], stepsPerDecade: 2 });
  const s2 = sweepC(subset(p.train, b.train), subset(p.train, b.val), { initialLogC: [-2, 0, 2], stepsPerDecade: 2 });
  assert.deepEqual(s1.points.map((q) => q.log10C), s2.points.map((q) => q.log10C));
  assert.equal(s1.bestC, s2.bestC);
});

test("few-shot selection: k per class, seeded, all of a class that has fewer", () => {
  const y = Int32Array.from([0, 1, 2, 0, 1, 0, 1, 0, 1, 0, 1]); // class 2 has one sample
  const a = fewShotIndices(y, 3, 2, 5);
  assert.deepEqual(a.perClass, [2, 2, 1]);
  assert.equal(a.indices.length, 5);
  assert.deepEqual(Array.from(a.indices), [...a.indices].sort((p, q) => p - q));
  const counts = [0, 0, 0];
  for (const i of a.indices) counts[y[i]!]!++;
  assert.deepEqual(counts, [2, 2, 1]);
  assert.deepEqual(fewShotIndices(y, 3, 2, 5), a);
  const picks = new Set([0, 1, 2, 3, 4, 5, 6, 7].map((s) => Array.from(fewShotIndices(y, 3, 2, s).indices).join(",")));
  assert.ok(picks.size > 1, "different seeds pick different samples");
  assert.throws(() => fewShotIndices(y, 3, 0), UserError);
});

test("few-shot probe runs end to end; k=1 cannot hold out a validation split without C", () => {
  const p = fixture.problems.multinomial;
  const r = linearProbe(p.train, p.test, { kShot: 16, seed: 1 });
  assert.equal(r.trainSamples, 16 * 6);
  assert.deepEqual(r.fewShot, { k: 16, perClass: [16, 16, 16, 16, 16, 16] });
  assert.ok(r.test.top1 > 0.3 && r.test.top1 < 0.95, `16-shot accuracy ${r.test.top1}`);
  assert.throws(() => linearProbe(p.train, p.test, { kShot: 1 }), (e: Error) => e instanceof UserError && /validation split is empty/.test(e.message));
  const one = linearProbe(p.train, p.test, { kShot: 1, C: 1 });
  assert.equal(one.trainSamples, 6);
});

test("stratified split keeps every class in training and holds out about the fraction asked", () => {
  const y = Int32Array.from({ length: 103 }, (_, i) => (i < 3 ? 2 : i % 2));
  const s = stratifiedSplit(y, 3, 0.2, 0);
  assert.equal(s.train.length + s.val.length, 103);
  assert.equal(new Set([...s.train, ...s.val]).size, 103);
  const valCounts = [0, 0, 0];
  for (const i of s.val) valCounts[y[i]!]!++;
  assert.deepEqual(valCounts, [10, 10, 1]);
});

test("probe input errors", () => {
  const d: ProbeData = { x: new Float32Array(4), n: 2, dim: 2, y: Int32Array.from([0, 3]), numClasses: 3 };
  assert.throws(() => fitLogisticRegression(d, { C: 1 }), (e: Error) => e instanceof UserError && /sample 1 has class 3/.test(e.message));
  const ok: ProbeData = { ...d, y: Int32Array.from([0, 1]) };
  assert.throws(() => fitLogisticRegression(ok, { C: 0 }), /C must be a positive number/);
  assert.throws(() => fitLogisticRegression({ ...ok, numClasses: 1, y: Int32Array.from([0, 0]) }, { C: 1 }), /at least 2 classes/);
  assert.throws(() => linearProbe(ok, { ...ok, dim: 1, x: new Float32Array(2) }), /width 2, test 1/);
});
