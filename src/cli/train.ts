/** @file `clip train`: contrastive pre-training and fine-tuning from the command line. */
import { type Command, Option } from "commander";
import { SUMMARIES } from "./summaries.js";
import cliProgress from "cli-progress";
import { UserError } from "../errors.js";
import { DATA_SPEC_HELP } from "../data/index.js";
import { PRESET_NAMES } from "../models/clip/presets.js";
import { DEFAULT_ARGS, resumeTraining, train, type TrainArgs } from "../train/index.js";
import type { RunHooks } from "../train/run.js";
import { printJson } from "./output.js";
import { collect, fractionArg, intArg, numArg, probArg, rangeArg, unitArg } from "./options.js";

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
    .option(
      "--captions-per-image <k>",
      "captions of each image in every step, all positives of a multi-positive loss (StableRep's); 1 picks one at random (needs --accum-freq 1 when above 1)",
      intArg("--captions-per-image", 1),
      DEFAULT_ARGS.captionsPerImage,
    )
    .option(
      "--label-smoothing <e>",
      "label smoothing of the CLIP loss: each target is (1 - e) x the pair plus e spread over the batch (torch's label_smoothing; Szegedy et al. 2016)",
      unitArg("--label-smoothing"),
      DEFAULT_ARGS.labelSmoothing,
    )
    .addOption(
      new Option(
        "--hard-negatives [k]",
        "NegCLIP's hard negatives, k per caption (default 1): each image's caption comes with the sample's negative captions (the same words for twins that differ in their shapes; synth data with negatives=k) as extra candidates of the image->text loss",
      )
        .argParser(intArg("--hard-negatives"))
        .preset(1),
    )
    .option("--lr <x>", "peak learning rate", numArg("--lr", 0), DEFAULT_ARGS.lr)
    .option("--wd <x>", "AdamW weight decay (not on gains, biases, norms, logit_scale)", numArg("--wd", 0), DEFAULT_ARGS.wd)
    .option("--beta1 <x>", "AdamW beta1", numArg("--beta1", 0), DEFAULT_ARGS.beta1)
    .option("--beta2 <x>", "AdamW beta2", numArg("--beta2", 0), DEFAULT_ARGS.beta2)
    .option("--eps <x>", "AdamW epsilon", numArg("--eps", 0), DEFAULT_ARGS.eps)
    .option("--warmup <n>", "linear warmup steps", intArg("--warmup", 0), DEFAULT_ARGS.warmup)
    .addOption(new Option("--schedule <kind>", "learning-rate schedule after warmup").choices(["cosine", "const"]).default(DEFAULT_ARGS.schedule))
    .addOption(new Option("--loss <kind>", "clip: symmetric InfoNCE; siglip: sigmoid loss with a learned bias").choices(["clip", "siglip"]).default(DEFAULT_ARGS.loss))
    .option("--no-augment", "inference preprocessing instead of random resized crops; always the first caption")
    .option("--aug-scale <min,max>", "random resized crop: range of the crop's area fraction (open_clip default 0.9,1)", rangeArg("--aug-scale", 1))
    .option("--aug-ratio <min,max>", "random resized crop: range of the crop's aspect ratio (default 0.75,1.3333)", rangeArg("--aug-ratio"))
    .option("--aug-hflip <p>", "probability of flipping a training image left to right (timm's hflip; default 0)", probArg("--aug-hflip"))
    .option("--aug-gray <p>", "probability of turning a training image gray (torchvision's RandomGrayscale, open_clip's gray_scale_prob; default 0)", probArg("--aug-gray"))
    .option("--no-shuffle", "take samples in file order")
    .option("--seed <n>", "seed of initialization, shuffling and augmentation", intArg("--seed", 0), DEFAULT_ARGS.seed)
    .option("--lock-image", "freeze the image tower (LiT)")
    .option("--lock-text", "freeze the text tower")
    .option("--lock <regex>", "freeze parameters whose key matches (repeatable)", collect, [])
    .option("--unlock <regex>", "train parameters whose key matches even when locked (repeatable)", collect, [])
    .option("--grad-clip <x>", "clip the global gradient norm", numArg("--grad-clip", 0))
    .option("--ema <decay>", "also keep an exponential moving average of the weights with this decay (timm's ModelEmaV2; e.g. 0.999): saved as each checkpoint's ema/, validated as ema_*", fractionArg("--ema"))
    .option("--save <dir>", "run directory: checkpoints/, latest, metrics.jsonl, plot.svg")
    .option("--save-every <n>", "checkpoint every n steps (default: steps/10)", intArg("--save-every"))
    .option("--eval-every <n>", "validate every n steps (default: steps/5)", intArg("--eval-every"))
    .option("--resume <dir>", "continue the run in this directory from its latest checkpoint")
    .option("--threads <n>", "threads (default: all cores)", intArg("--threads"))
    .option("--cache-images <GiB>", "keep up to this many GiB of decoded training images in memory between epochs: later epochs crop them instead of decoding again, with the same pixels (default: a quarter of the memory, at most 8; 0: decode every time)", numArg("--cache-images", 0))
    .option("--json", "print a JSON summary at the end")
    .action(async (o: TrainFlags) => {
      const progress = trainProgress("train");
      let result;
      try {
        if (o.resume) result = await resumeTraining(o.resume, { ...progress.hooks, steps: o.steps, threads: o.threads, cacheImages: o.cacheImages });
        else {
          if (!o.data) throw new UserError("--data SPEC is required (or --resume DIR)");
          if (!o.save) throw new UserError("--save DIR is required: the run directory for checkpoints and metrics");
          if (!o.batchSize) throw new UserError("--batch-size N is required");
          if (o.steps === undefined && o.epochs === undefined) throw new UserError("give --steps N or --epochs N");
          const { resume: _resume, json: _json, ...flags } = o;
          result = await train({ ...flags, data: o.data, save: o.save, batchSize: o.batchSize, lockImage: !!o.lockImage, lockText: !!o.lockText, ...progress.hooks });
        }
      } finally {
        progress.stop();
      }
      if (o.json) printJson(result);
      else {
        process.stderr.write(`clip: data: ${result.dataStats}\n`);
        const ev = result.evals.at(-1);
        process.stdout.write(
          `trained ${result.steps} steps in ${(result.seconds / 60).toFixed(1)} min, final loss ${result.finalLoss.toFixed(4)}; checkpoint ${result.checkpoint}` +
            (ev ? `\nvalidation at step ${ev.step}: ${Object.entries(ev.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(", ")}` : "") +
            "\n",
        );
      }
    });
}
