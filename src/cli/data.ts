/** @file `clip data ...`: pack shards from other layouts, render the synthetic world, inspect a dataset SPEC. */
import os from "node:os";
import path from "node:path";
import { Command, Option } from "commander";
import { SUMMARIES } from "./summaries.js";
import { UserError } from "../errors.js";
import { DATA_SPEC_HELP, formatStats, openDataset, totalSkipped, writeShards, writeSynthShards } from "../data/index.js";
import type { DataStats, Sample, SynthSplit, SynthTask } from "../data/index.js";
import { printJson, progressBar, warn } from "./output.js";
import { intArg } from "./options.js";

/** Warnings about skipped samples at the end of a run (stderr). */
export function reportSkips(stats: DataStats): void {
  const n = totalSkipped(stats);
  if (!n) return;
  warn(`skipped ${n} bad sample(s): ${formatStats(stats)}`);
  for (const m of stats.messages ?? []) warn(`  ${m}`);
  const more = n - (stats.messages?.length ?? 0);
  if (more > 0) warn(`  ... and ${more} more`);
}

export function register(program: Command): void {
  const data = program.command("data").summary(SUMMARIES.data).description("build and inspect datasets (WebDataset shards, CSV, folders, the synthetic world)");
  data.addHelpText("after", `\n${DATA_SPEC_HELP}`);

  data
    .command("pack")
    .description("write a dataset as WebDataset shards (KEY.jpg + KEY.txt/.json/.cls)")
    .requiredOption("--from <spec>", "the source dataset SPEC, e.g. csv:pairs.csv or folder:photos/ (see below)")
    .requiredOption("--out <dir>", "output directory for the shards")
    .option("--shard-size <n>", "samples per shard", intArg("--shard-size"), 1000)
    .option("--prefix <name>", "shard file name prefix", "shard")
    .option("--require-caption", "skip samples without a caption (default for csv: and folder:)")
    .option("--json", "print the result as one JSON document")
    .addHelpText("after", `\n${DATA_SPEC_HELP}`)
    .action(async (o: { from: string; out: string; shardSize: number; prefix: string; requireCaption?: boolean; json?: boolean }) => {
      const ds = openDataset(o.from, { requireCaption: o.requireCaption ?? /^(csv|tsv|folder):/i.test(o.from) });
      await ds.ready();
      const total = ds.count();
      const bar = progressBar("packing", total ?? 0);
      const result = await writeShards(ds, o.out, o.shardSize, {
        prefix: o.prefix,
        ...(ds.classnames ? { classnames: ds.classnames } : {}),
        ...(ds.templates ? { templates: ds.templates } : {}),
        onSample: () => bar.tick(),
      });
      bar.stop();
      const stats = ds.stats();
      reportSkips(stats);
      if (o.json) printJson({ out: path.resolve(o.out), shards: result.shards.length, samples: result.count, skipped: stats.skipped, sizes: result.sizes });
      else process.stdout.write(`wrote ${result.count} samples in ${result.shards.length} shard(s) to ${o.out} (${formatStats(stats)})\n`);
    });

  data
    .command("synth")
    .description("render the procedural captioned world (shapes, colors, sizes, positions, counts, textures, words) as shards")
    .requiredOption("--out <dir>", "output directory")
    .requiredOption("--n <count>", "number of images", intArg("--n"))
    .option("--seed <s>", "random seed (same seed, same images and captions)", intArg("--seed", 0), 0)
    .option("--size <px>", "image side in pixels", intArg("--size"), 64)
    .addOption(
      new Option("--split <split>", "train/val: held-out color-shape pairs never appear; heldout: every image shows one; all: no rule")
        .choices(["train", "val", "heldout", "all"])
        .default("train"),
    )
    .addOption(
      new Option("--task <task>", "a classification view: .cls labels + classnames.txt + zero-shot templates").choices(["none", "shape", "color", "count"]).default("none"),
    )
    .option("--shard-size <n>", "samples per shard", intArg("--shard-size"), 1000)
    .option("--threads <n>", "rendering threads (the output is the same for any number)", intArg("--threads"), os.availableParallelism())
    .option("--json", "print the result as one JSON document")
    .action(async (o: { out: string; n: number; seed: number; size: number; split: SynthSplit; task: SynthTask; shardSize: number; threads: number; json?: boolean }) => {
      if (o.size < 16) throw new UserError(`--size must be at least 16 pixels (got ${o.size})`);
      const bar = progressBar("rendering", o.n);
      const t0 = performance.now();
      let done = 0;
      const result = await writeSynthShards({ n: o.n, seed: o.seed, size: o.size, split: o.split, task: o.task }, o.out, o.shardSize, {
        threads: o.threads,
        onProgress: (count) => {
          bar.tick(count - done);
          done = count;
        },
      });
      bar.stop();
      const seconds = (performance.now() - t0) / 1000;
      const summary = { out: path.resolve(o.out), samples: result.count, shards: result.shards.length, split: o.split, task: o.task, seed: o.seed, size: o.size, imagesPerSecond: Math.round(result.count / seconds) };
      if (o.json) printJson(summary);
      else process.stdout.write(`wrote ${result.count} ${o.size}px images (${o.split}${o.task !== "none" ? `, ${o.task} labels` : ""}) in ${result.shards.length} shard(s) to ${o.out} at ${summary.imagesPerSecond} images/s\n`);
    });

  data
    .command("info")
    .alias("check")
    .description("say what a dataset SPEC resolves to; with --scan, read it all and count samples, captions and bad data")
    .argument("<spec>", "dataset SPEC (see below)")
    .option("--scan", "read every sample (reports exact counts and skipped samples)")
    .option("--require-caption", "count samples without a caption as skipped")
    .option("--json", "print the result as one JSON document")
    .addHelpText("after", `\n${DATA_SPEC_HELP}`)
    .action(async (spec: string, o: { scan?: boolean; requireCaption?: boolean; json?: boolean }) => {
      const ds = openDataset(spec, { requireCaption: o.requireCaption ?? false, requireImage: false });
      await ds.ready();
      const info: Record<string, unknown> = { spec, layout: ds.layout };
      if (ds.classnames) info.classnames = ds.classnames;
      if (ds.templates) info.templates = ds.templates.length;
      const count = ds.count();
      if (count !== undefined) info.count = count;
      let first: Sample | undefined;
      if (o.scan) {
        let captions = 0;
        let images = 0;
        const labels: Record<string, number> = {};
        const bar = progressBar("scanning", count ?? 0);
        for await (const s of ds) {
          first ??= s;
          captions += s.captions.length;
          if (s.image) images++;
          if (s.label !== undefined) labels[s.label] = (labels[s.label] ?? 0) + 1;
          bar.tick();
        }
        bar.stop();
        const stats = ds.stats();
        Object.assign(info, { samples: stats.samples, images, captions, skipped: stats.skipped });
        if (Object.keys(labels).length) info.labels = labels;
        if (stats.droppedCaptions) info.droppedCaptions = stats.droppedCaptions;
        if (stats.messages) info.messages = stats.messages;
      } else {
        for await (const s of ds) {
          first = s;
          break;
        }
      }
      if (first) {
        info.first = { key: first.key, shard: first.shard, imageExt: first.imageExt, imageBytes: first.image?.length ?? 0, captions: first.captions, ...(first.label !== undefined ? { label: first.label } : {}) };
      }
      if (o.json) {
        printJson(info);
        return;
      }
      const lines = [`${spec}: ${ds.layout}${count !== undefined ? `, ${count} samples` : ""}`];
      if (ds.classnames) lines.push(`classes (${ds.classnames.length}): ${ds.classnames.slice(0, 20).join(", ")}${ds.classnames.length > 20 ? ", ..." : ""}`);
      if (o.scan) lines.push(`scanned: ${info.samples} samples, ${info.images} images, ${info.captions} captions; ${formatStats(ds.stats())}`);
      if (first) lines.push(`first: ${first.key} (${first.imageExt ?? "no image"}, ${first.image?.length ?? 0} bytes)${first.label !== undefined ? ` label ${first.label}` : ""}`, ...first.captions.map((c) => `  "${c}"`));
      process.stdout.write(lines.join("\n") + "\n");
      if (o.scan) reportSkips(ds.stats());
    });
}
