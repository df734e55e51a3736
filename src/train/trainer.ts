/** @file One optimizer step of CLIP training: compiled graphs, feature-cached accumulation, AdamW, clamping. */
import type { HostArray } from "../ir/dtype.js";
import type { ClipConfig, StateDict } from "../models/clip/config.js";
import { isBuffer, isResNet } from "../models/clip/config.js";
import { type Backend, CompiledGraph, type HostTensor } from "../runtime/core.js";
import { bucketCaptions, bucketSizes } from "./buckets.js";
import { buildFeatureGraph, buildStepGraph, trainingShapes, type TrainGraphSpec } from "./graph.js";
import { INIT_LOGIT_BIAS, type LossKind } from "./losses.js";
import { AdamW, type AdamWOptions, clipGradNorm, excludedFromDecay } from "./optimizer.js";
import { learningRate, type ScheduleKind } from "./schedule.js";
import { InternalError } from "../errors.js";

export const MAX_LOGIT_SCALE = Math.log(100);

export interface TrainerOptions {
  loss: LossKind;
  /** Rows per forward pass (open_clip's --batch-size). */
  micro: number;
  /** Micro-batches per optimizer step (open_clip's --accum-freq); the contrastive batch is micro * accumFreq. */
  accumFreq: number;
  /** Captions per image in every step (default 1; more needs accumFreq 1): the multi-positive loss of `clipLoss`. */
  captionsPerImage?: number;
  /** Label smoothing of the CLIP loss (default 0; see `clipLoss`). */
  labelSmoothing?: number;
  /** Each image brings its caption and captionsPerImage - 1 hard negatives: `clipLossHardNegatives`. */
  hardNegatives?: boolean;
  adamw: AdamWOptions;
  warmup: number;
  schedule: ScheduleKind;
  /** Total optimizer steps (for the cosine schedule). */
  steps: number;
  /** Clip the global gradient norm to this value. */
  gradClip?: number;
  /** Keys that are trained; the rest stay fixed. */
  trainable: ReadonlySet<string>;
  threads?: number;
  /** Profile every step graph run: ORT writes a Chrome-trace file with this prefix at `endProfiling()` (Node only). */
  profilePrefix?: string;
  /** The ONNX Runtime adapter (default: the loaded one; Node's in the library, the browser's in the page). */
  backend?: Backend;
}

/** One optimizer step: its loss, learning rate, exp(logit_scale) after it and the gradient norm. */
export interface StepResult {
  loss: number;
  lr: number;
  /** exp(logit_scale) after the step. */
  logitScale: number;
  gradNorm: number;
}

/** Adds the SigLIP bias to a state that lacks it. */
export function ensureLossState(state: StateDict, loss: LossKind): void {
  if (loss === "siglip" && !state.has("logit_bias")) state.set("logit_bias", { shape: [], data: new Float32Array([INIT_LOGIT_BIAS]) });
}

export class Trainer {
  readonly optimizer: AdamW;
  private constructor(
    readonly config: ClipConfig,
    readonly state: StateDict,
    readonly opts: TrainerOptions,
    private readonly stepGraph: CompiledGraph,
    private readonly featureGraph: CompiledGraph | undefined,
    private readonly spec: TrainGraphSpec,
  ) {
    const decay = new Set([...opts.trainable].filter((k) => !excludedFromDecay(k, state.get(k)!.shape)));
    this.optimizer = new AdamW(opts.adamw, decay);
  }

  static async create(config: ClipConfig, state: StateDict, opts: TrainerOptions): Promise<Trainer> {
    ensureLossState(state, opts.loss);
    const trainBatchNorm = isResNet(config.vision_cfg) && [...opts.trainable].some((k) => k.startsWith("visual."));
    const spec: TrainGraphSpec = {
      config,
      loss: opts.loss,
      micro: opts.micro,
      batch: opts.micro * opts.accumFreq,
      captionsPerImage: opts.captionsPerImage ?? 1,
      labelSmoothing: opts.labelSmoothing ?? 0,
      hardNegatives: opts.hardNegatives ?? false,
      textBuckets: bucketSizes(opts.micro).map((images) => images * (opts.captionsPerImage ?? 1)),
      trainable: opts.trainable,
      trainBatchNorm,
    };
    // fixed tensors become initializers; trained ones and live BatchNorm statistics are fed each step
    const shapes = trainingShapes(config, opts.loss);
    const fed = (k: string): boolean => opts.trainable.has(k) || (trainBatchNorm && isBuffer(k) && k.startsWith("visual."));
    const weights = (k: string): HostArray | undefined => (shapes.has(k) && !fed(k) ? state.get(k)?.data : undefined);
    const compileOpts = { weights, threads: opts.threads, backend: opts.backend, profilePrefix: opts.profilePrefix };
    const stepGraph = await CompiledGraph.compile(buildStepGraph(spec), compileOpts);
    const featureGraph = opts.accumFreq > 1 ? await CompiledGraph.compile(buildFeatureGraph(spec), compileOpts) : undefined;
    return new Trainer(config, state, opts, stepGraph, featureGraph, spec);
  }

  get step(): number {
    return this.optimizer.state.step;
  }

