/**
 * @file `clip quantize`: writes an int8 checkpoint (clip-ts's extension of open_clip's layout, see
 * weights/int8.ts), after measuring with `--check` what int8 costs on a dataset against fp32; a
 * quantization below the thresholds is refused unless `--force`.
 *
 * --json prints { model, out, quantized, bytes, check?: AgreementReport, written }.
 */
import fs from "node:fs";
import path from "node:path";
import { type Command, Option } from "commander";
import { SUMMARIES } from "./summaries.js";
import { UserError } from "../errors.js";
import { ClipModel } from "../clip/model.js";
import { openDataset } from "../data/index.js";
import { type AgreementReport, compareInt8 } from "../eval/int8_check.js";
import { datasetTemplates, resolveTemplates, templatesForClassnames } from "../eval/templates.js";
import { quantizeState } from "../models/clip/int8.js";
import { ClipTokenizer } from "../tokenizer/index.js";
import { loadCheckpoint, OPEN_CLIP_SAFETENSORS, saveCheckpoint } from "../weights/checkpoint.js";
import { intArg, probArg, SAVE_DTYPES } from "./options.js";
import { printJson, warn } from "./output.js";

interface QuantizeOpts {
  model: string;
  out: string;
  check?: string;
  limit?: number;
  minCosine: number;
  minAgreement: number;
  force?: boolean;
  saveDtype: "f32" | "f16" | "bf16";
  threads?: number;
  json?: boolean;
}

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

/** The report's lines for people. */
function describe(r: AgreementReport): string[] {
  const out = [`images: ${r.images}; image embedding cosine int8 vs fp32: mean ${r.imageCosine.mean.toFixed(5)}, min ${r.imageCosine.min.toFixed(5)}`];
  if (r.textCosine) out.push(`text embedding cosine: mean ${r.textCosine.mean.toFixed(5)}, min ${r.textCosine.min.toFixed(5)}`);
  if (r.zeroshot) out.push(`zero-shot top-1 (${r.zeroshot.classes} classes): fp32 ${pct(r.zeroshot.top1Fp32)}, int8 ${pct(r.zeroshot.top1Int8)}, agreement ${pct(r.zeroshot.agreement)}`);
  if (r.retrieval) {
    const row = (x: Record<string, number>): string => Object.entries(x).map(([k, v]) => `${k} ${pct(v)}`).join(" ");
    out.push(`retrieval text->image: fp32 ${row(r.retrieval.fp32.textToImage)}; int8 ${row(r.retrieval.int8.textToImage)}`);
    out.push(`retrieval image->text: fp32 ${row(r.retrieval.fp32.imageToText)}; int8 ${row(r.retrieval.int8.imageToText)}`);
    out.push(`mean recall: fp32 ${pct(r.retrieval.fp32.meanRecall)}, int8 ${pct(r.retrieval.int8.meanRecall)}`);
  }
  return out;
}

/** Why a report fails the thresholds (empty: it passes). */
function failures(r: AgreementReport, o: QuantizeOpts): string[] {
  const out: string[] = [];
  if (r.imageCosine.min < o.minCosine) out.push(`minimum image cosine ${r.imageCosine.min.toFixed(5)} < --min-cosine ${o.minCosine}`);
  if (r.textCosine && r.textCosine.min < o.minCosine) out.push(`minimum text cosine ${r.textCosine.min.toFixed(5)} < --min-cosine ${o.minCosine}`);
  if (r.zeroshot && r.zeroshot.agreement < o.minAgreement) out.push(`zero-shot top-1 agreement ${pct(r.zeroshot.agreement)} < --min-agreement ${pct(o.minAgreement)}`);
  return out;
}

