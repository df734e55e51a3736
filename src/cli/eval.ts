/**
 * @file `clip eval zeroshot | retrieval | linear-probe`: the paper's evaluation protocols over a
 * dataset SPEC, printed as Markdown tables or (with --json) one JSON document.
 *
 * JSON documents (fractions in [0, 1]; every document has `task`, `model`, `timing`, and `skipped`:
 * {count, by_reason, examples} of the samples that could not be read or decoded, see data/skips.ts):
 *   zeroshot:     { task: "zeroshot", model, data, samples, classes, classnames, templates: {source, count},
 *                   metrics: {top1, top5, meanPerClassRecall}, perClass: [{class, samples, recall}],
 *                   confusion: number[][] (rows true, columns predicted), cached: {images, classifier},
 *                   timing: {totalSeconds, imageEncodeSeconds, textEncodeSeconds} }
 *   retrieval:    { task: "retrieval", model, data, images, captions, ks, textToImage: {"R@1", ...},
 *                   imageToText: {"R@1", ...}, meanRecall, truncatedCaptions, cached: {images, texts}, timing: {...} }
 *   linear-probe: { task: "linear-probe", model, train, test, trainSamples, testSamples, classes, classnames?,
 *                   C, chosenBy: "sweep"|"given", sweep: [{C, valAccuracy, valLogLoss, iterations, converged}] | null,
 *                   fewShot: {k, seed, perClass} | null, trainAccuracy, metrics: {top1, top5, meanPerClassRecall},
 *                   perClass, confusion, iterations, converged, cached: {train, test}, timing: {..., probeSeconds} }
 */
import { statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import { SUMMARIES } from "./summaries.js";
import { UserError } from "../errors.js";
import { DATA_SPEC_HELP, openDataset, resolveSpec, skipReport, SkipLog, type Dataset, type DatasetOptions, type SkipSummary } from "../data/index.js";
import { ClipModel, type ModelOptions } from "../clip/model.js";
import type { Embedder } from "../clip/embedder.js";
import { embedCaptions, embedImages, type EmbeddedImages } from "../eval/embed_dataset.js";
import { modelFingerprint } from "../eval/features.js";
import { resolveModel } from "../weights/hub/resolve.js";
import { MODEL_HELP, addHubOptions, downloadProgress } from "./pull.js";
import { linearProbe, type ProbeData } from "../eval/linear_probe.js";
import { renderClassificationMarkdown, validateLabels, type ClassificationMetrics } from "../eval/metrics.js";
import { markdownTable, pct } from "../eval/report.js";
import { renderRetrievalMarkdown, retrievalRecall } from "../eval/retrieval.js";
import { datasetTemplates, resolveTemplates, templateSetNames, templatesForClassnames } from "../eval/templates.js";
import { buildZeroShotClassifier, buildZeroShotClassifierFromPrompts, evaluateZeroShot, loadClassnamesFile, parseLabelList, validateClassnames } from "../eval/zeroshot.js";
import { printJson, progressBar, warn } from "./output.js";
import { normalizeRows } from "../util/vector.js";
import { fractionArg, intArg, intListArg, positiveArg, precisionOption } from "./options.js";
import type { Precision } from "../models/clip/int8.js";

// ---------------------------------------------------------------------------------------------
// Shared by eval and classify

export type LoadedEmbedder = Embedder & Required<Pick<Embedder, "encodeImagesSkipping">> & { close(): Promise<void> };

export function checkModelDir(dir: string): string {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new UserError(`--model ${dir}: no such directory`);
  }
  if (!st.isDirectory()) throw new UserError(`--model ${dir}: not a directory`);
  return dir;
}

/** A --model value (with --pretrained / --revision) as a local checkpoint directory, downloaded on first use. */
export async function localModelDir(o: { model: string; pretrained?: string; revision?: string }): Promise<string> {
  const progress = downloadProgress();
  try {
    return await resolveModel(o.model, { pretrained: o.pretrained, revision: o.revision, onProgress: progress.onProgress, onWarning: warn });
  } finally {
    progress.stop();
  }
}

