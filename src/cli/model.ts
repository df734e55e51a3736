/** @file `clip embed`, `clip init`, `clip bench`: inference and checkpoints from the command line. */
import fs from "node:fs";
import path from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { SUMMARIES } from "./commands.js";
import { UserError } from "../errors.js";
import { ClipModel, normalizeRows } from "../clip/model.js";
import { parseModelRef } from "../weights/hub/resolve.js";
import type { Embeddings } from "../clip/embedder.js";
import { initState } from "../models/clip/init.js";
import { PRESET_NAMES, presetConfig } from "../models/clip/presets.js";
import { defaultPreprocess } from "../models/clip/config.js";
import { saveCheckpoint } from "../weights/checkpoint.js";
import { TRUNCATE_POLICIES, type TruncatePolicy } from "../tokenizer/index.js";
import { printJson } from "./output.js";
import { MODEL_HELP, addHubOptions, downloadProgress, hubOptions } from "./pull.js";

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function intArg(name: string, min = 1): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${v}"`);
    return n;
  };
}

/** Checks a --model value without the network: a local path, a hub id or an open_clip name (+ --pretrained). */
export function modelDir(dir: string, pretrained?: string): string {
  parseModelRef(dir, { pretrained });
  return dir;
}

function fmtRow(v: Float32Array, k = 6): string {
  return `[${Array.from(v.subarray(0, k), (x) => x.toFixed(4)).join(", ")}${v.length > k ? ", ..." : ""}]`;
}

export function register(program: Command): void {
  const embed = program
    .command("embed")
    .summary(SUMMARIES.embed)
    .description("Embed images and/or texts with a CLIP checkpoint; with both, also print logits_per_image = exp(logit_scale) * cosine")
    .requiredOption("--model <dir>", MODEL_HELP);
  addHubOptions(embed)
    .option("--image <file>", "an image to embed (repeatable)", collect, [])
    .option("--text <text>", "a text to embed (repeatable)", collect, [])
    .option("--raw", "do not L2-normalize the embeddings")
    .addOption(new Option("--truncate <policy>", "texts longer than the context: error, warn (cut and say so) or silent").choices(TRUNCATE_POLICIES as string[]).default("warn"))
    .option("--threads <n>", "threads (default: all cores)", intArg("--threads"))
    .option("--json", "print one JSON document: {image_embeddings, text_embeddings, logits_per_image}")
    .action(async (o: { model: string; pretrained?: string; revision?: string; image: string[]; text: string[]; raw?: boolean; truncate: TruncatePolicy; threads?: number; json?: boolean }) => {
      if (o.image.length === 0 && o.text.length === 0) throw new UserError("embed: give at least one --image FILE or --text TEXT");
      const progress = downloadProgress();
      const model = await ClipModel.load(modelDir(o.model, o.pretrained), { threads: o.threads, truncate: o.truncate, ...hubOptions(o, progress) }).finally(() => progress.stop());
      try {
        const norm = { normalize: !o.raw };
        const img = o.image.length ? await model.encodeImages(o.image, norm) : undefined;
        const txt = o.text.length ? await model.encodeTexts(o.text, norm) : undefined;
        const rows = (e: { data: Float32Array; n: number; dim: number }): number[][] =>
          Array.from({ length: e.n }, (_v, i) => Array.from(e.data.subarray(i * e.dim, (i + 1) * e.dim)));
        let logits: number[][] | undefined;
        if (img && txt) {
          // logits are always of the normalized embeddings: normalize copies of raw ones, never re-encode
          const unit = (e: Embeddings): Embeddings => (o.raw ? { ...e, data: normalizeRows(Float32Array.from(e.data), e.dim) } : e);
          logits = model.logitRows(unit(img), unit(txt));
        }
        if (o.json) {
          printJson({
            ...(img ? { image_embeddings: rows(img) } : {}),
            ...(txt ? { text_embeddings: rows(txt) } : {}),
            ...(logits ? { logits_per_image: logits } : {}),
          });
          return;
        }
        const out: string[] = [`model ${o.model}: ${model.embedDim}-d embeddings${o.raw ? " (raw)" : " (L2-normalized)"}`];
        o.image.forEach((f, i) => out.push(`image ${f}: ${fmtRow(img!.data.subarray(i * img!.dim, (i + 1) * img!.dim))}`));
        o.text.forEach((t, i) => out.push(`text "${t}": ${fmtRow(txt!.data.subarray(i * txt!.dim, (i + 1) * txt!.dim))}`));
        if (logits) {
          out.push("logits_per_image (rows: images, columns: texts):");
          logits.forEach((r, i) => out.push(`  ${path.basename(o.image[i])}: ${r.map((v) => v.toFixed(3)).join("  ")}`));
        }
        process.stdout.write(out.join("\n") + "\n");
      } finally {
        await model.close();
      }
    });

  program
    .command("init")
    .summary(SUMMARIES.init)
    .description(`Write a freshly initialized checkpoint of a preset (open_clip's initialization): ${PRESET_NAMES.join(", ")}`)
    .requiredOption("--arch <name>", "preset architecture name")
    .requiredOption("--out <dir>", "output checkpoint directory (open_clip layout)")
    .option("--seed <n>", "random seed", intArg("--seed", 0), 0)
    .option("--vocab <file>", "tokenizer vocabulary to copy next to the weights (bpe_simple_vocab_16e6.txt.gz or a trained one)")
    .option("--json", "print {out, arch, params} as JSON")
    .action((o: { arch: string; out: string; seed: number; vocab?: string; json?: boolean }) => {
      const config = presetConfig(o.arch);
      if (o.vocab && !fs.existsSync(o.vocab)) throw new UserError(`--vocab ${o.vocab}: no such file`);
      const state = initState(config, { seed: o.seed });
      saveCheckpoint(o.out, config, state, { preprocess: defaultPreprocess(config.vision_cfg.image_size), tokenizerFiles: o.vocab ? [o.vocab] : [] });
      let params = 0;
      for (const t of state.values()) params += t.data.length;
      if (o.json) printJson({ out: o.out, arch: o.arch, params });
      else process.stdout.write(`wrote ${o.arch} (${(params / 1e6).toFixed(1)}M parameters, seed ${o.seed}) to ${o.out}\n`);
    });

  const bench = program
    .command("bench")
    .summary(SUMMARIES.bench)
    .description("Measure image and text encoding throughput (after warm-up) on synthetic inputs")
    .requiredOption("--model <dir>", MODEL_HELP);
  addHubOptions(bench)
    .option("--batch <n>", "batch size", intArg("--batch"), 16)
    .option("--threads <n>", "threads (default: all cores)", intArg("--threads"))
    .option("--seconds <s>", "minimum measuring time per side", (v) => Number(v), 5)
    .option("--json", "print {images_per_second, texts_per_second, batch, threads} as JSON")
    .action(async (o: { model: string; pretrained?: string; revision?: string; batch: number; threads?: number; seconds: number; json?: boolean }) => {
      const { benchModel } = await import("./bench_model.js");
      const progress = downloadProgress();
      const { resolveModel } = await import("../weights/hub/resolve.js");
      const dir = await resolveModel(modelDir(o.model, o.pretrained), { pretrained: o.pretrained, revision: o.revision, onProgress: progress.onProgress }).finally(() => progress.stop());
      const r = await benchModel(dir, o.batch, o.threads, o.seconds);
      if (o.json) printJson(r);
      else process.stdout.write(`images/s ${r.images_per_second.toFixed(2)}, texts/s ${r.texts_per_second.toFixed(2)} (batch ${r.batch}, threads ${r.threads})\n`);
    });
}