async function runQuantize(o: QuantizeOpts): Promise<void> {
  if (!fs.existsSync(o.model)) throw new UserError(`--model ${o.model}: no such directory`);
  const ck = loadCheckpoint(o.model);
  if (ck.int8.size) throw new UserError(`--model ${o.model} is already an int8 checkpoint`);
  if (path.resolve(o.out) === path.resolve(ck.dir)) throw new UserError(`--out ${o.out} is the model's own directory; write the int8 checkpoint elsewhere`);
  const quantized = quantizeState(ck.config, ck.state);
  let check: AgreementReport | undefined;
  if (o.check) {
    const spec = o.check;
    const ds = openDataset(spec);
    await ds.ready();
    const classnames = ds.classnames;
    const builtin = classnames && !ds.templates ? templatesForClassnames(classnames) ?? "imagenet" : undefined;
    const templates = classnames ? (builtin ? await resolveTemplates(builtin) : datasetTemplates(ds.templates!)) : undefined;
    const tokenizer = await ClipTokenizer.fromDir(ck.dir, { vocabSize: ck.config.text_cfg.vocab_size, contextLength: ck.config.text_cfg.context_length });
    const make = (precision: "fp32" | "int8"): ClipModel =>
      new ClipModel(ck.config, ck.preprocess, ck.state, tokenizer, { threads: o.threads, precision, truncate: "silent" }, ck.dir, quantized);
    const fp32 = make("fp32");
    const int8 = make("int8");
    try {
      check = await compareInt8(fp32, int8, () => openDataset(spec), { classnames, templates, limit: o.limit, onProgress: (w) => void process.stderr.write(`clip quantize: ${w}\n`) });
    } finally {
      await Promise.all([fp32.close(), int8.close()]);
    }
  }
  const failed = check ? failures(check, o) : [];
  const written = failed.length === 0 || !!o.force;
  if (written) {
    const tok = ck.tokenizer;
    saveCheckpoint(o.out, ck.config, ck.state, { preprocess: ck.preprocess, int8: quantized, dtype: SAVE_DTYPES[o.saveDtype], tokenizerFiles: [tok.bpe, tok.vocabJson, tok.merges].filter((f): f is string => !!f) });
  }
  const bytes = written ? fs.statSync(path.join(o.out, OPEN_CLIP_SAFETENSORS)).size : 0;
  if (o.json) printJson({ model: o.model, out: o.out, quantized: quantized.size, bytes, ...(check ? { check, failed } : {}), written });
  else {
    if (check) process.stdout.write(describe(check).join("\n") + "\n");
    if (written) process.stdout.write(`wrote ${quantized.size} int8 weights to ${o.out} (${(bytes / 2 ** 20).toFixed(1)} MiB; loads with clip-ts only, not open_clip)\n`);
  }
  if (failed.length && o.force) warn(`quantize: written despite: ${failed.join("; ")} (--force)`);
  if (!written) throw new UserError(`quantize: not written: ${failed.join("; ")}; --force writes it anyway`);
}

export function register(program: Command): void {
  program
    .command("quantize")
    .summary(SUMMARIES.quantize)
    .description("Write an int8 checkpoint: linear weights as int8 with per-output-channel scales (clip-ts's extension of open_clip's layout: open_clip cannot load it). --check measures the cost on a dataset first.")
    .requiredOption("--model <dir>", "fp32 checkpoint directory")
    .requiredOption("--out <dir>", "where to write the int8 checkpoint")
    .option("--check <spec>", "dataset to compare int8 with fp32 on: embedding cosines, zero-shot agreement (labelled data), retrieval recall (captioned data)")
    .option("--limit <n>", "only the first N samples of --check", intArg("--limit"))
    .option("--min-cosine <x>", "refuse to write when an embedding row's cosine to fp32 is below this", probArg("--min-cosine"), 0.99)
    .option("--min-agreement <x>", "refuse to write when zero-shot top-1 agreement with fp32 is below this", probArg("--min-agreement"), 0.99)
    .option("--force", "write even when --check fails the thresholds")
    .addOption(new Option("--save-dtype <t>", "storage of the weights left in floating point").choices(Object.keys(SAVE_DTYPES)).default("f32"))
    .option("--threads <n>", "threads (default: all cores)", intArg("--threads"))
    .option("--json", "print one JSON document on stdout")
    .action(runQuantize);
}