/** Loads the model (a local path, a hub id, or an open_clip name with --pretrained), runs `fn` with it and its local directory, always closes the model. */
export async function withModel<T>(
  ref: string | { model: string; pretrained?: string; revision?: string },
  threads: number | undefined,
  fn: (m: LoadedEmbedder, dir: string) => Promise<T>,
  opts: ModelOptions = {},
): Promise<T> {
  const o = typeof ref === "string" ? { model: ref } : ref;
  const dir = await localModelDir(o); // a local path as is; a hub id downloaded once, then from the cache
  const model: LoadedEmbedder = await ClipModel.load(o.model, { ...opts, ...(threads !== undefined ? { threads } : {}), pretrained: o.pretrained, revision: o.revision });
  try {
    return await fn(model, dir);
  } finally {
    await model.close();
  }
}

/** The ClipModel options of a --precision flag (fp32 is the default and adds none). */
export function precisionOpts(o: { precision?: Precision }): ModelOptions {
  return o.precision === "int8" ? { precision: "int8" } : {};
}

/** The model's part of cache keys: its files, and its precision when not fp32 (int8 embeddings differ). */
export async function modelCacheId(dir: string, precision: Precision | undefined): Promise<Record<string, unknown>> {
  return { ...(await modelFingerprint(dir)), ...(precision === "int8" ? { precision } : {}) };
}

/** --cache-dir: explicit folder; "default" means $CLIP_CACHE_DIR/eval or ~/.cache/clip-ts/eval. */
export function cacheDirOption(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v === "default") return path.join(process.env.CLIP_CACHE_DIR ?? path.join(os.homedir(), ".cache", "clip-ts"), "eval");
  return v;
}

/** A stopwatch in seconds. */
function seconds(t0: number): number {
  return Math.round((performance.now() - t0) / 10) / 100;
}

