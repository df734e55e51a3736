/** @file `clip demo`: the main job offline. Renders the procedural world, trains a small CLIP on it, and
 * reports zero-shot accuracy on held-out compositions and retrieval recall. Nothing is downloaded. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Option, type Command } from "commander";
import { SUMMARIES } from "./summaries.js";
import { ClipModel } from "../clip/model.js";
import { DEFAULT_ARGS, EMA_DIR, runTraining, type TrainArgs } from "../train/run.js";
import { validate } from "../train/validate.js";
import { fractionArg, intArg, positiveArg, probArg, rangeArg } from "./options.js";
import { readJson } from "../weights/layout.js";
import { UserError } from "../errors.js";
import { printJson } from "./output.js";
import { trainProgress } from "./train.js";
import { DEMO_RESNET_CONFIG } from "../models/clip/presets.js";

type ModelCfgDoc = { text_cfg?: { vocab_size?: unknown }; vision_cfg?: { image_size?: unknown } };

/** The text vocabulary size and image side a config file names (open_clip_config.json or a bare model_cfg), where it does. */
function configSizes(file: string): { vocabSize?: number; imageSize?: number } {
  let doc;
  try {
    doc = readJson(file) as (ModelCfgDoc & { model_cfg?: ModelCfgDoc }) | null;
  } catch (e) {
    throw e instanceof UserError ? new UserError(`--config ${e.message}`) : e;
  }
  const cfg = doc?.model_cfg ?? doc;
  const vocabSize = cfg?.text_cfg?.vocab_size;
  const imageSize = cfg?.vision_cfg?.image_size;
  return { vocabSize: typeof vocabSize === "number" ? vocabSize : undefined, imageSize: typeof imageSize === "number" ? imageSize : undefined };
}

/** Training scenes per block of shape-only differences (synth's `group`). */
const DEMO_GROUP = 1;
/** The training captions' mix (synth's `captions`). */
const DEMO_CAPTIONS = "full";
/** The share of training scenes drawn in gray with color-free captions (synth's `mono`). */
const DEMO_MONO = 0;

