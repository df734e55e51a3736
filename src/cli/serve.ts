/**
 * @file `clip serve`: the HTTP service (src/server) on a loaded checkpoint, with the page at `/`.
 * Loopback by default; prints its URL on stdout; SIGTERM/SIGINT let in-flight requests finish.
 */
import fs from "node:fs";
import { type Command, Option } from "commander";
import { SUMMARIES } from "./summaries.js";
import { UserError } from "../errors.js";
import { ThreadedClipModel } from "../clip/threaded.node.js";
import type { SearchModel } from "../index/search.js";
import type { SearchBackend } from "../server/backend.js";
import { createServer } from "../server/app.js";
import { DEFAULT_BATCHING, DEFAULT_LIMITS } from "../server/limits.js";
import { intArg, mibArg, portArg, precisionOption } from "./options.js";
import type { Precision } from "../models/clip/int8.js";
import { modelDir } from "./model.js";

interface ServeOpts {
  model: string;
  db?: string;
  host: string;
  port: number;
  threads?: number;
  precision: Precision;
  maxBatch: number;
  maxWaitMs: number;
  maxInFlight: number;
  maxQueue: number;
  timeoutMs: number;
  maxBodyMb: number;
  maxImageMb: number;
  maxPixels: number;
}

/**
 * The index at `--db` as the server's SearchBackend: queries run through src/index's `search` with
 * the served model (which must be the one the index was built with); images are read by row id
 * from the files the index holds (dataset samples have no file: 404).
 */
async function openSearchBackend(db: string, model: SearchModel): Promise<SearchBackend> {
  // loaded only with --db: LanceDB is a native module
  const { openIndex, search, checkModel, sqlString } = await import("../index/index.js");
  const index = await openIndex(db);
  if (!index.exists) throw new UserError(`--db ${db}: no index there (run clip index --db ${db} --model DIR SOURCE first)`);
  await checkModel(index, model);
  return {
    async search(q) {
      const r = await search(index, model, { text: q.text, image: q.image, like: q.like, and: q.and, not: q.not, k: q.k, minScore: q.minScore, where: q.where });
      return r.results.map(({ source: _source, hash: _hash, ...hit }) => ({ ...hit, method: r.method }));
    },
    async imageById(id) {
      const [row] = await index.metas(`id = ${sqlString(id)}`);
      if (!row || row.path.includes("#")) return null;
      try {
        return { bytes: new Uint8Array(await fs.promises.readFile(row.path)), contentType: "application/octet-stream" };
      } catch {
        return null; // moved or deleted since it was indexed
      }
    },
    async info() {
      return { images: await index.count(), model: index.identity?.model_path, method: (await index.annIndex()) ?? "exact" };
    },
  };
}

async function runServe(o: ServeOpts): Promise<void> {
  // the sessions run in a worker thread: HTTP requests are read, checked and tokenized while a batch runs
  const model = await ThreadedClipModel.load(modelDir(o.model), { threads: o.threads, truncate: "error", batchSize: o.maxBatch, precision: o.precision });
  let search: SearchBackend | undefined;
  try {
    search = o.db !== undefined ? await openSearchBackend(o.db, model) : undefined;
  } catch (e) {
    await model.dispose();
    throw e;
  }
  const server = await createServer(model, {
    search,
    batching: { maxBatch: o.maxBatch, maxWaitMs: o.maxWaitMs, maxQueue: o.maxQueue, timeoutMs: o.timeoutMs, maxInFlight: o.maxInFlight },
    limits: { maxBodyBytes: o.maxBodyMb, maxImageBytes: o.maxImageMb, maxPixels: o.maxPixels },
  });
  let address: string;
  try {
    address = await server.app.listen({ host: o.host, port: o.port });
  } catch (e) {
    await model.dispose();
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`cannot listen on ${o.host}:${o.port} (${code ?? (e as Error).message})`);
  }
  process.stdout.write(`clip serve: ${address}/ (model ${o.model}${o.db ? `, index ${o.db}` : ""}; Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`clip serve: ${signal}: finishing in-flight requests\n`);
      process.off("SIGTERM", onTerm);
      process.off("SIGINT", onInt);
      void server
        .close()
        .then(() => model.dispose())
        .then(resolve, (e: unknown) => {
          process.stderr.write(`clip serve: error while stopping: ${(e as Error).message}\n`);
          process.exitCode = 1;
          resolve();
        });
    };
    const onTerm = () => stop("SIGTERM");
    const onInt = () => stop("SIGINT");
    process.on("SIGTERM", onTerm);
    process.on("SIGINT", onInt);
  });
  process.stderr.write("clip serve: stopped\n");
}

export function register(program: Command): void {
  program
    .command("serve")
    .summary(SUMMARIES.serve)
    .description("Serve a checkpoint over HTTP: POST /v1/embed, /v1/classify, GET/POST /v1/search (with --db), /health, /metrics, and a search and zero-shot page at /")
    .requiredOption("--model <dir>", "checkpoint directory")
    .option("--db <path>", "a search index made by `clip index`")
    .option("--host <host>", "interface to listen on (0.0.0.0 exposes it to the network)", "127.0.0.1")
    .option("--port <n>", "port (0: any free one)", portArg("--port"), 8080)
    .option("--threads <n>", "threads (default: all cores)", intArg("--threads"))
    .addOption(precisionOption())
    .option("--max-batch <n>", "items per model call", intArg("--max-batch"), DEFAULT_BATCHING.maxBatch)
    .option("--max-wait-ms <ms>", "how long an idle model waits for more requests to batch", intArg("--max-wait-ms", 0), DEFAULT_BATCHING.maxWaitMs)
    .option("--max-in-flight <n>", "model calls per tower at once: beyond the first, a full batch is prepared (images decoded) while the model runs", intArg("--max-in-flight"), DEFAULT_BATCHING.maxInFlight)
    .option("--max-queue <n>", "requests waiting per tower before 503", intArg("--max-queue"), DEFAULT_BATCHING.maxQueue)
    .option("--timeout-ms <ms>", "answer 504 when a request waits longer", intArg("--timeout-ms"), DEFAULT_BATCHING.timeoutMs)
    .addOption(new Option("--max-body-mb <n>", "request body limit in MiB (413 beyond)").argParser(mibArg("--max-body-mb")).default(DEFAULT_LIMITS.maxBodyBytes, String(DEFAULT_LIMITS.maxBodyBytes / 1048576)))
    .addOption(new Option("--max-image-mb <n>", "per-image file limit in MiB (413 beyond)").argParser(mibArg("--max-image-mb")).default(DEFAULT_LIMITS.maxImageBytes, String(DEFAULT_LIMITS.maxImageBytes / 1048576)))
    .option("--max-pixels <n>", "decoded pixels per image, read from its header (413 beyond, nothing decoded)", intArg("--max-pixels"), DEFAULT_LIMITS.maxPixels)
    .action(runServe);
}
