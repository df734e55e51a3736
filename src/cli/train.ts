/** @file `clip train`: contrastive pre-training and fine-tuning from the command line. */
import { type Command, InvalidArgumentError, Option } from "commander";
import { SUMMARIES } from "./commands.js";
import cliProgress from "cli-progress";
import { UserError } from "../errors.js";
import { DATA_SPEC_HELP } from "../data/index.js";
import { PRESET_NAMES } from "../models/clip/presets.js";
import { DEFAULT_ARGS, runTraining, type RunHooks, type TrainArgs } from "../train/run.js";
import { intArg } from "./model.js";
import { printJson } from "./output.js";

function num(name: string, min = -Infinity): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number >= ${min}, got "${v}"`);
    return n;
  };
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** A probability in [0, 1]. */
function prob(name: string): (v: string) => number {
  return (v) => {
    const p = Number(v);
    if (v.trim() === "" || !(p >= 0 && p <= 1)) throw new InvalidArgumentError(`${name} must be a probability between 0 and 1, got "${v}"`);
    return p;
  };
}

/** "A,B" with 0 < A <= B (and B <= max): a range flag such as --aug-scale. */
function range(name: string, max = Infinity): (v: string) => [number, number] {
  return (v) => {
    const parts = v.split(",").map((x) => Number(x.trim()));
    if (parts.length !== 2 || !parts.every(Number.isFinite) || !(parts[0] > 0 && parts[0] <= parts[1] && parts[1] <= max)) {
      throw new InvalidArgumentError(`${name} must be two numbers MIN,MAX with 0 < MIN <= MAX${max < Infinity ? ` <= ${max}` : ""}, got "${v}"`);
    }
    return [parts[0], parts[1]];
  };
}

/** Progress on stderr: a bar on a terminal, a line every few steps otherwise. */
export function trainProgress(label: string): { hooks: Pick<RunHooks, "onStep" | "onMessage">; stop: () => void } {
  let bar: cliProgress.SingleBar | undefined;
  const t0 = Date.now();
  return {
    hooks: {
      onMessage: (m) => {
        if (bar) bar.stop();
        bar = undefined;
        process.stderr.write(`clip: ${m}\n`);
      },
      onStep: (step, total, r) => {
        const payload = { loss: r.loss.toFixed(4), lr: r.lr.toExponential(2), scale: r.logitScale.toFixed(2), sps: r.samplesPerSecond.toFixed(1) };
        if (process.stderr.isTTY && !process.env.CLIP_NO_PROGRESS) {
          if (!bar) {
            bar = new cliProgress.SingleBar(
              { stream: process.stderr, format: `${label} [{bar}] {value}/{total} | loss {loss} | lr {lr} | scale {scale} | {sps} samples/s | ETA {eta_formatted}`, hideCursor: true },
              cliProgress.Presets.shades_classic,
            );
            bar.start(total, step - 1, payload);
          }
          bar.update(step, payload);
        } else if (step === total || step % Math.max(1, Math.floor(total / 20)) === 0) {
          const eta = ((Date.now() - t0) / 1000 / step) * (total - step);
          process.stderr.write(`${label} step ${step}/${total} loss ${payload.loss} lr ${payload.lr} scale ${payload.scale} ${payload.sps} samples/s ETA ${eta.toFixed(0)}s\n`);
        }
      },
    },
    stop: () => bar?.stop(),
  };
}

/** What commander parses: the run's arguments (required ones checked in the action), plus CLI-only flags. */
type TrainFlags = Omit<TrainArgs, "data" | "save" | "batchSize" | "lockImage" | "lockText"> &
  Partial<Pick<TrainArgs, "data" | "save" | "batchSize" | "lockImage" | "lockText">> & { resume?: string; json?: boolean };

export function register(program: Command): void {
  program
    .command("train")
    .summary(SUMMARIES.train)
    .description("Train CLIP contrastively from scratch (--arch/--config) or fine-tune a checkpoint (--init); --resume continues a run")
    .option("--data <spec>", `training data (image-text pairs). ${DATA_SPEC_HELP}`)
    .option("--val-data <spec>", "validation data evaluated during training (zero-shot when it has class labels, retrieval when it has captions)")
    .option("--arch <name>", `a preset to train from scratch: ${PRESET_NAMES.join(", ")}`)
    .option("--config <file>", "an open_clip_config.json (or a bare model_cfg) to train from scratch")
    .option("--init <dir>", "a checkpoint to fine-tune: a directory or a hub id (hf-hub:ORG/NAME)")
    .option("--vocab <file>", "tokenizer vocabulary for a from-scratch run (bpe_simple_vocab_16e6.txt.gz or one from clip tokenize train)")
    .option("--vocab-size <n>", "learn a BPE vocabulary of this size from the training captions first", intArg("--vocab-size", 514))
    .option("--batch-size <n>", "pairs per forward pass (the contrastive batch is batch-size x accum-freq)", intArg("--batch-size", 2))
    .option("--steps <n>", "optimizer steps", intArg("--steps"))
    .option("--epochs <n>", "passes over the data (needs a known dataset size)", intArg("--epochs"))
    .option("--accum-freq <k>", "micro-batches per step, with open_clip's feature caching", intArg("--accum-freq"), DEFAULT_ARGS.accumFreq)
    .option("--lr <x>", "peak learning rate", num("--lr", 0), DEFAULT_ARGS.lr)
    .option("--wd <x>", "AdamW weight decay (not on gains, biases, norms, logit_scale)", num("--wd", 0), DEFAULT_ARGS.wd)
    .option("--beta1 <x>", "AdamW beta1", num("--beta1", 0), DEFAULT_ARGS.beta1)
    .option("--beta2 <x>", "AdamW beta2", num("--beta2", 0), DEFAULT_ARGS.beta2)
    .option("--eps <x>", "AdamW epsilon", num("--eps", 0), DEFAULT_ARGS.eps)
    .option("--warmup <n>", "linear warmup steps", intArg("--warmup", 0), DEFAULT_ARGS.warmup)
    .addOption(new Option("--schedule <kind>", "learning-rate schedule after warmup").choices(["cosine", "const"]).default(DEFAULT_ARGS.schedule))
    .addOption(new Option("--loss <kind>", "clip: symmetric InfoNCE; siglip: sigmoid loss with a learned bias").choices(["clip", "siglip"]).default(DEFAULT_ARGS.loss))
    .option("--no-augment", "inference preprocessing instead of random resized crops; always the first caption")
    .option("--aug-scale <min,max>", "random resized crop: range of the crop's area fraction (open_clip default 0.9,1)", range("--aug-scale", 1))
    .option("--aug-ratio <min,max>", "random resized crop: range of the crop's aspect ratio (default 0.75,1.3333)", range("--aug-ratio"))
    .option("--aug-hflip <p>", "probability of flipping a training image left to right (timm's hflip; default 0)", prob("--aug-hflip"))
    .option("--no-shuffle", "take samples in file order")
    .option("--seed <n>", "seed of initialization, shuffling and augmentation", intArg("--seed", 0), DEFAULT_ARGS.seed)
    .option("--lock-image", "freeze the image tower (LiT)")
    .option("--lock-text", "freeze the text tower")
    .option("--lock <regex>", "freeze parameters whose key matches (repeatable)", collect, [])
    .option("--unlock <regex>", "train parameters whose key matches even when locked (repeatable)", collect, [])
    .option("--grad-clip <x>", "clip the global gradient norm", num("--grad-clip", 0))
    .option("--save <dir>", "run directory: checkpoints/, latest, metrics.jsonl, plot.svg")
    .option("--save-every <n>", "checkpoint every n steps (default: steps/10)", intArg("--save-every"))
    .option("--eval-every <n>", "validate every n steps (default: steps/5)", intArg("--eval-every"))
    .option("--resume <dir>", "continue the run in this directory from its latest checkpoint")
    .option("--threads <n>", "threads (default: all cores)", intArg("--threads"))
    .option("--json", "print a JSON summary at the end")
    .action(async (o: TrainFlags) => {
      const progress = trainProgress("train");
      const { evaluator } = await import("./train_eval.js");
      let result;
      try {
        if (o.resume) {
          const over: Partial<TrainArgs> = {};
          if (o.steps !== undefined) over.steps = o.steps;
          if (o.threads !== undefined) over.threads = o.threads;
          const { readArgs } = await import("../train/run.js");
          result = await runTraining(undefined, o.resume, { ...progress.hooks, evaluate: evaluator(readArgs(o.resume).valData, o.threads) }, over);
        } else {
          if (!o.data) throw new UserError("--data SPEC is required (or --resume DIR)");
          if (!o.save) throw new UserError("--save DIR is required: the run directory for checkpoints and metrics");
          if (!o.batchSize) throw new UserError("--batch-size N is required");
          if (o.steps === undefined && o.epochs === undefined) throw new UserError("give --steps N or --epochs N");
          const { resume: _resume, json: _json, ...flags } = o;
          const args: TrainArgs = { ...flags, data: o.data, save: o.save, batchSize: o.batchSize, lockImage: !!o.lockImage, lockText: !!o.lockText };
          for (const [flag, list] of [["--lock", o.lock], ["--unlock", o.unlock]] as const) {
            for (const p of list) {
              try {
                new RegExp(p);
              } catch (e) {
                throw new UserError(`${flag} ${p}: not a regular expression (${(e as Error).message})`);
              }
            }
          }
          result = await runTraining(args, undefined, { ...progress.hooks, evaluate: evaluator(o.valData, o.threads) });
        }
      } finally {
        progress.stop();
      }
      if (o.json) printJson(result);
      else {
        process.stderr.write(`clip: data: ${result.dataStats}\n`);
        const ev = result.evals.at(-1);
        process.stdout.write(
          `trained ${result.steps} steps, final loss ${result.finalLoss.toFixed(4)}; checkpoint ${result.checkpoint}` +
            (ev ? `\nvalidation at step ${ev.step}: ${Object.entries(ev.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ")}` : "") +
            "\n",
        );
      }
    });
}
