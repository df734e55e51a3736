/** @file `clip embed`, `clip init`, `clip bench`: inference and checkpoints from the command line. */
import fs from "node:fs";
import path from "node:path";
import { type Command, Option } from "commander";
import { SUMMARIES } from "./summaries.js";
import { UserError } from "../errors.js";
import { ClipModel, type Matrix } from "../clip/model.js";
import { normalizeRows } from "../util/vector.js";
import { initState } from "../models/clip/init.js";
import { PRESET_NAMES, presetConfig } from "../models/clip/presets.js";
import { defaultPreprocess } from "../models/clip/config.js";
import { saveCheckpoint } from "../weights/checkpoint.js";
import { TRUNCATE_POLICIES, type TruncatePolicy } from "../tokenizer/index.js";
import { printJson, reportFileErrors } from "./output.js";
import { collect, intArg, positiveArg } from "./options.js";

export function modelDir(dir: string): string {
  if (!fs.existsSync(dir)) throw new UserError(`--model ${dir}: no such directory`);
  return dir;
}

function fmtRow(v: Float32Array, k = 6): string {
  return `[${Array.from(v.subarray(0, k), (x) => x.toFixed(4)).join(", ")}${v.length > k ? ", ..." : ""}]`;
}

export function register(program: Command): void {
  program
    .command("embed")
    .summary(SUMMARIES.embed)
    .description("Embed images and/or texts with a CLIP checkpoint; with both, also print logits_per_image = exp(logit_scale) * cosine")
    .requiredOption("--model <dir>", "checkpoint directory (open_clip, Hugging Face or PyTorch layout)")
    .option("--image <file>", "an image to embed (repeatable)", collect, [])
    .option("--text <text>", "a text to embed (repeatable)", collect, [])
    .option("--raw", "do not L2-normalize the embeddings")
    .addOption(new Option("--truncate <policy>", "texts longer than the context: error, warn (cut and say so) or silent").choices(TRUNCATE_POLICIES as string[]).default("warn"))
    .option("--threads <n>", "threads (default: all cores)", intArg("--threads"))
    .option("--json", "print one JSON document: {image_embeddings, text_embeddings, logits_per_image, errors?}; a row of an image that could not be used is null")
    .option("--strict", "stop at the first image that cannot be read or decoded (exit 2) instead of reporting it and embedding the rest (exit 3)")
    .action(async (o: { model: string; image: string[]; text: string[]; raw?: boolean; truncate: TruncatePolicy; threads?: number; json?: boolean; strict?: boolean }) => {
      if (o.image.length === 0 && o.text.length === 0) throw new UserError("embed: give at least one --image FILE or --text TEXT");
      const model = await ClipModel.load(modelDir(o.model), { threads: o.threads, truncate: o.truncate });
      try {
        const norm = { normalize: !o.raw };
        const enc = o.image.length ? await model.encodeImagesSkipping(o.image, norm) : undefined;
        if (enc) reportFileErrors(enc.errors, o.strict);
        const img: Matrix | undefined = enc ? { data: enc.embeddings.data, dims: [enc.embeddings.n, enc.embeddings.dim] } : undefined;
        const txt = o.text.length ? await model.embedTexts(o.text, norm) : undefined;
        // rows of images that could not be used are null, so rows stay aligned with --image
        const aligned = <T>(got: T[]): (T | null)[] => {
          let k = 0;
          return o.image.map((_f, i) => (enc!.ok[i] ? got[k++]! : null));
        };
        const errors = enc ? o.image.flatMap((image, i) => (enc.ok[i] ? [] : [{ image, error: enc.errors[i]! }])) : [];
        const rows = (e: Matrix): number[][] => Array.from({ length: e.dims[0] }, (_v, i) => Array.from(e.data.subarray(i * e.dims[1], (i + 1) * e.dims[1])));
        let logits: number[][] | undefined;
        if (img && txt) {
          // logits are always of the normalized embeddings: normalize copies of raw ones, never re-encode
          const unit = (e: Matrix): Matrix => (o.raw ? { ...e, data: normalizeRows(Float32Array.from(e.data), e.dims[1]) } : e);
          logits = rows(model.logits(unit(img), unit(txt)));
        }
        if (o.json) {
          printJson({
            ...(img ? { image_embeddings: aligned(rows(img)) } : {}),
            ...(txt ? { text_embeddings: rows(txt) } : {}),
            ...(logits ? { logits_per_image: aligned(logits) } : {}),
            ...(errors.length ? { errors } : {}),
          });
          return;
        }
        const out: string[] = [`model ${o.model}: ${model.embedDim}-d embeddings${o.raw ? " (raw)" : " (L2-normalized)"}`];
        let k = 0;
        o.image.forEach((f, i) => {
          if (!enc!.ok[i]) return void out.push(`image ${f}: (could not be used)`);
          out.push(`image ${f}: ${fmtRow(img!.data.subarray(k * img!.dims[1], (k + 1) * img!.dims[1]))}`);
          k++;
        });
        o.text.forEach((t, i) => out.push(`text "${t}": ${fmtRow(txt!.data.subarray(i * txt!.dims[1], (i + 1) * txt!.dims[1]))}`));
        if (logits) {
          out.push("logits_per_image (rows: images, columns: texts):");
          aligned(logits).forEach((r, i) => r && out.push(`  ${path.basename(o.image[i])}: ${r.map((v) => v.toFixed(3)).join("  ")}`));
        }
        process.stdout.write(out.join("\n") + "\n");
      } finally {
        await model.dispose();
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

  program
    .command("bench")
    .summary(SUMMARIES.bench)
    .description("Measure image and text encoding throughput (after warm-up) on synthetic inputs")
    .requiredOption("--model <dir>", "checkpoint directory")
    .option("--batch <n>", "batch size", intArg("--batch"), 16)
    .option("--threads <n>", "threads (default: all cores)", intArg("--threads"))
    .option("--seconds <s>", "minimum measuring time per side", positiveArg("--seconds"), 5)
    .option("--json", "print {images_per_second, texts_per_second, batch, threads} as JSON")
    .action(async (o: { model: string; batch: number; threads?: number; seconds: number; json?: boolean }) => {
      const { benchModel } = await import("./bench_model.js");
      const r = await benchModel(modelDir(o.model), o.batch, o.threads, o.seconds);
      if (o.json) printJson(r);
      else process.stdout.write(`images/s ${r.images_per_second.toFixed(2)}, texts/s ${r.texts_per_second.toFixed(2)} (batch ${r.batch}, threads ${r.threads})\n`);
    });
}