function round4(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** What identifies a dataset for the feature cache: its resolved spec plus size and mtime of local files. */
function dataFingerprint(spec: string): unknown {
  const r = resolveSpec(spec);
  const files: string[] = [];
  if (r.layout === "webdataset") files.push(...r.shards.filter((s) => !/^https?:/i.test(s)));
  else if (r.layout === "csv") files.push(r.file);
  else if (r.layout === "folder" || r.layout === "imagefolder") files.push(r.dir);
  const stats = files.map((f) => {
    try {
      const st = statSync(f);
      return [path.resolve(f), st.size, Math.round(st.mtimeMs)];
    } catch {
      return [f, null, null];
    }
  });
  return { resolved: r, files: stats };
}

/** The hostile-data summary on stderr: counts by reason and the named examples. */
export function reportSkips(s: SkipSummary | undefined, what: string): void {
  for (const line of skipReport(s ?? new SkipLog().toJSON(), what)) process.stderr.write(`clip: warning: ${line}\n`);
}

/** Dataset options of a labelled evaluation set: samples without a label (or, with numClasses, outside [0, numClasses)) are skipped (missing_label, bad_label). */
function labelled(numClasses: number | undefined, strict: boolean | undefined): DatasetOptions {
  return { requireLabel: true, onBad: strict ? "error" : "skip", ...(numClasses !== undefined ? { numClasses } : {}) };
}

/**
 * The pre-pass over a classification dataset, before any model work: counts the samples that
 * carry a usable label (for the progress bar); a dataset with none is a UserError. With
 * `userClasses` (class names the user gave, not the dataset's own) a label outside them is a
 * mistake in that list, not a bad sample: a UserError.
 */
async function checkLabels(spec: string, opts: DatasetOptions, limit: number | undefined, what: string, userClasses?: number): Promise<number> {
  const ds = openDataset(spec, opts);
  let n = 0;
  for await (const s of ds) {
    if (limit !== undefined && n >= limit) break;
    if (userClasses !== undefined && s.label !== undefined && s.label >= userClasses) {
      throw new UserError(`${what}: sample "${s.key}" in ${s.shard} has class ${s.label}, outside the ${userClasses} class names (valid: 0..${userClasses - 1})`);
    }
    n++;
  }
  if (n === 0) throw new UserError(`${what}: no samples with a usable class label${ds.stats().messages?.length ? ` (first skip: ${ds.stats().messages![0]})` : ""}`);
  return n;
}

async function openReady(spec: string, opts: Parameters<typeof openDataset>[1] = {}): Promise<Dataset> {
  const ds = openDataset(spec, opts);
  await ds.ready();
  return ds;
}

interface CommonOpts {
  model: string;
  pretrained?: string;
  revision?: string;
  batchSize: number;
  threads?: number;
  precision?: Precision;
  cacheDir?: string;
  json?: boolean;
  /** The first skipped input is an error (exit 2) instead of a counted skip. */
  strict?: boolean;
}

/** Embeds a dataset's images with a progress bar, through the cache when asked. */
async function embedSpec(model: LoadedEmbedder, spec: string, total: number | undefined, o: CommonOpts & { limit?: number }, label: string, dsOpts: Parameters<typeof openDataset>[1] = {}): Promise<EmbeddedImages> {
  const cacheDir = cacheDirOption(o.cacheDir);
  const ds = await openReady(spec, { ...dsOpts, onBad: o.strict ? "error" : "skip" });
  const bar = progressBar(label, o.limit !== undefined ? Math.min(o.limit, total ?? o.limit) : (total ?? ds.count() ?? 0));
  let last = 0;
  try {
    const r = await embedImages(model, ds, {
      batchSize: o.batchSize,
      limit: o.limit,
      onProgress: (d) => {
        bar.tick(d - last);
        last = d;
      },
      cache: cacheDir ? { dir: cacheDir, key: { model: await modelCacheId(await localModelDir(o), o.precision), data: dataFingerprint(spec), dataOptions: dsOpts } } : undefined,
      dataset: ds,
    });
    bar.stop();
    reportSkips(r.skipped, spec);
    return r;
  } finally {
    bar.stop();
  }
}

function perClassRows(m: ClassificationMetrics, classnames: readonly string[] | undefined) {
  return m.perClassRecall.map((r, c) => ({ class: classnames?.[c] ?? String(c), samples: m.support[c]!, recall: r === null ? null : round4(r) }));
}

function headline(m: ClassificationMetrics) {
  return { top1: round4(m.top1), top5: round4(m.top5), meanPerClassRecall: round4(m.meanPerClassRecall) };
}

// ---------------------------------------------------------------------------------------------
// zeroshot

interface ZeroShotOpts extends CommonOpts {
  data: string;
  templates?: string;
  labelsFile?: string;
  labels?: string;
  limit?: number;
}

async function runZeroShot(o: ZeroShotOpts): Promise<void> {
  const t0 = performance.now();
  // everything the user can get wrong is checked before the model loads
  const ds = await openReady(o.data);
  let classnames: string[];
  if (o.labels !== undefined) classnames = parseLabelList(o.labels);
  else if (o.labelsFile !== undefined) classnames = await loadClassnamesFile(o.labelsFile);
  else if (ds.classnames) classnames = ds.classnames;
  else throw new UserError(`${o.data}: the dataset has no class names (classnames.txt); pass --labels-file FILE or --labels "a,b,..."`);
  validateClassnames(classnames, o.labelsFile ?? (o.labels !== undefined ? "--labels" : `${o.data} classnames`));
  // default: the dataset's own per-class prompts or templates, else the paper's list for a dataset it
  // recognises, else ImageNet's
  const ownPrompts = o.templates === undefined && o.labels === undefined && o.labelsFile === undefined ? ds.classPrompts : undefined;
  const builtin = o.templates ?? (ds.templates || ownPrompts ? undefined : templatesForClassnames(classnames) ?? "imagenet");
  const templateSource = builtin ?? (ownPrompts ? "dataset prompts" : "dataset");
  const templates = builtin !== undefined ? await resolveTemplates(builtin) : ownPrompts ? [] : datasetTemplates(ds.templates!);
  const promptCount = ownPrompts ? ownPrompts.reduce((s, p) => s + p.length, 0) : classnames.length * templates.length;
  // labels outside the dataset's own class names are bad samples; outside the user's list, a mistake in it
  const userClasses = o.labels !== undefined || o.labelsFile !== undefined ? classnames.length : undefined;
  const dsOpts = labelled(undefined, o.strict);
  const total = await checkLabels(o.data, dsOpts, o.limit, o.data, userClasses);

  await withModel(o, o.threads, async (model, dir) => {
    const cacheDir = cacheDirOption(o.cacheDir);
    const tt = performance.now();
    const tbar = progressBar("class prompts", promptCount);
    let lastT = 0;
    const zsOpts = {
      cacheDir,
      modelId: cacheDir ? await modelCacheId(dir, o.precision) : undefined,
      onProgress: (d: number) => {
        tbar.tick(d - lastT);
        lastT = d;
      },
    };
    const weights = ownPrompts
      ? await buildZeroShotClassifierFromPrompts(model, classnames, ownPrompts, zsOpts)
      : await buildZeroShotClassifier(model, classnames, templates, zsOpts);
    tbar.stop();
    const textSeconds = seconds(tt);
    const emb = await embedSpec(model, o.data, total, o, "images", dsOpts);
    if (!emb.labels) throw new UserError(`${o.data}: some samples have no class label`);
    validateLabels(emb.labels, classnames.length, o.data, emb.keys);
    const m = evaluateZeroShot(emb.images, emb.labels, weights, model.logitScale);
    const timing = { totalSeconds: seconds(t0), imageEncodeSeconds: round4(emb.encodeSeconds), textEncodeSeconds: weights.cached ? 0 : textSeconds };
    if (o.json) {
      printJson({
        task: "zeroshot",
        model: o.model,
        data: o.data,
        samples: m.n,
        classes: classnames.length,
        classnames,
        templates: { source: templateSource, count: ownPrompts ? promptCount : templates.length },
        metrics: headline(m),
        perClass: perClassRows(m, classnames),
        confusion: m.confusion,
        skipped: emb.skipped,
        cached: { images: emb.cached, classifier: weights.cached },
        timing,
      });
    } else {
      const title = `Zero-shot: ${o.model} on ${o.data} (${m.n} images, ${classnames.length} classes, ${ownPrompts ? `${promptCount} prompts` : `${templates.length} templates`} from ${templateSource})`;
      process.stdout.write(renderClassificationMarkdown(m, classnames, { title }) + `\n\n${timingLine(timing)}\n`);
    }
  }, precisionOpts(o));
}

function timingLine(t: Record<string, number>): string {
  return `time: ${Object.entries(t)
    .map(([k, v]) => `${k.replace(/Seconds$/, "")} ${v.toFixed(2)} s`)
    .join(", ")}`;
}

// ---------------------------------------------------------------------------------------------
// retrieval

interface RetrievalOpts extends CommonOpts {
  data: string;
  ks: number[];
  limit?: number;
}

async function runRetrieval(o: RetrievalOpts): Promise<void> {
  const t0 = performance.now();
  const probe = await openReady(o.data, { requireCaption: true });
  const total = probe.count();
  let truncated = 0;
  const onWarning = (m: string, texts?: number): void => {
    truncated += texts ?? 0;
    warn(m);
  };
  await withModel(o, o.threads, async (model, dir) => {
    const emb = await embedSpec(model, o.data, total, o, "images", { requireCaption: true });
    const cacheDir = cacheDirOption(o.cacheDir);
    const nCaps = emb.captions.reduce((s, c) => s + c.length, 0);
    const bar = progressBar("captions", nCaps);
    let last = 0;
    const txt = await embedCaptions(model, emb.captions, {
      cache: cacheDir ? { dir: cacheDir, key: { model: await modelCacheId(dir, o.precision), data: dataFingerprint(o.data), limit: o.limit ?? null } } : undefined,
      onProgress: (d) => {
        bar.tick(d - last);
        last = d;
      },
    });
    bar.stop();
    const r = retrievalRecall(emb.images, txt.texts, txt.textToImage, { ks: o.ks });
    const timing = { totalSeconds: seconds(t0), imageEncodeSeconds: round4(emb.encodeSeconds), textEncodeSeconds: round4(txt.encodeSeconds) };
    const rr = (x: Record<string, number>) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, round4(v)]));
    if (o.json) {
      printJson({
        task: "retrieval",
        model: o.model,
        data: o.data,
        images: r.nImages,
        captions: r.nTexts,
        ks: r.ks,
        textToImage: rr(r.textToImage),
        imageToText: rr(r.imageToText),
        meanRecall: round4(r.meanRecall),
        skipped: emb.skipped,
        truncatedCaptions: truncated,
        cached: { images: emb.cached, texts: txt.cached },
        timing,
      });
    } else {
      process.stdout.write(renderRetrievalMarkdown(r, `Retrieval: ${o.model} on ${o.data}`) + `\n\n${timingLine(timing)}\n`);
    }
  }, { onWarning, ...precisionOpts(o) });
}

