/**
 * @file The library's training entry points: `train(options)` starts a run, `resumeTraining(dir)`
 * continues a killed one exactly. `clip train` is a thin user of both.
 */
import { UserError } from "../errors.js";
import { ClipModel } from "../clip/model.js";
import type { RunHooks, RunResult, TrainArgs } from "./run.js";
import type { StepResult } from "./trainer.js";
import { DEFAULT_ARGS } from "./defaults.js";

export { DEFAULT_ARGS } from "./defaults.js";
export type { RunResult, TrainArgs } from "./run.js";
export type { StepResult } from "./trainer.js";

// the training engine (graphs, ONNX Runtime, data readers) loads when a run starts
const runModule = (): Promise<typeof import("./run.js")> => import("./run.js");

/** Progress callbacks of a run. */
export interface TrainCallbacks {
  /** After every optimizer step: the step (1-based), the total, the loss and throughput. */
  onStep?: (step: number, total: number, result: StepResult & { samplesPerSecond: number }) => void;
  /** Notes about the run (data skipped, checkpoints written), one line each. */
  onMessage?: (message: string) => void;
}

/**
 * Everything a run needs. Required: `data` (a data SPEC), `save` (the run directory),
 * `batchSize`, `steps` or `epochs`, and one of `arch` (a preset name), `config` (an
 * open_clip_config.json) or `init` (a checkpoint to fine-tune). The rest defaults to open_clip's
 * conventions (`DEFAULT_ARGS`: AdamW 5e-4, betas 0.9/0.98, eps 1e-6, wd 0.2, cosine schedule).
 */
export type TrainOptions = Partial<TrainArgs> & Pick<TrainArgs, "data" | "save" | "batchSize"> & TrainCallbacks;

/** Validates each saved checkpoint on `valData` (zero-shot for labelled data, retrieval for captions). */
export function checkpointEvaluator(valData: string | undefined, threads?: number): RunHooks["evaluate"] {
  if (!valData) return undefined;
  return async (ckptDir) => {
    const [model, { validate }] = await Promise.all([ClipModel.load(ckptDir, { threads, truncate: "silent" }), import("./validate.js")]);
    try {
      return await validate(model, valData);
    } finally {
      await model.dispose();
    }
  };
}

/** Trains CLIP (from scratch or fine-tuning) with open_clip's conventions; resolves when the run ends. */
export async function train(options: TrainOptions): Promise<RunResult> {
  const { onStep, onMessage, ...rest } = options;
  if (!rest.data) throw new UserError("train: `data` (a data SPEC) is required");
  if (!rest.save) throw new UserError("train: `save` (the run directory for checkpoints and metrics) is required");
  if (!rest.batchSize) throw new UserError("train: `batchSize` is required");
  if (rest.steps === undefined && rest.epochs === undefined) throw new UserError("train: give `steps` or `epochs`");
  const args: TrainArgs = { ...DEFAULT_ARGS, ...rest, lock: rest.lock ?? [], unlock: rest.unlock ?? [] };
  for (const [what, list] of [["lock", args.lock], ["unlock", args.unlock]] as const) {
    for (const p of list) {
      try {
        new RegExp(p);
      } catch (e) {
        throw new UserError(`${what} ${p}: not a regular expression (${(e as Error).message})`);
      }
    }
  }
  return (await runModule()).runTraining(args, undefined, { onStep, onMessage, evaluate: checkpointEvaluator(args.valData, args.threads) });
}

/** Continues the run in `runDir` from its latest checkpoint, exactly as if it had never stopped. */
export async function resumeTraining(runDir: string, options: TrainCallbacks & { steps?: number; threads?: number; cacheImages?: number } = {}): Promise<RunResult> {
  const { onStep, onMessage, steps, threads, cacheImages } = options;
  const over: Partial<TrainArgs> = {};
  if (steps !== undefined) over.steps = steps;
  if (threads !== undefined) over.threads = threads;
  if (cacheImages !== undefined) over.cacheImages = cacheImages;
  const { readArgs, runTraining } = await runModule();
  return runTraining(undefined, runDir, { onStep, onMessage, evaluate: checkpointEvaluator(readArgs(runDir).valData, threads) }, over);
}
