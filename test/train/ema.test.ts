/**
 * @file The moving average of the weights (`--ema`): its update against a float64 computation
 * written out here, and short training runs: the saved average follows the saved weights step by
 * step, is deterministic for a seed, resumes exactly, and is validated beside the weights.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { emaDecay, WeightEma } from "../../src/train/ema.js";
import { resumeTraining, train } from "../../src/train/index.js";
import { savedWeights, writeTinyConfig } from "../helpers/train.js";
import type { StateDict, StateTensor } from "../../src/models/clip/config.js";
import { UserError } from "../../src/errors.js";

test("emaDecay warms up as TensorFlow's ExponentialMovingAverage with num_updates, then holds the decay", () => {
  assert.equal(emaDecay(0.999, 1), 2 / 11);
  assert.equal(emaDecay(0.999, 10), 11 / 20);
  assert.equal(emaDecay(0.5, 10), 0.5);
  assert.equal(emaDecay(0.999, 1e6), 0.999);
});

test("WeightEma averages the trained keys and BatchNorm statistics, copies counters, leaves fixed keys, and starts from a saved average", () => {
  const t = (...v: number[]) => ({ shape: [v.length], data: Float32Array.from(v) });
  const model: StateDict = new Map<string, StateTensor>([
    ["w", t(1, -2)],
    ["visual.bn1.running_mean", t(0.5)],
    ["visual.bn1.num_batches_tracked", t(0)],
    ["fixed", t(7)],
  ]);
  const ema = WeightEma.create(0.9, model, ["w"]);
  assert.notEqual(ema.state.get("w")!.data, model.get("w")!.data, "a copy");
  const ref = { w: [1, -2], bn: [0.5] };
  const steps = [
    { w: [2, 0], bn: [1], n: 1 },
    { w: [3, 1], bn: [0], n: 2 },
    { w: [-1, 4], bn: [2], n: 3 },
  ];
  steps.forEach((s, i) => {
    model.get("w")!.data.set(s.w);
    model.get("visual.bn1.running_mean")!.data.set(s.bn);
    model.get("visual.bn1.num_batches_tracked")!.data[0] = s.n;
    ema.update(model, i + 1);
    const d = Math.min(0.9, (2 + i) / (11 + i));
    ref.w = ref.w.map((a, j) => d * a + (1 - d) * s.w[j]!);
    ref.bn = ref.bn.map((a, j) => d * a + (1 - d) * s.bn[j]!);
    [...ema.state.get("w")!.data].forEach((v, j) => assert.ok(Math.abs(v - ref.w[j]!) < 1e-6, `step ${i + 1} w[${j}]: ${v} vs ${ref.w[j]}`));
    assert.ok(Math.abs(ema.state.get("visual.bn1.running_mean")!.data[0]! - ref.bn[0]!) < 1e-6);
    assert.equal(ema.state.get("visual.bn1.num_batches_tracked")!.data[0], s.n);
  });
  assert.equal(ema.state.get("fixed")!.data[0], 7);
  const resumed = WeightEma.create(0.9, model, ["w"], ema.state);
  assert.deepEqual([...resumed.state.get("w")!.data], [...ema.state.get("w")!.data]);
  assert.throws(() => WeightEma.create(1, model, ["w"]), (e: unknown) => e instanceof UserError && /strictly between 0 and 1/.test(e.message));
});

test("a run with --ema saves the average beside the weights, validates both, and is deterministic and resumable", { timeout: 240_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-ema-"));
  try {
    const config = writeTinyConfig(dir, true);
    const data = "synth:?n=64&seed=0&size=32";
    const base = { data, config, vocabSize: 600, batchSize: 8, warmup: 1, seed: 4, threads: 1, ema: 0.6, saveEvery: 1, evalEvery: 4 };
    // a checkpoint's weights (or its ema/) without the BatchNorm counters, which are not averaged
    const at = (run: string, step: number, ema: boolean): Map<string, Float32Array> =>
      new Map([...savedWeights(path.join(dir, run, "checkpoints", `step-${String(step).padStart(6, "0")}`, ...(ema ? ["ema"] : [])))].filter(([k]) => !k.endsWith("num_batches_tracked")));

    const a = await train({ ...base, steps: 4, valData: "synth:?n=16&seed=9&size=32", save: path.join(dir, "a") });
    // the average follows the weights: ema_t = d_t ema_{t-1} + (1 - d_t) w_t, d_t = min(0.6, (1 + t) / (10 + t))
    for (const s of [2, 3, 4]) {
      const d = Math.min(0.6, (1 + s) / (10 + s));
      const prev = at("a", s - 1, true);
      const w = at("a", s, false);
      let changed = 0;
      for (const [k, e] of at("a", s, true)) {
        for (let i = 0; i < e.length; i++) {
          const want = d * prev.get(k)![i]! + (1 - d) * w.get(k)![i]!;
          assert.ok(Math.abs(e[i]! - want) <= 1e-6 + 1e-5 * Math.abs(want), `step ${s} ${k}[${i}]: ${e[i]} vs ${want}`);
        }
        if (e.some((v, i) => v !== w.get(k)![i])) changed++;
      }
      assert.ok(changed > 10, `the average differs from the weights in ${changed} tensors`);
    }
    assert.ok(a.seconds > 0, `seconds ${a.seconds}`);
    const ev = a.evals.at(-1)!;
    assert.equal(ev.step, 4);
    for (const k of ["t2i_R@1", "i2t_R@10", "ema_t2i_R@1", "ema_i2t_R@10"]) assert.ok(k in ev.metrics, `${k} in ${Object.keys(ev.metrics).join(", ")}`);

    // deterministic for a seed; killed after 2 steps and resumed, the same average at step 4
    await train({ ...base, steps: 4, save: path.join(dir, "b") });
    assert.deepEqual(at("b", 4, true), at("a", 4, true));
    // what a kill after step 2 leaves: run b's directory with `latest` at step 2 and nothing later
    const c = path.join(dir, "c");
    fs.cpSync(path.join(dir, "b"), c, { recursive: true, verbatimSymlinks: true });
    for (const s of [3, 4]) fs.rmSync(path.join(c, "checkpoints", `step-00000${s}`), { recursive: true });
    fs.rmSync(path.join(c, "latest"));
    fs.symlinkSync(path.join("checkpoints", "step-000002"), path.join(c, "latest"));
    await resumeTraining(c, { threads: 1 });
    assert.deepEqual(at("c", 4, false), at("a", 4, false));
    assert.deepEqual(at("c", 4, true), at("a", 4, true));

    await assert.rejects(train({ ...base, steps: 1, ema: 1, save: path.join(dir, "d") }), (e: unknown) => e instanceof UserError && /--ema takes a decay strictly between 0 and 1/.test(e.message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