// ---------------------------------------------------------------------------------------------
// linear-probe

interface ProbeOpts extends CommonOpts {
  train: string;
  test: string;
  C?: number;
  kShot?: number;
  seed: number;
  valFraction: number;
  maxIter: number;
  tol: number;
  normalize?: boolean;
  labelsFile?: string;
  limit?: number;
}

function toProbeData(e: EmbeddedImages, numClasses: number, normalize: boolean, what: string): ProbeData {
  if (!e.labels) throw new UserError(`${what}: some samples have no class label`);
  validateLabels(e.labels, numClasses, what, e.keys);
  const x = Float32Array.from(e.images.data);
  if (normalize) normalizeRows(x, e.images.dim);
  return { x, n: e.images.n, dim: e.images.dim, y: e.labels, numClasses };
}

async function runLinearProbe(o: ProbeOpts): Promise<void> {
  const t0 = performance.now();
  const trainDs = await openReady(o.train);
  const testDs = await openReady(o.test);
  const classnames = o.labelsFile !== undefined ? await loadClassnamesFile(o.labelsFile) : (trainDs.classnames ?? testDs.classnames);
  let nTrain: number | undefined;
  let nTest: number | undefined;
  const dsOpts = labelled(undefined, o.strict);
  const userClasses = o.labelsFile !== undefined ? classnames?.length : undefined;
  if (classnames) {
    validateClassnames(classnames, o.labelsFile ?? `${o.train} classnames`);
    nTrain = await checkLabels(o.train, dsOpts, o.limit, o.train, userClasses);
    nTest = await checkLabels(o.test, dsOpts, o.limit, o.test, userClasses);
  }
  await withModel(o, o.threads, async (model) => {
    const tr = await embedSpec(model, o.train, nTrain ?? trainDs.count(), o, "train images", dsOpts);
    const te = await embedSpec(model, o.test, nTest ?? testDs.count(), o, "test images", dsOpts);
    const skipped = new SkipLog();
    for (const e of [tr, te]) if (e.skipped) skipped.merge(e.skipped);
    let K = classnames?.length ?? 0;
    if (!classnames) {
      for (const l of [...(tr.labels ?? []), ...(te.labels ?? [])]) if (Number.isInteger(l) && l + 1 > K) K = l + 1;
    }
    const train = toProbeData(tr, K, !!o.normalize, o.train);
    const test = toProbeData(te, K, !!o.normalize, o.test);
    const tp = performance.now();
    let fits = 0;
    const r = linearProbe(train, test, {
      C: o.C,
      kShot: o.kShot,
      seed: o.seed,
      valFraction: o.valFraction,
      maxIter: o.maxIter,
      tol: o.tol,
      threads: o.threads,
      onFit: (p) => {
        fits++;
        if (!o.json && process.stderr.isTTY) process.stderr.write(`  sweep ${fits}: C=${p.C.toExponential(2)} val ${pct(p.valAccuracy)}% (${p.iterations} it)\n`);
      },
    });
    const timing = { totalSeconds: seconds(t0), imageEncodeSeconds: round4(tr.encodeSeconds + te.encodeSeconds), probeSeconds: seconds(tp) };
    if (!r.converged) warn(`the final fit stopped after ${r.iterations} iterations without converging (raise --max-iter or --tol)`);
    if (o.json) {
      printJson({
        task: "linear-probe",
        model: o.model,
        train: o.train,
        test: o.test,
        trainSamples: r.trainSamples,
        testSamples: test.n,
        classes: K,
        ...(classnames ? { classnames } : {}),
        C: r.C,
        chosenBy: r.chosenBy,
        sweep: r.sweep ? r.sweep.points.map((p) => ({ C: p.C, valAccuracy: round4(p.valAccuracy), valLogLoss: round4(p.valLogLoss), iterations: p.iterations, converged: p.converged })) : null,
        fewShot: r.fewShot ? { k: r.fewShot.k, seed: o.seed, perClass: r.fewShot.perClass } : null,
        trainAccuracy: round4(r.trainAccuracy),
        metrics: headline(r.test),
        perClass: perClassRows(r.test, classnames),
        confusion: r.test.confusion,
        iterations: r.iterations,
        converged: r.converged,
        skipped: skipped.toJSON(),
        cached: { train: tr.cached, test: te.cached },
        timing,
      });
    } else {
      const names = classnames ?? Array.from({ length: K }, (_, i) => String(i));
      const shots = r.fewShot ? `, ${r.fewShot.k}-shot (seed ${o.seed})` : "";
      const title = `Linear probe: ${o.model}, train ${o.train} (${r.trainSamples} samples${shots}), test ${o.test}`;
      const probeTable = markdownTable(
        ["setting", "value"],
        [
          ["C", `${r.C.toExponential(3)} (${r.chosenBy === "sweep" ? `sweep over ${r.sweep!.points.length} values on a ${Math.round(o.valFraction * 100)}% held-out split` : "given"})`],
          ["train accuracy (%)", pct(r.trainAccuracy)],
          ["L-BFGS iterations", `${r.iterations}${r.converged ? "" : " (not converged)"}`],
        ],
      );
      process.stdout.write(`${renderClassificationMarkdown(r.test, names, { title })}\n\n${probeTable}\n\n${timingLine(timing)}\n`);
    }
  }, precisionOpts(o));
}

