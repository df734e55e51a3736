/** @file `clip search`: find images in an index by text, by image, like an indexed image, or combinations. */
import type { Command } from "commander";
import { SUMMARIES } from "./summaries.js";
import { UserError } from "../errors.js";
import { ClipModel } from "../clip/model.js";
// the two modules a search needs (not the index barrel: indexing and dedup load sharp and the data layer)
import { openIndex } from "../index/store.js";
import { search, type SearchQuery } from "../index/search.js";
import { collect, cosineArg, intArg, positiveArg } from "./options.js";
import { printJson } from "./output.js";
import { modelDir } from "./model.js";

interface SearchOpts {
  db: string;
  model?: string;
  image?: string;
  like?: string;
  and: string[];
  not: string[];
  notWeight?: number;
  k: number;
  minScore?: number;
  where?: string;
  exact?: boolean;
  nprobes?: number;
  refineFactor?: number;
  threads?: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("search")
    .summary(SUMMARIES.search)
    .description(
      "Search an index built by clip index. The query is the sum of the normalized embeddings of TEXT, --image, --like and " +
        "each --and, minus each --not, normalized; results are best first with the cosine similarity as score. The search runs " +
        "in LanceDB: exact (a flat scan) unless the index has an IVF-PQ index (clip index --ann) and --exact is not given.",
    )
    .argument("[text]", "describe the images to find")
    .requiredOption("--db <path>", "index database (folder or s3:// URI)")
    .option("--model <dir>", "checkpoint (default: the one the index was built with)")
    .option("--image <file>", "find images like this file")
    .option("--like <path|id>", "find images like an indexed one (its stored embedding)")
    .option("--and <text>", "add a text to the query (repeatable)", collect, [])
    .option("--not <text>", "subtract a text from the query (repeatable)", collect, [])
    .option("--not-weight <w>", "weight of each --not term (default 1)", positiveArg("--not-weight"))
    .option("--k <n>", "results", intArg("--k"), 10)
    .option("--min-score <s>", "drop results below this cosine similarity", cosineArg("--min-score"))
    .option("--where <sql>", "SQL filter on the metadata (path, folder, size, mtime, width, height, caption, camera, taken), e.g. \"folder = 'trips' AND width >= 1000\"")
    .option("--exact", "scan every row even when an IVF-PQ index exists")
    .option("--nprobes <n>", "IVF partitions to probe (ANN only)", intArg("--nprobes"))
    .option("--refine-factor <n>", "re-rank N*k ANN candidates exactly (ANN only)", intArg("--refine-factor"))
    .option("--threads <n>", "threads (default: all cores)", intArg("--threads"))
    .option("--json", 'print {"results": [{"id", "path", "score", ...}], "method"}')
    .action(async (text: string | undefined, o: SearchOpts) => {
      const index = await openIndex(o.db);
      let model: ClipModel | undefined;
      try {
        if (!index.exists) throw new UserError(`${o.db}: no index here yet (run clip index --db ${o.db} --model DIR SOURCE first)`);
        const q: SearchQuery = {
          text,
          image: o.image,
          like: o.like,
          and: o.and,
          not: o.not,
          notWeight: o.notWeight,
          k: o.k,
          minScore: o.minScore,
          where: o.where,
          exact: o.exact,
          nprobes: o.nprobes,
          refineFactor: o.refineFactor,
        };
        if (text !== undefined || o.image !== undefined || o.and.length || o.not.length) {
          model = await ClipModel.load(modelDir(o.model ?? index.identity!.model_path), { threads: o.threads });
        }
        const r = await search(index, model, q);
        if (o.json) printJson(r);
        else {
          const lines = r.results.map((h) => `${h.score.toFixed(4)}  ${h.path}${h.caption ? `  "${h.caption}"` : ""}`);
          if (!lines.length) lines.push(o.minScore !== undefined ? `nothing scores >= ${o.minScore}` : "no results");
          process.stdout.write(lines.join("\n") + "\n");
          process.stderr.write(`clip: ${r.method} search over ${await index.count()} images\n`);
        }
      } finally {
        await model?.dispose();
        index.close();
      }
    });
}
