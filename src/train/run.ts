/** @file A training run: model and vocabulary setup, the data stream, steps, checkpoints, metrics, resume. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { InternalError, UserError } from "../errors.js";
import { nodeBackend } from "../runtime/ort.node.js";
import { openDataset, keepDecoded, formatStats, type Dataset, type DataPosition, type Sample } from "../data/index.js";
import { ImagePool } from "../image/pool.node.js";
import { type ClipConfig, defaultPreprocess, isBuffer, parseModelCfg, parseOpenClipConfig, type PreprocessCfg, type StateDict } from "../models/clip/config.js";
import { initState } from "../models/clip/init.js";
import { imageConfig } from "../clip/model.js";
import { presetConfig } from "../models/clip/presets.js";
import { ClipTokenizer, trainBpe, writeBpeVocab } from "../tokenizer/index.js";
import { BPE_VOCAB, loadCheckpoint, saveCheckpoint } from "../weights/checkpoint.js";
import { resolveModel } from "../weights/hub/resolve.js";
import { readSafetensorsFile, writeSafetensorsFile } from "../weights/files.js";
import { INIT_LOGIT_BIAS, INIT_LOGIT_SCALE, type LossKind } from "./losses.js";
import { lineChartSvg } from "./plot.js";
import { hashSeed } from "../util/rng.js";
import type { ScheduleKind } from "./schedule.js";
import { ensureLossState, type StepResult, Trainer } from "./trainer.js";
import { checkEmaDecay, WeightEma } from "./ema.js";

/** Everything that defines a run; saved as args.json so `--resume` continues it exactly. */
export interface TrainArgs {
  data: string;
  valData?: string;
  arch?: string;
  config?: string;
  init?: string;
  vocab?: string;
  vocabSize?: number;
  batchSize: number;
  steps?: number;
  epochs?: number;
  accumFreq: number;
  /**
   * Captions per image in every step (default 1): K of the image's captions, all positives of the
   * multi-positive loss (`clipLoss`); an image with fewer than K captions repeats them. Needs accumFreq 1.
   */
  captionsPerImage?: number;
  /** Label smoothing e of the CLIP loss (torch's `label_smoothing`; default 0): see `clipLoss`. */
  labelSmoothing?: number;
  /**
   * NegCLIP's hard negatives, this many per caption (0: none): each image's caption comes with the
   * sample's aligned negative captions (`Sample.negatives`, synth's negatives=K), extra candidates
   * of the image -> text loss (`clipLossHardNegatives`). Needs one caption per image, --accum-freq 1
   * and --loss clip. (Runs saved before counts were allowed say `true`: one.)
   */
  hardNegatives?: number;
  lr: number;
  wd: number;
  beta1: number;
  beta2: number;
  eps: number;
  warmup: number;
  schedule: ScheduleKind;
  loss: LossKind;
  augment: boolean;
  /** Random resized crop area-fraction range (open_clip's aug_cfg `scale`); default [0.9, 1]. */
  augScale?: [number, number];
  /** Random resized crop aspect-ratio range (open_clip's aug_cfg `ratio`); default [3/4, 4/3]. */
  augRatio?: [number, number];
  /** Probability of flipping a training image left to right (timm's aug_cfg `hflip`); default 0. */
  augHflip?: number;
  /** Probability of turning a training image gray (torchvision's RandomGrayscale, open_clip's aug_cfg `gray_scale_prob`); default 0. */
  augGray?: number;
  shuffle: boolean;
  seed: number;
  lockImage: boolean;
  lockText: boolean;
  lock: string[];
  unlock: string[];
  gradClip?: number;
  /**
   * Decay of an exponential moving average of the weights (timm's ModelEmaV2), e.g. 0.999; off
   * when absent. Each checkpoint then holds the average as a checkpoint of its own in `ema/`, and
   * validation reports its metrics too, prefixed `ema_`.
   */
  ema?: number;
  save: string;
  saveEvery?: number;
  evalEvery?: number;
  threads?: number;
  /**
   * GiB of decoded training images kept in memory between epochs (default `defaultImageCache()`;
   * 0: decode every time). Cropping the kept pixels gives the same batches as decoding again.
   */
  cacheImages?: number;
}

