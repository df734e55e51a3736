/**
 * @file `clip classify`: zero-shot classification of image files against class names given on the
 * command line, printing each image's top labels with probabilities.
 *
 * --json prints { model, labels, templates: {source, count}, results: [{image, top: [{label, prob}]} | {image, error}] },
 * one result per image in the order given. An image that cannot be read or decoded gets an error
 * entry and a stderr line, the others are classified, and the exit code is 3 (`--strict`: exit 2 at
 * the first bad image, nothing printed).
 */
import { type Command } from "commander";
import { SUMMARIES } from "./summaries.js";
import { UserError } from "../errors.js";
import { resolveTemplates, templateSetNames } from "../eval/templates.js";
import { buildZeroShotClassifier, classify, loadClassnamesFile, parseLabelList } from "../eval/zeroshot.js";
import { modelFingerprint } from "../eval/features.js";
import { cacheDirOption, withModel } from "./eval.js";
import { intArg } from "./options.js";
import { printJson, reportFileErrors } from "./output.js";

interface ClassifyOpts {
  model: string;
  labels?: string;
  labelsFile?: string;
  templates?: string;
  top: number;
  threads?: number;
  cacheDir?: string;
  json?: boolean;
  strict?: boolean;
}

async function runClassify(images: string[], o: ClassifyOpts): Promise<void> {
  if (images.length === 0) throw new UserError("classify: give at least one IMAGE file");
  if ((o.labels === undefined) === (o.labelsFile === undefined)) throw new UserError('classify: give the classes with exactly one of --labels "cat,dog,..." or --labels-file FILE');
  const labels = o.labels !== undefined ? parseLabelList(o.labels) : await loadClassnamesFile(o.labelsFile!);
  const templates = await resolveTemplates(o.templates, "simple");
  await withModel(o.model, o.threads, async (model) => {
    const cacheDir = cacheDirOption(o.cacheDir);
    const weights = await buildZeroShotClassifier(model, labels, templates, { cacheDir, modelId: cacheDir ? await modelFingerprint(o.model) : undefined });
    const enc = await model.encodeImagesSkipping(images);
    reportFileErrors(enc.errors, o.strict);
    const r = classify(enc.embeddings, weights, model.logitScale, Math.min(o.top, labels.length));
    let row = 0;
    type Result = { image: string; top: { label: string; prob: number }[] } | { image: string; error: string };
    const results = images.map((image, i): Result =>
      enc.ok[i]
        ? { image, top: r.top[row++]!.map((p) => ({ label: labels[p.index]!, prob: Math.round(p.prob * 1e6) / 1e6 })) }
        : { image, error: enc.errors[i]! },
    );
    if (o.json) {
      printJson({ model: o.model, labels, templates: { source: o.templates ?? "simple", count: templates.length }, results });
    } else {
      for (const res of results) {
        if ("error" in res) continue;
        process.stdout.write(`${res.image}\n`);
        for (const p of res.top) process.stdout.write(`  ${(100 * p.prob).toFixed(2).padStart(6)}%  ${p.label}\n`);
      }
    }
  });
}

export function register(program: Command): void {
  program
    .command("classify")
    .summary(SUMMARIES.classify)
    .description("zero-shot classify images: class names x prompt templates -> softmax over exp(logit_scale) * cosine")
    .argument("<image...>", "image files")
    .requiredOption("--model <dir>", "checkpoint directory")
    .option("--labels <list>", 'class names separated by commas, e.g. "cat,dog,bird"')
    .option("--labels-file <file>", "class names, one per line")
    .option("--templates <name|file>", `prompt templates: a built-in list (${templateSetNames().join(", ")}) or a file, one template with {} per line (default: simple)`)
    .option("--top <k>", "labels shown per image", intArg("--top"), 5)
    .option("--threads <n>", "threads (default: all cores)", intArg("--threads"))
    .option("--cache-dir <dir>", 'cache the classifier weights here ("default": ~/.cache/clip-ts/eval)')
    .option("--json", "print one JSON document on stdout")
    .option("--strict", "stop at the first image that cannot be read or decoded (exit 2) instead of reporting it and classifying the rest (exit 3)")
    .action(runClassify);
}