  private paramFeeds(graph: CompiledGraph): Record<string, HostTensor> {
    const feeds: Record<string, HostTensor> = {};
    for (const inp of graph.inputs) {
      if (inp.kind !== "param") continue;
      const t = this.state.get(inp.name);
      if (!t) throw new InternalError(`no state for ${inp.name}`);
      feeds[inp.name] = { data: t.data, shape: t.shape };
    }
    return feeds;
  }

  /**
   * One optimizer step on a contrastive batch: pixels [N, 3, S, S], tokens [N * K, ctx] with
   * N = micro * accumFreq and K captions per image (image i's at rows i*K .. i*K+K-1).
   */
  async trainStep(pixels: Float32Array, tokens: BigInt64Array): Promise<StepResult> {
    const { micro, accumFreq } = this.opts;
    const k = this.opts.captionsPerImage ?? 1;
    const n = micro * accumFreq;
    const S = this.config.vision_cfg.image_size;
    const L = this.config.text_cfg.context_length;
    const per = 3 * S * S;
    if (pixels.length !== n * per || tokens.length !== n * k * L) {
      throw new InternalError(`trainStep got ${pixels.length / per} images and ${tokens.length / L} texts for a batch of ${n} with ${k} caption(s) each`);
    }
    // each micro-batch once, its pairs sorted by caption length into the graph's text buckets
    const sizes = bucketSizes(micro);
    const micros = Array.from({ length: accumFreq }, (_v, i): Record<string, HostTensor> => {
      const b = bucketCaptions(pixels.subarray(i * micro * per, (i + 1) * micro * per), tokens.subarray(i * micro * k * L, (i + 1) * micro * k * L), k, L, sizes);
      return { pixels: { data: b.pixels, shape: [micro, 3, S, S] }, ...b.feeds };
    });
    const params = this.paramFeeds(this.stepGraph);
    const grads = new Map<string, Float32Array>();
    let loss = 0;
    if (accumFreq === 1) {
      const r = await this.stepGraph.run({ ...micros[0], ...params });
      loss = (r.loss.data as Float32Array)[0];
      this.collect(r, grads);
    } else {
      // 1) features of every micro-batch without gradients
      const d = this.config.embed_dim;
      const cachedImg = new Float32Array(n * d);
      const cachedTxt = new Float32Array(n * d);
      const fparams = this.paramFeeds(this.featureGraph!);
      for (let i = 0; i < accumFreq; i++) {
        const r = await this.featureGraph!.run({ ...micros[i], ...fparams });
        cachedImg.set(r.img.data as Float32Array, i * micro * d);
        cachedTxt.set(r.txt.data as Float32Array, i * micro * d);
      }
      // 2) each micro-batch again with gradients, against the full cached batch
      for (let i = 0; i < accumFreq; i++) {
        const place = new Float32Array(n * micro);
        const keep = new Float32Array(n).fill(1);
        for (let j = 0; j < micro; j++) {
          place[(i * micro + j) * micro + j] = 1;
          keep[i * micro + j] = 0;
        }
        const r = await this.stepGraph.run({
          ...micros[i],
          ...params,
          place: { data: place, shape: [n, micro] },
          keep: { data: keep, shape: [n, 1] },
          cached_img: { data: cachedImg, shape: [n, d] },
          cached_txt: { data: cachedTxt, shape: [n, d] },
        });
        if (i === 0) loss = (r.loss.data as Float32Array)[0];
        this.collect(r, grads);
      }
      // every micro-batch's loss is the full-batch loss, so its temperature gradient was counted accumFreq times
      for (const k of ["logit_scale", "logit_bias"]) {
        const g = grads.get(k);
        if (g) for (let j = 0; j < g.length; j++) g[j] /= accumFreq;
      }
    }
    const gradNorm = this.opts.gradClip ? clipGradNorm(grads, this.opts.gradClip) : 0;
    const lr = learningRate(this.opts.schedule, this.opts.adamw.lr, this.opts.warmup, this.opts.steps, this.step);
    const trained = new Map<string, Float32Array>();
    for (const k of grads.keys()) trained.set(k, this.state.get(k)!.data);
    this.optimizer.update(trained, grads, lr);
    const ls = this.state.get("logit_scale")!.data;
    ls[0] = Math.min(Math.max(ls[0], 0), MAX_LOGIT_SCALE);
    return { loss, lr, logitScale: Math.exp(ls[0]), gradNorm };
  }

  /** Sums gradients and applies BatchNorm statistic updates from one graph run. */
  private collect(r: Record<string, HostTensor>, grads: Map<string, Float32Array>): void {
    for (const [name, t] of Object.entries(r)) {
      if (name.startsWith("grad.")) {
        const k = name.slice(5);
        const g = t.data as Float32Array;
        const acc = grads.get(k);
        if (!acc) grads.set(k, g);
        else for (let j = 0; j < g.length; j++) acc[j] += g[j];
      } else if (name.startsWith("bn.")) {
        const k = name.slice(3);
        this.state.get(k)!.data.set(t.data as Float32Array);
        const counter = this.state.get(k.replace(/running_(mean|var)$/, "num_batches_tracked"));
        if (counter && k.endsWith("running_mean")) counter.data[0] += 1;
      }
    }
  }

  /** Ends profiling (created with `profilePrefix`): ORT writes the step graphs' trace files. */
  endProfiling(): void {
    this.stepGraph.endProfiling();
    this.featureGraph?.endProfiling();
  }

  async close(): Promise<void> {
    await this.stepGraph.release();
    await this.featureGraph?.release();
  }
}