/** The default of TrainArgs.cacheImages: a quarter of the machine's memory, at most 8 GiB. */
export function defaultImageCache(): number {
  return Math.min(8, os.totalmem() / 4 / 2 ** 30);
}

export { DEFAULT_ARGS } from "./defaults.js";


export interface RunHooks {
  /** Called after every step. */
  onStep?: (step: number, total: number, r: StepResult & { samplesPerSecond: number }) => void;
  /** Evaluates the current weights on the validation data; returns named metrics. */
  evaluate?: (ckptDir: string, step: number) => Promise<Record<string, number>>;
  onMessage?: (m: string) => void;
}

/** What a finished run reports: steps, final loss, the last checkpoint, data statistics and validation results. */
export interface RunResult {
  steps: number;
  finalLoss: number;
  checkpoint: string;
  dataStats: string;
  evals: { step: number; metrics: Record<string, number> }[];
  /** Wall-clock seconds of this call: setup (a vocabulary learned included), steps, checkpoints and validation. */
  seconds: number;
}

const STATE_FILE = "train_state.json";
const OPTIM_FILE = "optimizer.safetensors";
/** A checkpoint's subdirectory holding the moving average of the weights (`--ema`), itself a checkpoint. */
export const EMA_DIR = "ema";

interface TrainState {
  step: number;
  position: DataPosition;
  tokenizerWarnings: number;
}

/** The keys a run trains, from the lock options. */
export function trainableKeys(state: StateDict, args: Pick<TrainArgs, "lockImage" | "lockText" | "lock" | "unlock">): Set<string> {
  const lock = args.lock.map((p) => new RegExp(p));
  const unlock = args.unlock.map((p) => new RegExp(p));
  const out = new Set<string>();
  for (const k of state.keys()) {
    if (isBuffer(k)) continue;
    let locked = (args.lockImage && k.startsWith("visual.")) || (args.lockText && !k.startsWith("visual.") && k !== "logit_scale" && k !== "logit_bias");
    if (lock.some((r) => r.test(k))) locked = true;
    if (unlock.some((r) => r.test(k))) locked = false;
    if (!locked) out.add(k);
  }
  if (out.size === 0) throw new UserError("the lock options leave no parameter to train");
  return out;
}

interface Setup {
  config: ClipConfig;
  preprocess: PreprocessCfg;
  state: StateDict;
  tokenizer: ClipTokenizer;
  vocabFile: string;
}

async function captionsOf(spec: string, onMessage?: (m: string) => void): Promise<string[]> {
  const ds = openDataset(spec, { requireCaption: true, requireImage: false });
  const out: string[] = [];
  for await (const s of ds) out.push(...s.captions);
  onMessage?.(`read ${out.length} captions to learn a vocabulary`);
  return out;
}

