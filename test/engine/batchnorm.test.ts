/** @file BatchNorm in training mode (nn/functional.ts's batchNormTraining, the ModifiedResNet's when
 * its image tower trains): forward and running statistics against a hand computation of torch's
 * definitions, gradients against finite differences, all in float64. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { interpret } from "../../src/ir/interpret.js";
import { batchNormTraining } from "../../src/nn/functional.js";
import { fdCheck, makeInputs, maxAbsDiff } from "./harness.js";

const [N, C, H, W] = [3, 2, 2, 3];

test("batchNormTraining: y = (x - mean) / sqrt(var + eps) * weight + bias over N, H, W; running stats with the unbiased variance", () => {
  const b = makeInputs([{ shape: [N, C, H, W] }, { shape: [C] }, { shape: [C] }, { shape: [C] }, { shape: [C] }], "float64", 7);
  const [x, w, bias, rm, rv] = b.inputs;
  const out = batchNormTraining(x!, w!, bias!, rm!, rv!, 1e-5, 0.1);
  const [y, newMean, newVar] = interpret([out.y, out.runningMean, out.runningVar], b.feeds);
  const X = b.feeds.x0.data, Wt = b.feeds.x1.data, B = b.feeds.x2.data, RM = b.feeds.x3.data, RV = b.feeds.x4.data;
  const want = new Float64Array(X.length);
  const m = N * H * W;
  for (let c = 0; c < C; c++) {
    const idx: number[] = [];
    for (let n = 0; n < N; n++) for (let i = 0; i < H * W; i++) idx.push((n * C + c) * H * W + i);
    const mean = idx.reduce((s, j) => s + X[j]!, 0) / m;
    const biased = idx.reduce((s, j) => s + (X[j]! - mean) ** 2, 0) / m;
    for (const j of idx) want[j] = ((X[j]! - mean) / Math.sqrt(biased + 1e-5)) * Wt[c]! + B[c]!;
    assert.ok(Math.abs(newMean.data[c]! - (0.9 * RM[c]! + 0.1 * mean)) < 1e-12);
    assert.ok(Math.abs(newVar.data[c]! - (0.9 * RV[c]! + 0.1 * ((biased * m) / (m - 1)))) < 1e-12);
  }
  assert.ok(maxAbsDiff(y.data, want) < 1e-12);
});

test("batchNormTraining: gradients of x, weight and bias match finite differences", () => {
  const b = makeInputs([{ shape: [N, C, H, W] }, { shape: [C] }, { shape: [C] }, { shape: [C] }, { shape: [C] }], "float64", 8);
  const [x, w, bias, rm, rv] = b.inputs;
  // the running statistics do not reach y: their gradients are zero, the others are checked
  const { analytic, numeric } = fdCheck(batchNormTraining(x!, w!, bias!, rm!, rv!).y, b, 10);
  assert.ok(Math.abs(analytic - numeric) < 1e-6 * Math.max(1, Math.abs(numeric)), `analytic ${analytic} numeric ${numeric}`);
});
