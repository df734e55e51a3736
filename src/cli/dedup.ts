/** @file `clip dedup`: near-duplicate groups within an index, or the overlap of one index with another. */
import type { Command } from "commander";
import { SUMMARIES } from "./summaries.js";
import { UserError } from "../errors.js";
import { DEFAULT_DEDUP_THRESHOLD, findDuplicates, findOverlap, openIndex, writeDedupReport } from "../index/index.js";
import { cosineArg, intArg } from "./options.js";
import { printJson, progressBar, type Progress } from "./output.js";

interface DedupOpts {
  db: string;
  against?: string;
  threshold: number;
  k: number;
  report?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("dedup")
    .summary(SUMMARIES.dedup)
    .description(
      "Find near-duplicate images: pairs within --db whose embeddings have cosine similarity >= --threshold, joined into groups; " +
        "or with --against, for each image of --db its nearest neighbour in the other index (the share with a near-duplicate there). " +
        "--report DIR writes report.md and contact.png (the most similar pairs).",
    )
    .requiredOption("--db <path>", "index database")
    .option("--against <path>", "another index built with the same model")
    .option("--threshold <t>", "cosine similarity from which two images count as near-duplicates", cosineArg("--threshold"), DEFAULT_DEDUP_THRESHOLD)
    .option("--k <n>", "neighbours examined per image (within one index)", intArg("--k"), 10)
    .option("--report <dir>", "write report.md and contact.png here")
    .option("--json", 'print {"pairs": [{a, b, score}], "groups": [...]} (or the overlap with --against)')
    .action(async (o: DedupOpts) => {
      const index = await openIndex(o.db);
      const against = o.against ? await openIndex(o.against) : undefined;
      let bar: Progress | undefined;
      const onProgress = (done: number, total: number): void => {
        bar ??= progressBar("dedup", total);
        bar.tick(1);
        if (done === total) bar.stop();
      };
      try {
        if (!index.exists) throw new UserError(`${o.db}: no index here yet`);
        if (against && !against.exists) throw new UserError(`--against ${o.against}: no index there`);
        const r = against ? await findOverlap(index, against, { threshold: o.threshold, onProgress }) : await findDuplicates(index, { threshold: o.threshold, k: o.k, onProgress });
        const files = o.report ? await writeDedupReport(r, o.report, { db: o.db, against: o.against }) : undefined;
        const brief = (m: { id: string; path: string }) => ({ id: m.id, path: m.path });
        if (o.json) {
          if ("matches" in r) printJson({ ...r, matches: r.matches.map((m) => ({ image: brief(m.image), nearest: brief(m.nearest), score: m.score })), ...(files ? { report: files } : {}) });
          else {
            printJson({
              threshold: r.threshold,
              images: r.images,
              pairs: r.pairs.map((p) => ({ a: brief(p.a), b: brief(p.b), score: p.score })),
              groups: r.groups.map((g) => ({ best: g.best, members: g.members.map(brief) })),
              ...(files ? { report: files } : {}),
            });
          }
          return;
        }
        if ("matches" in r) {
          process.stdout.write(`${(100 * r.fraction).toFixed(2)} % of ${r.images} images have a near-duplicate in ${o.against} at threshold ${r.threshold} (${r.with_duplicate})\n`);
          for (const m of r.matches.slice(0, 20)) process.stdout.write(`${m.score.toFixed(4)}  ${m.image.path}  ${m.nearest.path}\n`);
        } else {
          process.stdout.write(`${r.pairs.length} near-duplicate pairs in ${r.groups.length} groups among ${r.images} images (threshold ${r.threshold})\n`);
          for (const p of r.pairs.slice(0, 20)) process.stdout.write(`${p.score.toFixed(4)}  ${p.a.path}  ${p.b.path}\n`);
        }
        if (files) process.stdout.write(`report: ${files.markdown}, ${files.contactSheet}\n`);
      } finally {
        bar?.stop();
        index.close();
        against?.close();
      }
    });
}