/** The model, weights and tokenizer a new run starts from. */
async function setup(args: TrainArgs, runDir: string, hooks: RunHooks): Promise<Setup> {
  const sources = [args.arch, args.config, args.init].filter(Boolean).length;
  if (sources !== 1) throw new UserError("give exactly one of --arch NAME, --config FILE or --init DIR");
  if (args.init) {
    // a local directory, or a hub id (hf-hub:ORG/NAME) downloaded into the Hugging Face cache
    const ck = loadCheckpoint(await resolveModel(args.init, { onWarning: hooks.onMessage }));
    if (args.vocabSize) throw new UserError("--vocab-size trains a new vocabulary, which a checkpoint given by --init cannot use");
    const vocabFile = args.vocab ?? ck.tokenizer.bpe;
    if (!vocabFile) throw new UserError(`${args.init}: no ${BPE_VOCAB} next to the weights; pass --vocab FILE`);
    const tokenizer = await ClipTokenizer.fromFile(vocabFile, { vocabSize: ck.config.text_cfg.vocab_size, contextLength: ck.config.text_cfg.context_length });
    return { config: ck.config, preprocess: ck.preprocess, state: ck.state, tokenizer, vocabFile };
  }
  let config: ClipConfig;
  let preprocess: PreprocessCfg | undefined;
  if (args.arch) config = presetConfig(args.arch);
  else {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(args.config!, "utf8"));
    } catch (e) {
      throw new UserError(`--config ${args.config}: ${(e as Error).message}`);
    }
    if (json && typeof json === "object" && "model_cfg" in json) ({ config, preprocess } = parseOpenClipConfig(json, args.config));
    else config = parseModelCfg(json, args.config);
  }
  let vocabFile: string;
  if (args.vocabSize) {
    const trained = trainBpe(await captionsOf(args.data, hooks.onMessage), args.vocabSize);
    vocabFile = path.join(runDir, BPE_VOCAB);
    fs.mkdirSync(runDir, { recursive: true });
    await writeBpeVocab(vocabFile, trained.merges);
    hooks.onMessage?.(`learned a ${trained.vocabSize}-token vocabulary (${trained.merges.length} merges)`);
  } else if (args.vocab) {
    vocabFile = args.vocab;
  } else {
    throw new UserError(`training from scratch needs a vocabulary: --vocab FILE (e.g. ${BPE_VOCAB}) or --vocab-size N to learn one from the captions`);
  }
  const tokenizer = await ClipTokenizer.fromFile(vocabFile, { contextLength: config.text_cfg.context_length });
  config = { ...config, text_cfg: { ...config.text_cfg, vocab_size: tokenizer.vocabSize } };
  const state = initState(config, { seed: args.seed, logitScale: INIT_LOGIT_SCALE[args.loss] });
  return { config, preprocess: preprocess ?? defaultPreprocess(config.vision_cfg.image_size), state, tokenizer, vocabFile };
}

function writeJsonAtomic(file: string, value: unknown): void {
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value, null, 2) + "\n");
  fs.renameSync(`${file}.tmp`, file);
}

/** Writes checkpoints/step-N atomically (weights, optimizer moments, data position) and points `latest` at it. */
function saveRunCheckpoint(runDir: string, s: Setup, trainer: Trainer, ts: TrainState, ema: WeightEma | undefined): string {
  const name = `step-${String(ts.step).padStart(6, "0")}`;
  const final = path.join(runDir, "checkpoints", name);
  const tmp = `${final}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  saveCheckpoint(tmp, s.config, s.state, { preprocess: s.preprocess, tokenizerFiles: [s.vocabFile] });
  if (ema) saveCheckpoint(path.join(tmp, EMA_DIR), s.config, ema.state, { preprocess: s.preprocess, tokenizerFiles: [s.vocabFile] });
  const opt = trainer.optimizer.state;
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, m] of opt.m) tensors.set(`m.${k}`, { shape: [m.length], data: m });
  for (const [k, v] of opt.v) tensors.set(`v.${k}`, { shape: [v.length], data: v });
  writeSafetensorsFile(path.join(tmp, OPTIM_FILE), tensors, { step: String(opt.step) });
  writeJsonAtomic(path.join(tmp, STATE_FILE), ts);
  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(tmp, final);
  const link = path.join(runDir, "latest");
  fs.rmSync(`${link}.tmp`, { force: true });
  fs.symlinkSync(path.join("checkpoints", name), `${link}.tmp`);
  fs.renameSync(`${link}.tmp`, link);
  return final;
}

export function readArgs(runDir: string): TrainArgs {
  const file = path.join(runDir, "args.json");
  if (!fs.existsSync(file)) throw new UserError(`--resume ${runDir}: no args.json; is this a run directory written by clip train --save?`);
  let args: unknown;
  try {
    args = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new UserError(`--resume ${runDir}: ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (!args || typeof args !== "object" || Array.isArray(args)) throw new UserError(`--resume ${runDir}: ${file} is not a JSON object of training arguments`);
  return args as TrainArgs;
}