interface DemoFlags {
  out: string;
  steps: number;
  batchSize: number;
  n: number;
  seed: number;
  evalN: number;
  threads?: number;
  config?: string;
  lr: number;
  group: number;
  ema?: number;
  augGray: number;
  augScale?: [number, number];
  augRatio?: [number, number];
  captions: "full" | "partial";
  mono: number;
  hardNegatives?: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("demo")
    .summary(SUMMARIES.demo)
    .description("The offline main job: render a captioned world of shapes, train a small CLIP on it from scratch, and report zero-shot accuracy on held-out color-shape compositions and retrieval recall")
    .option("--out <dir>", "run directory (checkpoints, metrics, plot)", "clip-demo")
    .option("--steps <n>", "training steps", intArg("--steps"), 1100)
    .option("--batch-size <n>", "contrastive batch", intArg("--batch-size", 2), 64)
    .option("--n <n>", "training scenes", intArg("--n", 100), 20000)
    .option("--seed <n>", "seed of the world and the run", intArg("--seed", 0), 0)
    .option("--eval-n <n>", "scenes per evaluation set", intArg("--eval-n", 10), 800)
    .option("--threads <n>", "threads (default: all cores)", intArg("--threads"))
    .option("--config <file>", "an open_clip_config.json (or its model_cfg) to train instead of the demo's own model (a width-16 ModifiedResNet at 64 px, recipes/demo-rn16.json); the world is rendered at its image_size")
    .option("--lr <x>", "peak learning rate", positiveArg("--lr"), 1e-3)
    .option("--group <g>", "hard negatives: the training scenes come in blocks of g that differ only in shape (synth's group=; 1: independent scenes)", intArg("--group", 1), DEMO_GROUP)
    .option("--ema <decay>", "evaluate and leave a moving average of the weights with this decay (clip train --ema)", fractionArg("--ema"))
    .option("--aug-gray <p>", "probability of training on a scene turned gray (clip train --aug-gray): only shape, count and layout tell its captions apart", probArg("--aug-gray"), 0)
    .option("--aug-scale <min,max>", "random resized crop: range of the crop's area fraction (clip train --aug-scale; default 0.9,1)", rangeArg("--aug-scale", 1))
    .option("--aug-ratio <min,max>", "random resized crop: range of the crop's aspect ratio (clip train --aug-ratio; default 0.75,1.3333)", rangeArg("--aug-ratio"))
    .addOption(new Option("--captions <mix>", "the training captions: full (every object named by color and shape) or partial (count and relation scenes also named by their shapes alone, so color alone never tells those captions apart)").choices(["full", "partial"]).default(DEMO_CAPTIONS))
    .option("--mono <p>", "the share of training scenes drawn in gray and captioned without color words (synth's mono=): there shape, count and layout are all the captions name", probArg("--mono"), DEMO_MONO)
    .addOption(
      new Option("--hard-negatives [k]", "NegCLIP's hard negatives, k per caption (default 1; clip train --hard-negatives): each caption comes with the same caption for k twin scenes of other shapes (synth's negatives=k), which the image must score lower")
        .argParser(intArg("--hard-negatives"))
        .preset(1),
    )
    .option("--json", "print the results as one JSON document")
    .action(async (o: DemoFlags) => {
      const t0 = performance.now();
      fs.mkdirSync(o.out, { recursive: true });
      let config = o.config;
      if (!config) {
        config = path.join(o.out, "demo_config.json");
        fs.writeFileSync(config, JSON.stringify(DEMO_RESNET_CONFIG, null, 2) + "\n");
      }
      // the world is rendered at the model's image side
      const sizes = o.config ? configSizes(o.config) : {};
      const size = sizes.imageSize ?? DEMO_RESNET_CONFIG.model_cfg.vision_cfg.image_size;
      const args: TrainArgs = {
        ...DEFAULT_ARGS,
        data: `synth:?n=${o.n}&seed=${o.seed}&size=${size}&split=train&group=${o.group}&captions=${o.captions}${o.mono > 0 ? `&mono=${o.mono}` : ""}${o.hardNegatives ? `&negatives=${o.hardNegatives}` : ""}`,
        // a block of shape-only differences must reach the step whole, in order
        shuffle: o.group === 1,
        config,
        vocabSize: sizes.vocabSize || DEMO_RESNET_CONFIG.model_cfg.text_cfg.vocab_size,
        batchSize: o.batchSize,
        steps: o.steps,
        lr: o.lr,
        wd: 0.1,
        warmup: Math.min(100, Math.floor(o.steps / 10)),
        schedule: "cosine",
        seed: o.seed,
        save: path.join(o.out, "run"),
        saveEvery: Math.max(1, Math.floor(o.steps / 4)),
        evalEvery: o.steps,
        threads: o.threads,
        ema: o.ema,
        augGray: o.augGray,
        augScale: o.augScale,
        augRatio: o.augRatio,
        hardNegatives: o.hardNegatives,
      };
      const progress = trainProgress("demo");
      if (fs.existsSync(path.join(args.save, "latest"))) fs.rmSync(args.save, { recursive: true, force: true });
      let result;
      try {
        progress.hooks.onMessage?.(`training a small CLIP on ${o.n} rendered scenes (${o.steps} steps of ${o.batchSize}, ${o.threads ?? os.availableParallelism()} threads)`);
        result = await runTraining(args, undefined, progress.hooks);
      } finally {
        progress.stop();
      }
      const trainSeconds = (performance.now() - t0) / 1000;
      // with --ema the average is the model the run leaves
      const checkpoint = o.ema === undefined ? result.checkpoint : path.join(result.checkpoint, EMA_DIR);
      const model = await ClipModel.load(checkpoint, { threads: o.threads, truncate: "silent" });
      const evals: Record<string, Record<string, number>> = {};
      try {
        for (const task of ["shape", "color", "count"]) {
          evals[`heldout_${task}`] = await validate(model, `synth:?n=${o.evalN}&seed=${o.seed + 1001}&size=${size}&split=heldout&task=${task}`);
          evals[`seen_${task}`] = await validate(model, `synth:?n=${o.evalN}&seed=${o.seed + 2001}&size=${size}&split=val&task=${task}`);
        }
        evals.retrieval_val = await validate(model, `synth:?n=${o.evalN}&seed=${o.seed + 3001}&size=${size}&split=val`);
      } finally {
        await model.close();
      }
      const chance = { shape: 1 / 8, color: 1 / 8, count: 1 / 4 };
      const doc = {
        checkpoint,
        steps: result.steps,
        final_loss: result.finalLoss,
        train_seconds: trainSeconds,
        zeroshot_top1: Object.fromEntries(Object.entries(evals).filter(([k]) => k !== "retrieval_val").map(([k, v]) => [k, v.zeroshot_top1])),
        chance,
        retrieval: evals.retrieval_val,
        total_seconds: (performance.now() - t0) / 1000,
      };
      if (o.json) {
        printJson(doc);
        return;
      }
      const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
      const lines = [
        `Trained ${result.steps} steps in ${trainSeconds.toFixed(0)} s (final loss ${result.finalLoss.toFixed(3)}); checkpoint: ${checkpoint}`,
        "",
        "Zero-shot top-1 from class-name prompts (never trained as a classifier):",
        "| attribute | held-out color-shape pairs | seen pairs | chance |",
        "| --- | --- | --- | --- |",
        ...(["shape", "color", "count"] as const).map((t) => `| ${t} | ${pct(evals[`heldout_${t}`].zeroshot_top1)} | ${pct(evals[`seen_${t}`].zeroshot_top1)} | ${pct(chance[t])} |`),
        "",
        `Retrieval on ${o.evalN} unseen scenes: text->image R@1 ${pct(evals.retrieval_val["t2i_R@1"])}, R@5 ${pct(evals.retrieval_val["t2i_R@5"])}; image->text R@1 ${pct(evals.retrieval_val["i2t_R@1"])}, R@5 ${pct(evals.retrieval_val["i2t_R@5"])}`,
        "",
        `Try it: npx clip classify --model ${path.join(args.save, "latest", ...(o.ema === undefined ? [] : [EMA_DIR]))} --labels "star,circle,ring,square" IMAGE.png`,
      ];
      process.stdout.write(lines.join("\n") + "\n");
    });
}
