/** @file Every op: ORT forward against the float64 interpreter, and gradients against finite differences. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { GRAD_RULES, NONDIFF } from "../../src/autodiff/rules.js";
import { grad } from "../../src/autodiff/grad.js";
import { interpret } from "../../src/ir/interpret.js";
import type { OpName } from "../../src/ir/ops.js";
import { SHAPE_RULES } from "../../src/ir/shape_rules.js";
import * as T from "../../src/ir/tensor.js";
import { CASES } from "./cases.js";
import { fdCheck, makeInputs, maxAbs, maxAbsDiff, runOrt } from "./harness.js";

// ORT runs these in float32 even inside float64 graphs (no double kernels)
const FLOAT32_KERNELS = new Set<OpName>(["conv2d", "convTranspose2d", "avgPool2d", "erf", "matmulInt8"]);

test("every op has a test case", () => {
  const covered = new Set(CASES.map((c) => c.op));
  const missing = (Object.keys(SHAPE_RULES) as OpName[]).filter((op) => !["input", "param", "const"].includes(op) && !covered.has(op));
  assert.deepEqual(missing, []);
});

for (const c of CASES) {
  const label = c.name ?? c.op;
  for (const dtype of ["float32", "float64"] as const) {
    test(`${label}: ORT forward (${dtype}) matches the float64 interpreter`, async () => {
      const b = makeInputs(c.inputs, dtype, 1);
      const y = c.build(b.inputs);
      const [ref] = interpret([y], b.feeds);
      const [got] = await runOrt([y], b.inputs, b.values);
      assert.deepEqual(got.length, ref.data.length);
      const tol = dtype === "float32" || FLOAT32_KERNELS.has(c.op) ? 2e-5 * Math.max(1, maxAbs(ref.data)) : 1e-12 * Math.max(1, maxAbs(ref.data));
      const d = maxAbsDiff(got, ref.data);
      assert.ok(d <= tol, `${label}: max |ORT - reference| = ${d} > ${tol}`);
    });
  }

  if (c.grad === false) {
    test(`${label}: not differentiable, gradients are refused or zero`, () => {
      const b = makeInputs(c.inputs, "float64", 2);
      const y = c.build(b.inputs);
      const floats = b.inputs.filter((t) => t.dtype === "float64");
      if (y.dtype === "bool" || y.dtype === "int64") {
        assert.throws(() => grad(y, floats), /only float outputs/);
      } else if (floats.length) {
        // a float output through a non-differentiable op: the gradient is exactly zero
        const gs = interpret(grad(T.reduceSum(y, [...y.shape.keys()]), floats), b.feeds);
        for (const g of gs) assert.equal(maxAbs(g.data), 0);
      }
      assert.equal(GRAD_RULES[c.op] === NONDIFF || c.op === "cast", true);
    });
    continue;
  }

  const st = c.straightThrough;
  if (st) {
    test(`${label}: straight-through gradient equals the composite's, and runs in ORT`, async () => {
      const b = makeInputs(c.inputs, "float64", 3);
      const y = c.build(b.inputs);
      const floats = b.inputs.filter((t) => t.dtype === "float64");
      const seedName = `x${b.inputs.length}`; // runOrt feeds inputs by position
      const seed = T.input(seedName, "float64", [...y.shape] as number[]);
      const ours = grad(y, floats, [seed]);
      const theirs = grad(st(b.inputs), floats, [seed]);
      const n = (y.shape as number[]).reduce((a, d) => a * d, 1);
      const seedValue = Float64Array.from({ length: n }, (_v, i) => Math.sin(i + 1));
      const feeds = { ...b.feeds, [seedName]: { shape: y.shape as number[], data: seedValue } };
      const got = interpret(ours, feeds);
      const want = interpret(theirs, feeds);
      got.forEach((g, k) => assert.ok(maxAbsDiff(g.data, want[k].data) <= 1e-5 * Math.max(1, maxAbs(want[k].data)), `${label}: gradient ${k}`));
      const ort = await runOrt(ours, [...b.inputs, seed], [...b.values, seedValue]);
      ort.forEach((g, k) => assert.ok(maxAbsDiff(g, want[k].data) <= 1e-5 * Math.max(1, maxAbs(want[k].data)), `${label}: ORT gradient ${k}`));
    });
    continue;
  }

  test(`${label}: gradient matches a random-direction finite difference (float64)`, async () => {
    const b = makeInputs(c.inputs, "float64", 3);
    const y = c.build(b.inputs);
    const { analytic, numeric, grads, wrt } = fdCheck(y, b, 4, c.fdEps);
    const tol = (c.fdTol ?? 1e-6) * Math.max(1, Math.abs(numeric));
    assert.ok(Math.abs(analytic - numeric) <= tol, `${label}: analytic ${analytic} vs numeric ${numeric}`);
    // and the gradient graph itself runs in ORT with the same values
    const ref = interpret(grads, b.feeds);
    const got = await runOrt(grads, b.inputs, b.values);
    grads.forEach((_g, k) => {
      const scale = Math.max(1, maxAbs(ref[k].data));
      const d = maxAbsDiff(got[k], ref[k].data);
      const tol2 = (FLOAT32_KERNELS.has(c.op) ? 2e-5 : 1e-10) * scale;
      assert.ok(d <= tol2, `${label}: ORT gradient of input ${wrt[k]} differs from the interpreter by ${d}`);
    });
  });
}