// ---------------------------------------------------------------------------------------------

function addCommon(cmd: Command): Command {
  return addHubOptions(cmd.requiredOption("--model <dir>", MODEL_HELP))
    .option("--batch-size <n>", "images per encoding batch", intArg("--batch-size"), 256)
    .option("--threads <n>", "threads of the model (and of the linear probe's optimizer) (default: all cores)", intArg("--threads"))
    .addOption(precisionOption())
    .option("--cache-dir <dir>", 'cache embeddings (and classifier weights) here, keyed by model and data ("default": ~/.cache/clip-ts/eval)')
    .option("--json", "print one JSON document on stdout")
    .option("--strict", "stop at the first input that cannot be read or decoded (exit 2) instead of skipping and counting it")
    .addHelpText("after", `\n${DATA_SPEC_HELP}`);
}

export function register(program: Command): void {
  const ev = program.command("eval").summary(SUMMARIES.eval).description("evaluate a checkpoint with the CLIP paper's protocols: zero-shot, retrieval, linear probe");

  addCommon(
    ev
      .command("zeroshot")
      .description("zero-shot classification: top-1, top-5, mean per-class recall and the confusion matrix")
      .requiredOption("--data <spec>", "a labelled dataset (.cls per sample, classnames.txt)")
      .option("--templates <name|file>", `prompt templates: a built-in list (${templateSetNames().join(", ")}) or a file with one template per line containing {} (default: the dataset's own prompts or templates, else the paper's list for CIFAR-10 class names, else imagenet)`)
      .option("--labels-file <file>", "class names, one per line in label order (default: the dataset's classnames.txt)")
      .option("--labels <list>", "class names separated by commas, in label order")
      .option("--limit <n>", "only the first N samples", intArg("--limit")),
  ).action(runZeroShot);

  addCommon(
    ev
      .command("retrieval")
      .description("image-text retrieval: text->image and image->text recall@k, every caption a query")
      .requiredOption("--data <spec>", "a captioned dataset (several captions per image in .json or .txt)")
      .option("--ks <list>", "the k of recall@k", intListArg("--ks"), [1, 5, 10])
      .option("--limit <n>", "only the first N images", intArg("--limit")),
  ).action(runRetrieval);

  addCommon(
    ev
      .command("linear-probe")
      .description("logistic regression on frozen image features (L-BFGS; C chosen by the paper's sweep on a held-out split)")
      .requiredOption("--train <spec>", "labelled training dataset")
      .requiredOption("--test <spec>", "labelled test dataset")
      .option("--C <c>", "inverse regularization strength (skips the sweep)", positiveArg("--C"))
      .option("--k-shot <k>", "few-shot: k training samples per class", intArg("--k-shot"))
      .option("--seed <s>", "seed of the few-shot draw and the validation split", intArg("--seed", 0), 0)
      .option("--val-fraction <f>", "part of the training set held out to choose C", fractionArg("--val-fraction"), 0.2)
      .option("--max-iter <n>", "L-BFGS iterations per fit (the paper: 1000)", intArg("--max-iter"), 1000)
      .option("--tol <t>", "gradient tolerance of the n-scaled objective", positiveArg("--tol"), 1e-4)
      .option("--normalize", "L2-normalize the features (default: raw image embeddings, as CLIP's example)")
      .option("--labels-file <file>", "class names, one per line (default: the dataset's classnames.txt)")
      .option("--limit <n>", "only the first N samples of each set", intArg("--limit")),
  ).action(runLinearProbe);
}