/**
 * The K captions of one training image: without `random` the first K; with it (seed, step, row)
 * one seeded random caption when K = 1, else K distinct ones in a seeded random order. Fewer than
 * K captions repeat, in that order.
 */
export function pickCaptions(caps: readonly string[], k: number, random?: [seed: number, step: number, row: number]): string[] {
  if (caps.length === 0) throw new InternalError("pickCaptions: a sample without captions");
  if (!random) return Array.from({ length: k }, (_v, j) => caps[j % caps.length]!);
  const [seed, step, row] = random;
  const u = (...tag: number[]): number => hashSeed(seed, "caption", step, row, ...tag) / 2 ** 32;
  if (k === 1) return [caps[Math.floor(u() * caps.length)]!];
  const order = caps.map((_c, j) => j);
  for (let j = order.length - 1; j > 0; j--) {
    const r = Math.floor(u(j) * (j + 1));
    [order[j], order[r]] = [order[r]!, order[j]!];
  }
  return Array.from({ length: k }, (_v, j) => caps[order[j % order.length]!]!);
}

/**
 * A sample's caption and its first `k` aligned hard negatives (`Sample.negatives`), the caption
 * picked as `pickCaptions` picks one. A sample without k negatives for every caption is a UserError.
 */
export function pickWithNegatives(sample: Sample, k: number, random?: [seed: number, step: number, row: number]): string[] {
  const { captions, negatives } = sample;
  const have = negatives?.length === captions.length ? Math.min(...negatives.map((n) => n.length)) : 0;
  if (have < k) {
    const got = negatives?.length === captions.length ? `${have} for some caption` : `negatives for ${negatives?.length ?? 0} of its ${captions.length} captions`;
    throw new UserError(`${sample.shard}:${sample.key}: --hard-negatives ${k} needs ${k} negative caption${k === 1 ? "" : "s"} for each caption (synth data with negatives=${k} or more), got ${got}`);
  }
  const [caption] = pickCaptions(captions, 1, random);
  return [caption!, ...negatives![captions.indexOf(caption!)]!.slice(0, k)];
}

/** The hard negatives per caption a run's arguments ask for; runs saved before counts say `true` for one. */
export function hardNegativeCount(args: Pick<TrainArgs, "hardNegatives">): number {
  const h = args.hardNegatives as number | boolean | undefined;
  if (h === true) return 1;
  if (h === undefined || h === false || h === 0) return 0;
  if (!Number.isInteger(h) || h < 0) throw new UserError(`--hard-negatives must be a whole number of negatives per caption, got ${String(h)}`);
  return h;
}

