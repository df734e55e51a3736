/**
 * @file `clip demo` in the page (browser-safe, so Node runs the same function for comparison): the
 * procedural world rendered here, a vocabulary learned from its captions, the demo's small CLIP
 * trained from scratch with our autodiff's step graph and AdamW, then the zero-shot table (shape,
 * color, count on held-out color-shape pairs and seen ones) and the checkpoint's files.
 */
import { gzipSync, strToU8 } from "fflate";
import { COUNT_WORDS, renderScene, synthClassPrompts, synthClassnames, synthScene, type SynthOptions, type SynthTask } from "../../data/synth/scene.js";
import { imageConfig } from "../../image/config.js";
import { preprocessRGB } from "../../image/transform.js";
import { type ClipConfig, openClipConfigJson, parseModelCfg, parsePreprocessCfg, type StateDict } from "../../models/clip/config.js";
import { initState } from "../../models/clip/init.js";
import { DEMO_CONFIG } from "../../models/clip/presets.js";
import type { Backend } from "../../runtime/core.js";
import { ClipTokenizer } from "../../tokenizer/tokenizer.js";
import { trainBpe } from "../../tokenizer/train.js";
import { formatReferenceMerges } from "../../tokenizer/vocab.js";
import { Trainer } from "../../train/trainer.js";
import { Rng } from "../../util/rng.js";
import { normalizeRows } from "../../util/vector.js";
import { serializeSafetensors } from "../../weights/safetensors.js";
import { WebClip } from "./model.js";

/** What the demo trains on and how long. */
export interface DemoSpec {
  /** Training scenes. */
  n: number;
  steps: number;
  batch: number;
  seed: number;
  /** Scenes per zero-shot evaluation set (0: no evaluation). */
  evalN: number;
  lr?: number;
  backend?: Backend;
  threads?: number;
  /** Called after each step with its loss. */
  onStep?: (step: number, loss: number) => void;
  onMessage?: (m: string) => void;
}

/** Zero-shot top-1 per attribute on held-out and seen color-shape pairs, with chance. */
export type ZeroShotTable = Record<"shape" | "color" | "count", { heldout: number; seen: number; chance: number }>;

/** The demo's outcome: the loss curve, throughput, the zero-shot table and the checkpoint's files. */
export interface DemoResult {
  losses: number[];
  /** Training samples per second (steps x batch over the training time, vocabulary and rendering excluded). */
  samplesPerSecond: number;
  zeroshot?: ZeroShotTable;
  config: ClipConfig;
  state: StateDict;
  /** open_clip layout: open_clip_config.json, open_clip_model.safetensors, bpe_simple_vocab_16e6.txt.gz. */
  files: Record<string, Uint8Array>;
}

const SIZE = 64;

