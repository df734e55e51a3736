/** @file Where a training step's time goes: ORT's per-node kernel times by op type for the step graph
 * (forward, loss and backward of a recipe's model), the costliest nodes with their input shapes,
 * and the step's wall time. Kernel times can sum to more than the wall time where ORT runs nodes
 * side by side. Random pixels and tokens; the first step is a warm-up and not counted.
 * Run: node dist/bench/train/profile.js [--config recipes/flickr8k-rn64w32.json] [--batch 128] [--steps 4] [--threads N] [--top 15] */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseOpenClipConfig } from "../../src/models/clip/config.js";
import { initState } from "../../src/models/clip/init.js";
import { DEFAULT_ARGS } from "../../src/train/defaults.js";
import { trainableKeys } from "../../src/train/run.js";
import { Trainer } from "../../src/train/trainer.js";
import { Rng } from "../../src/util/rng.js";
import { kernelTimes } from "../ort_trace.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const recipe = arg("--config", path.join(ROOT, "recipes/flickr8k-rn64w32.json"));
const batch = Number(arg("--batch", "128"));
const steps = Number(arg("--steps", "4"));
const threads = Number(arg("--threads", String(os.availableParallelism())));

const { config } = parseOpenClipConfig(JSON.parse(fs.readFileSync(recipe, "utf8")));
const state = initState(config, { seed: 0 });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-train-profile-"));
const trainer = await Trainer.create(config, state, {
  loss: "clip",
  micro: batch,
  accumFreq: 1,
  adamw: { lr: DEFAULT_ARGS.lr, beta1: DEFAULT_ARGS.beta1, beta2: DEFAULT_ARGS.beta2, eps: DEFAULT_ARGS.eps, weightDecay: DEFAULT_ARGS.wd },
  warmup: 0,
  schedule: "cosine",
  steps: steps + 1,
  trainable: trainableKeys(state, DEFAULT_ARGS),
  threads,
  profilePrefix: path.join(dir, "trace"),
});
const S = config.vision_cfg.image_size;
const L = config.text_cfg.context_length;
const V = config.text_cfg.vocab_size;
const rng = new Rng(0);
const pixels = Float32Array.from({ length: batch * 3 * S * S }, () => rng.normal());
// each row: start, 20 random tokens, end, padding
const tokens = BigInt64Array.from({ length: batch * L }, (_v, i) => {
  const j = i % L;
  return BigInt(j === 0 ? V - 2 : j === 21 ? V - 1 : j > 21 ? 0 : 1 + Math.floor(rng.next() * (V - 3)));
});
await trainer.trainStep(pixels, tokens); // warm-up
const walls: number[] = [];
for (let i = 0; i < steps; i++) {
  const t0 = performance.now();
  await trainer.trainStep(pixels, tokens);
  walls.push(performance.now() - t0);
}
trainer.endProfiling();
await trainer.close();
await new Promise((r) => setTimeout(r, 200));
// the kernels of the counted steps: the warm-up is the first run
const { runs, totalUs, byOp, byNode } = kernelTimes(path.join(dir, fs.readdirSync(dir)[0]!), 1);
const perRun = (us: number): number => Math.round(us / runs / 100) / 10; // ms per step
const median = [...walls].sort((a, b) => a - b)[Math.floor(walls.length / 2)]!;
const kernelMs = totalUs / runs / 1000;
process.stdout.write(
  JSON.stringify(
    {
      recipe: path.relative(ROOT, recipe),
      batch,
      steps,
      threads,
      step_wall_ms_median: Math.round(median),
      samples_per_s: Math.round((batch / median) * 1000 * 10) / 10,
      kernel_ms_per_step: Math.round(kernelMs),
      ms_per_step_by_op: Object.fromEntries([...byOp].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, perRun(v)])),
      top_nodes_ms_per_step: Object.fromEntries([...byNode].sort((a, b) => b[1] - a[1]).slice(0, Number(arg("--top", "15"))).map(([k, v]) => [k, perRun(v)])),
      load_average: os.loadavg(),
    },
    null,
    2,
  ) + "\n",
);
fs.rmSync(dir, { recursive: true, force: true });