/** Runs training (or resumes the run in `resumeDir`), writing everything into the run directory. */
export async function runTraining(argsIn: TrainArgs | undefined, resumeDir: string | undefined, hooks: RunHooks = {}, overrides: Partial<TrainArgs> = {}): Promise<RunResult> {
  const started = performance.now();
  const args: TrainArgs = { ...(resumeDir ? readArgs(resumeDir) : argsIn!), ...overrides };
  const runDir = resumeDir ?? args.save;
  const K = args.captionsPerImage ?? 1;
  if (!Number.isInteger(K) || K < 1) throw new UserError(`captions per image must be an integer >= 1, got ${K}`);
  if (args.ema !== undefined) checkEmaDecay(args.ema);
  const smoothing = args.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing < 1)) throw new UserError(`--label-smoothing must be in [0, 1), got ${smoothing}`);
  if (smoothing > 0 && args.loss !== "clip") throw new UserError(`--label-smoothing applies to --loss clip (softmax targets), not --loss ${args.loss}`);
  const H = hardNegativeCount(args);
  if (H > 0) {
    const bad = K !== 1 ? `--captions-per-image ${K}` : args.accumFreq !== 1 ? `--accum-freq ${args.accumFreq}` : args.loss !== "clip" ? `--loss ${args.loss}` : smoothing > 0 ? `--label-smoothing ${smoothing}` : undefined;
    if (bad) throw new UserError(`--hard-negatives takes one caption per image, --accum-freq 1, --loss clip and no label smoothing; got ${bad}`);
  }
  if (K > 1 && args.accumFreq !== 1) throw new UserError(`--captions-per-image ${K} needs --accum-freq 1 (feature-cached accumulation takes one caption per image), got --accum-freq ${args.accumFreq}`);
  let s: Setup;
  let resumed: { ts: TrainState; ckpt: string } | undefined;
  if (resumeDir) {
    const latest = path.join(resumeDir, "latest");
    if (!fs.existsSync(latest)) throw new UserError(`--resume ${resumeDir}: no checkpoint saved yet (no 'latest')`);
    const ckpt = fs.realpathSync(latest);
    const ck = loadCheckpoint(ckpt);
    const vocabFile = path.join(ckpt, BPE_VOCAB);
    const tokenizer = await ClipTokenizer.fromFile(vocabFile, { vocabSize: ck.config.text_cfg.vocab_size, contextLength: ck.config.text_cfg.context_length });
    s = { config: ck.config, preprocess: ck.preprocess, state: ck.state, tokenizer, vocabFile };
    resumed = { ts: JSON.parse(fs.readFileSync(path.join(ckpt, STATE_FILE), "utf8")) as TrainState, ckpt };
  } else {
    if (fs.existsSync(path.join(runDir, "latest"))) throw new UserError(`--save ${runDir} already holds a run; use --resume ${runDir} to continue it, or another directory`);
    s = await setup(args, runDir, hooks);
    fs.mkdirSync(runDir, { recursive: true });
    writeJsonAtomic(path.join(runDir, "args.json"), args);
  }
  if (args.loss === "siglip" && s.config.init_logit_bias === undefined) s.config = { ...s.config, init_logit_bias: INIT_LOGIT_BIAS };
  ensureLossState(s.state, args.loss);

  const micro = args.batchSize;
  const n = micro * args.accumFreq;
  const ds: Dataset = openDataset(args.data, {
    shuffle: args.shuffle,
    seed: args.seed,
    epochs: Infinity,
    requireImage: true,
    requireCaption: true,
    position: resumed?.ts.position,
  });
  await ds.ready();
  let steps = args.steps;
  if (steps === undefined) {
    const count = ds.count();
    if (!args.epochs) throw new UserError("give --steps N or --epochs N");
    if (count === undefined) throw new UserError(`--epochs needs to know the dataset's size, which ${args.data} does not say (no sizes.json); use --steps`);
    steps = Math.max(1, Math.floor(count / n) * args.epochs);
  }
  const trainable = trainableKeys(s.state, args);
  const trainer = await Trainer.create(s.config, s.state, {
    loss: args.loss,
    micro,
    accumFreq: args.accumFreq,
    captionsPerImage: H > 0 ? 1 + H : K,
    labelSmoothing: smoothing,
    hardNegatives: H > 0,
    adamw: { lr: args.lr, beta1: args.beta1, beta2: args.beta2, eps: args.eps, weightDecay: args.wd },
    warmup: args.warmup,
    schedule: args.schedule,
    steps,
    gradClip: args.gradClip,
    trainable,
    threads: args.threads,
    backend: nodeBackend,
  });
  if (resumed) {
    const opt = readSafetensorsFile(path.join(resumed.ckpt, OPTIM_FILE));
    const st = trainer.optimizer.state;
    st.step = Number(opt.metadata.step);
    for (const [k, t] of opt.tensors) (k.startsWith("m.") ? st.m : st.v).set(k.slice(2), Float32Array.from(t.data as Float32Array));
    if (st.step !== resumed.ts.step) throw new UserError(`${resumed.ckpt}: optimizer step ${st.step} does not match the saved step ${resumed.ts.step}`);
  }
  let ema: WeightEma | undefined;
  if (args.ema !== undefined) {
    let saved: StateDict | undefined;
    if (resumed) {
      const dir = path.join(resumed.ckpt, EMA_DIR);
      if (!fs.existsSync(dir)) throw new UserError(`--resume: ${resumed.ckpt} has no ${EMA_DIR}/ (the run's --ema average); was it saved by an older clip-ts?`);
      saved = loadCheckpoint(dir).state;
    }
    ema = WeightEma.create(args.ema, s.state, trainable, saved);
  }

  const pool = new ImagePool(imageConfig(s.preprocess), { threads: args.threads, decodedCache: Math.floor((args.cacheImages ?? defaultImageCache()) * 2 ** 30) });
  const S = s.config.vision_cfg.image_size;
  const L = s.config.text_cfg.context_length;
  const per = 3 * S * S;
  let tokenizerWarnings = resumed?.ts.tokenizerWarnings ?? 0;
  const iter = ds[Symbol.asyncIterator]();
  const metricsFile = path.join(runDir, "metrics.jsonl");
  const history: { step: number; loss: number }[] = [];
  const evals: RunResult["evals"] = [];
  if (fs.existsSync(metricsFile)) {
    // keep the history of steps before the resume point only
    const keep: string[] = [];
    for (const line of fs.readFileSync(metricsFile, "utf8").split("\n")) {
      if (!line.trim()) continue;
      const m = JSON.parse(line) as { step: number; loss?: number; eval?: Record<string, number> };
      if (m.step > (resumed?.ts.step ?? 0)) continue;
      keep.push(line);
      if (m.loss !== undefined) history.push({ step: m.step, loss: m.loss });
      if (m.eval) evals.push({ step: m.step, metrics: m.eval });
    }
    fs.writeFileSync(metricsFile, keep.map((l) => l + "\n").join(""));
  }

  /** Pulls samples until `n` decode; pixels and captions stay aligned. */
  const nextBatch = async (step: number): Promise<{ pixels: Float32Array; tokens: BigInt64Array; position: DataPosition }> => {
    const pixels = new Float32Array(n * per);
    const captions: string[] = [];
    let have = 0;
    let round = 0;
    while (have < n) {
      const want: Sample[] = [];
      while (want.length < n - have) {
        const r = await iter.next();
        if (r.done) throw new UserError(`${args.data}: the data ran out (${ds.stats().samples} usable samples); is it empty or all bad?`);
        want.push(r.value);
      }
      const augment = args.augment ? { seed: hashSeed(args.seed, "augment", step, round) >>> 1, scale: args.augScale, ratio: args.augRatio, hflip: args.augHflip, gray: args.augGray } : false;
      const names = want.map((x) => `${x.shard}:${x.key}`);
      const res = await pool.preprocessBatch(want.map((x) => x.image!), { augment, skipBad: true, names, keys: names });
      for (const i of keepDecoded(ds, want, res.ok, res.errors)) {
        pixels.set(res.pixels.subarray(i * per, (i + 1) * per), have * per);
        const random: [number, number, number] | undefined = args.augment ? [args.seed, step, have] : undefined;
        captions.push(...(H > 0 ? pickWithNegatives(want[i], H, random) : pickCaptions(want[i].captions, K, random)));
        have++;
      }
      round++;
    }
    const ids = s.tokenizer.tokenizeTensor(captions, { contextLength: L, truncate: "warn", onWarning: (_m, st) => (tokenizerWarnings += st.texts) });
    const tokens = BigInt64Array.from(ids.data, (v) => BigInt(v)); // [n * K, L]
    return { pixels, tokens, position: ds.position() };
  };

  const saveEvery = args.saveEvery ?? Math.max(1, Math.ceil(steps / 10));
  const evalEvery = args.evalEvery ?? Math.max(1, Math.ceil(steps / 5));
  let step = trainer.step;
  let last: StepResult | undefined;
  let checkpoint = resumed?.ckpt ?? "";
  const writePlot = (): void => {
    const series = [{ name: "train loss", points: history.map((h) => [h.step, h.loss] as [number, number]), color: "#1f77b4" }];
    // the average's metrics first when there is one: it is the model the run is for
    const names = [...new Set(evals.flatMap((e) => Object.keys(e.metrics)))].filter((k) => !k.includes("loss")).sort((a, b) => Number(b.startsWith("ema_")) - Number(a.startsWith("ema_")));
    const colors = ["#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"];
    names.slice(0, 6).forEach((k, i) => series.push({ name: k, points: evals.map((e) => [e.step, e.metrics[k]] as [number, number]), color: colors[i], right: true } as never));
    fs.writeFileSync(path.join(runDir, "plot.svg"), lineChartSvg(`clip train: ${path.basename(runDir)}`, series));
  };
  let pending: ReturnType<typeof nextBatch> | undefined;
  try {
    // a prefetch that fails while a step runs is reported by the await below, never as an unhandled rejection
    const prefetch = (k: number): ReturnType<typeof nextBatch> | undefined => {
      if (k >= steps) return undefined;
      const p = nextBatch(k);
      p.catch(() => undefined);
      return p;
    };
    pending = prefetch(step);
    while (step < steps) {
      const t0 = performance.now();
      const b = await pending!;
      // decode and preprocess the next batch in the workers while this step runs
      pending = prefetch(step + 1);
      const r = await trainer.trainStep(b.pixels, b.tokens);
      step = trainer.step;
      ema?.update(s.state, step);
      last = r;
      const sps = n / ((performance.now() - t0) / 1000);
      history.push({ step, loss: r.loss });
      fs.appendFileSync(metricsFile, JSON.stringify({ step, loss: r.loss, lr: r.lr, logit_scale: r.logitScale, samples_per_second: sps, ...(args.gradClip ? { grad_norm: r.gradNorm } : {}) }) + "\n");
      hooks.onStep?.(step, steps, { ...r, samplesPerSecond: sps });
      if (step % saveEvery === 0 || step === steps || step % evalEvery === 0) {
        checkpoint = saveRunCheckpoint(runDir, s, trainer, { step, position: b.position, tokenizerWarnings }, ema);
      }
      if (hooks.evaluate && args.valData && (step % evalEvery === 0 || step === steps)) {
        const metrics = await hooks.evaluate(checkpoint, step);
        if (ema) for (const [k, v] of Object.entries(await hooks.evaluate(path.join(checkpoint, EMA_DIR), step))) metrics[`ema_${k}`] = v;
        evals.push({ step, metrics });
        fs.appendFileSync(metricsFile, JSON.stringify({ step, eval: metrics }) + "\n");
      }
      if (step % 10 === 0 || step === steps) writePlot();
    }
  } finally {
    await pending?.catch(() => undefined);
    await trainer.close();
    const kept = pool.cacheStats();
    if (kept.hits > 0) hooks.onMessage?.(`kept ${kept.images} decoded images (${Math.round(kept.bytes / 2 ** 20)} MiB) and cropped them ${kept.hits} times instead of decoding again`);
    await pool.close();
  }
  writePlot();
  if (tokenizerWarnings) hooks.onMessage?.(`${tokenizerWarnings} captions were longer than ${L} tokens and were truncated`);
  return { steps: step, finalLoss: last?.loss ?? NaN, checkpoint, dataStats: formatStats(ds.stats()), evals, seconds: (performance.now() - started) / 1000 };
}
