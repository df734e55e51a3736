/**
 * @file Where the time of a zero-shot evaluation goes: ViT-B-32 over the CIFAR-10 test set
 * (../shared/datasets/cifar10), phase by phase — reading the shards, the text tower (10 classes x
 * 18 templates), image decoding + preprocessing, the image tower, the metrics — and the share of
 * the wall time spent executing the model. The issue's target: >= 90% in model execution.
 *
 * Run (after `npm run build`):
 *   node dist/bench/eval/zeroshot_cifar10.js [--model DIR] [--limit N] [--batch N] [--threads N]
 * Without --model, a randomly initialized ViT-B-32 is written to a temporary folder with
 * `clip init` (speed does not depend on the weights' values).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { openDataset } from "../../src/data/index.js";
import { ClipModel } from "../../src/clip/model.js";
import { getTemplates } from "../../src/eval/templates.js";
import { buildZeroShotClassifier, evaluateZeroShot } from "../../src/eval/zeroshot.js";
import { CLI, DATASETS, VOCAB } from "../../test/helpers/shared.js";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    limit: { type: "string", default: "10000" },
    batch: { type: "string", default: "256" },
    threads: { type: "string" },
  },
});
const limit = Number(values.limit);
const batch = Number(values.batch);
const threads = values.threads !== undefined ? Number(values.threads) : undefined;

let dir = values.model;
let tmp: string | undefined;
if (!dir) {
  tmp = mkdtempSync(path.join(tmpdir(), "clip-bench-vitb32-"));
  dir = path.join(tmp, "ViT-B-32");
  execFileSync(process.execPath, [CLI, "init", "--arch", "ViT-B-32", "--out", dir, "--vocab", VOCAB], { stdio: "inherit" });
}
if (!existsSync(dir)) throw new Error(`--model ${dir}: no such directory`);

const phases: Record<string, number> = {};
const time = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
  const t = performance.now();
  const r = await fn();
  phases[name] = (phases[name] ?? 0) + (performance.now() - t) / 1000;
  return r;
};

try {
  const model = await time("load + compile", async () => {
    const m = await ClipModel.load(dir!, threads !== undefined ? { threads } : {});
    await m.encodeTexts(["warm up"]); // compiles the text graph
    await m.encodePixels(new Float32Array(3 * m.imageSize * m.imageSize), 1); // and the image graph
    return m;
  });
  const wall0 = performance.now();
  const ds = openDataset(path.join(DATASETS, "cifar10"));
  const images: Uint8Array[] = [];
  const labels: number[] = [];
  await time("read shards", async () => {
    for await (const s of ds) {
      if (images.length >= limit) break;
      images.push(s.image!);
      labels.push(s.label!);
    }
  });
  const weights = await time("text tower (classifier)", () => buildZeroShotClassifier(model, ds.classnames!, getTemplates("cifar10")));
  const chunks: Float32Array[] = [];
  for (let i = 0; i < images.length; i += batch) {
    const part = images.slice(i, i + batch);
    // encodeImages decodes and preprocesses the next 32 images in worker threads while the image tower runs
    const e = await time("image tower (decode + preprocess overlapped)", () => model.encodeImages(part, { normalize: false }));
    chunks.push(e.data);
    process.stderr.write(`\r${Math.min(i + batch, images.length)}/${images.length}`);
  }
  process.stderr.write("\n");
  const data = new Float32Array(images.length * model.embedDim);
  chunks.reduce((o, c) => (data.set(c, o), o + c.length), 0);
  const m = await time("metrics", async () => evaluateZeroShot({ data, n: images.length, dim: model.embedDim }, labels, weights, model.logitScale));
  const wall = (performance.now() - wall0) / 1000;
  await model.close();

  console.log(`machine: ${cpus()[0]?.model ?? "?"}, ${availableParallelism()} threads; model ${dir}; ${images.length} CIFAR-10 test images, batch ${batch}`);
  console.log(`| phase | seconds | share of wall |`);
  console.log(`| --- | ---: | ---: |`);
  for (const [k, v] of Object.entries(phases)) {
    const share = k === "load + compile" ? "(before)" : `${((100 * v) / wall).toFixed(1)}%`;
    console.log(`| ${k} | ${v.toFixed(2)} | ${share} |`);
  }
  const tower = phases["image tower (decode + preprocess overlapped)"]!;
  const modelExec = tower + phases["text tower (classifier)"]!;
  console.log(`wall ${wall.toFixed(2)} s (${(images.length / wall).toFixed(1)} images/s); image tower ${((100 * tower) / wall).toFixed(1)}%, model execution (both towers) ${((100 * modelExec) / wall).toFixed(1)}%`);
  console.log(`top-1 ${(100 * m.top1).toFixed(2)}% (random weights: chance is 10%)`);
} finally {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}
