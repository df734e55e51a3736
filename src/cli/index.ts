/** @file `clip index`: bring an image index up to date with folders or datasets (incremental), or merge part indexes. */
import type { Command } from "commander";
import { SUMMARIES } from "./summaries.js";
import { UserError } from "../errors.js";
import { ClipModel } from "../clip/model.js";
import { DATA_SPEC_HELP, skipReport } from "../data/index.js";
import { indexSources, mergeIndexes, openIndex, type IndexProgress, type IndexRunResult } from "../index/index.js";
import { collect, intArg, partArg } from "./options.js";
import { printJson, progressBar, type Progress } from "./output.js";
import { modelDir } from "./model.js";

interface IndexOpts {
  model?: string;
  db: string;
  ann?: boolean;
  part?: { index: number; count: number };
  merge: string[];
  batch?: number;
  chunk?: number;
  strict?: boolean;
  threads?: number;
  json?: boolean;
}

/** A bar with images/s and ETA once the total is known. */
function indexProgress(): { onProgress: (p: IndexProgress) => void; stop: () => void } {
  let bar: Progress | undefined;
  let last = 0;
  const t0 = Date.now();
  return {
    onProgress: (p) => {
      if (p.total === undefined) return;
      bar ??= progressBar("index", p.total, "index [{bar}] {value}/{total} | {ips} images/s | ETA {eta_formatted}");
      const ips = (p.embedded / Math.max(1e-3, (Date.now() - t0) / 1000)).toFixed(1);
      bar.tick(p.done - last, { ips });
      last = p.done;
    },
    stop: () => bar?.stop(),
  };
}

function summary(r: IndexRunResult): string {
  return (
    `added ${r.added}, updated ${r.updated}, unchanged ${r.unchanged}, removed ${r.removed}; embedded ${r.embedded} ` +
    `(${r.images_per_second.toFixed(1)} images/s), skipped ${r.skipped.count}; ${r.rows} rows` +
    (r.ann ? `; IVF-PQ index (${r.ann.partitions} partitions, ${r.ann.subVectors} sub-vectors)` : "")
  );
}

export function register(program: Command): void {
  program
    .command("index")
    .summary(SUMMARIES.index)
    .description(
      "Embed the images of folders (recursive) or datasets into a LanceDB index at --db, incrementally: unchanged files " +
        "(size + mtime, then content hash) are not embedded again, changed ones are replaced, files gone from a folder are removed, " +
        "identical content is embedded once. Unreadable images are skipped, counted and named. A killed run can simply be rerun.\n\n" +
        "SOURCE: a folder of images (a folder holding only .tar shards is read as shards), or a dataset SPEC.\n" +
        DATA_SPEC_HELP,
    )
    .argument("[source...]", "folders of images or dataset SPECs")
    .requiredOption("--db <path>", "index database: a folder (created if missing) or an s3:// URI")
    .option("--model <dir>", "checkpoint directory (required to index; must be the model the index was built with)")
    .option("--ann", "afterwards build an IVF-PQ index for approximate search (at least 256 images)")
    .option("--part <I/N>", "index only part I of N of each source (files or shards), for N machines or processes", partArg("--part"))
    .option("--merge <db>", "copy the rows of another index (e.g. a --part) into --db (repeatable)", collect, [])
    .option("--strict", "stop at the first image that cannot be read or decoded instead of skipping it")
    .option("--batch <n>", "images per model run (default 32)", intArg("--batch"))
    .option("--chunk <n>", "images committed together (default 256)", intArg("--chunk"))
    .option("--threads <n>", "threads (default: all cores)", intArg("--threads"))
    .option("--json", 'print {"added", "updated", "unchanged", "removed", "embedded", "skipped": {count, by_reason, examples}, "rows", ...}')
    .action(async (sources: string[], o: IndexOpts) => {
      if (!sources.length && !o.merge.length) throw new UserError("index: give at least one SOURCE (a folder or a dataset SPEC), or --merge DB");
      const index = await openIndex(o.db);
      try {
        if (o.merge.length) {
          const parts = await Promise.all(o.merge.map((m) => openIndex(m)));
          const r = await mergeIndexes(index, parts);
          parts.forEach((p) => p.close());
          if (!sources.length) {
            if (o.json) printJson({ merged: o.merge, ...r });
            else process.stdout.write(`merged ${r.copied} rows from ${o.merge.length} index(es); ${r.rows} rows in ${o.db}\n`);
            return;
          }
        }
        if (!o.model) throw new UserError(`index: --model DIR is required to embed images${index.identity ? ` (this index was built with ${index.identity.model_path})` : ""}`);
        const model = await ClipModel.load(modelDir(o.model), { threads: o.threads, batchSize: o.batch });
        const progress = indexProgress();
        let r: IndexRunResult;
        try {
          r = await indexSources(index, model, sources, { part: o.part, ann: o.ann, chunk: o.chunk, onBad: o.strict ? "error" : "skip", onProgress: progress.onProgress });
        } finally {
          progress.stop();
          await model.dispose();
        }
        for (const line of skipReport(r.skipped, "index")) process.stderr.write(`clip: warning: ${line}\n`);
        if (o.json) printJson(r);
        else process.stdout.write(summary(r) + "\n");
      } finally {
        index.close();
      }
    });
}