/** Runs the demo; deterministic in `seed` on one backend. */
export async function runDemo(spec: DemoSpec): Promise<DemoResult> {
  const world: SynthOptions = { n: spec.n, seed: spec.seed, size: SIZE, split: "train" };
  const scenes = Array.from({ length: spec.n }, (_v, i) => synthScene(i, world));
  const merges = trainBpe(scenes.flatMap((s) => s.captions), DEMO_CONFIG.model_cfg.text_cfg.vocab_size).merges;
  const tokenizer = ClipTokenizer.fromMerges(merges, { contextLength: DEMO_CONFIG.model_cfg.text_cfg.context_length });
  spec.onMessage?.(`rendered ${spec.n} scenes, learned a ${tokenizer.vocabSize}-token vocabulary`);
  const config = parseModelCfg({ ...DEMO_CONFIG.model_cfg, text_cfg: { ...DEMO_CONFIG.model_cfg.text_cfg, vocab_size: tokenizer.vocabSize } });
  const preprocess = parsePreprocessCfg(DEMO_CONFIG.preprocess_cfg, SIZE);
  const cfg = imageConfig(preprocess);
  const state = initState(config, { seed: spec.seed });
  const L = config.text_cfg.context_length;
  const per = 3 * SIZE * SIZE;
  const trainer = await Trainer.create(config, state, {
    loss: "clip",
    micro: spec.batch,
    accumFreq: 1,
    adamw: { lr: spec.lr ?? 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0.1 },
    warmup: Math.min(100, Math.floor(spec.steps / 10)),
    schedule: "cosine",
    steps: spec.steps,
    trainable: new Set(state.keys()),
    backend: spec.backend,
    threads: spec.threads,
  });
  const rng = Rng.from(spec.seed, "web-demo");
  const losses: number[] = [];
  const pixels = new Float32Array(spec.batch * per);
  let trainMs = 0;
  try {
    for (let s = 0; s < spec.steps; s++) {
      const captions: string[] = [];
      for (let j = 0; j < spec.batch; j++) {
        const i = rng.int(spec.n);
        const rgb = renderScene(scenes[i]!, SIZE, spec.seed, i);
        preprocessRGB({ width: SIZE, height: SIZE, data: rgb }, cfg, pixels, j * per);
        const c = scenes[i]!.captions;
        captions.push(c[rng.int(c.length)]!);
      }
      const ids = BigInt64Array.from(tokenizer.tokenizeTensor(captions, { contextLength: L, truncate: "silent" }).data, (x) => BigInt(x));
      const t0 = performance.now();
      const r = await trainer.trainStep(pixels, ids);
      trainMs += performance.now() - t0;
      losses.push(r.loss);
      spec.onStep?.(s, r.loss);
    }
  } finally {
    await trainer.close();
  }
  const zeroshot = spec.evalN > 0 ? await evaluate(config, preprocess, state, tokenizer, spec) : undefined;
  const files: Record<string, Uint8Array> = {
    "open_clip_config.json": strToU8(JSON.stringify(openClipConfigJson(config, preprocess), null, 2) + "\n"),
    "open_clip_model.safetensors": serializeSafetensors(new Map([...state].map(([k, t]) => [k, { dtype: k.endsWith("num_batches_tracked") ? "I64" : "F32", shape: t.shape, data: t.data }] as const)), { format: "pt" }),
    "bpe_simple_vocab_16e6.txt.gz": gzipSync(strToU8(formatReferenceMerges(merges) + "\n"), { mtime: 0 }),
  };
  return { losses, samplesPerSecond: (spec.steps * spec.batch) / (trainMs / 1000), zeroshot, config, state, files };
}

/** Zero-shot top-1 with prompt ensembling over each class's prompts, as `clip demo` evaluates. */
async function evaluate(config: ClipConfig, preprocess: ReturnType<typeof parsePreprocessCfg>, state: StateDict, tokenizer: ClipTokenizer, spec: DemoSpec): Promise<ZeroShotTable> {
  const model = new WebClip(config, preprocess, state, tokenizer, 32, spec.backend);
  const cfg = imageConfig(preprocess);
  const per = 3 * SIZE * SIZE;
  const top1 = async (task: SynthTask, split: "heldout" | "val", seed: number): Promise<number> => {
    const opts: SynthOptions = { n: spec.evalN, seed, size: SIZE, split, task };
    const names = synthClassnames(task);
    const prompts = synthClassPrompts(task);
    const d = config.embed_dim;
    const classes = new Float32Array(names.length * d);
    for (let c = 0; c < names.length; c++) {
      const e = await model.embedTexts(prompts[c]!);
      for (let r = 0; r < e.n; r++) for (let k = 0; k < d; k++) classes[c * d + k] += e.data[r * d + k]!;
    }
    normalizeRows(classes, d);
    const pixels = new Float32Array(spec.evalN * per);
    const labels: number[] = [];
    for (let i = 0; i < spec.evalN; i++) {
      const sc = synthScene(i, opts);
      preprocessRGB({ width: SIZE, height: SIZE, data: renderScene(sc, SIZE, seed, i) }, cfg, pixels, i * per);
      labels.push(sc.label!);
    }
    const img = await model.encodePixels(pixels, spec.evalN);
    let right = 0;
    for (let i = 0; i < spec.evalN; i++) {
      let best = -1, arg = 0;
      for (let c = 0; c < names.length; c++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += img.data[i * d + k]! * classes[c * d + k]!;
        if (s > best) [best, arg] = [s, c];
      }
      if (arg === labels[i]) right++;
    }
    return right / spec.evalN;
  };
  const table = {} as ZeroShotTable;
  for (const task of ["shape", "color", "count"] as const) {
    table[task] = { heldout: await top1(task, "heldout", spec.seed + 1001), seen: await top1(task, "val", spec.seed + 2001), chance: 1 / (task === "count" ? COUNT_WORDS.length : synthClassnames(task).length) };
  }
  await model.dispose();
  return table;
}
