/**
 * @file Indexing throughput against `clip bench` image throughput with the same model, in one
 * run: `clip bench --batch 32` (the model alone on preprocessed pixels), then `indexSources` over
 * Flickr8k shards (reading, decoding, preprocessing, hashing, LanceDB commits included). The
 * indexing figure is the steady state, from the first committed batch to the end.
 *
 *   node dist/bench/index/throughput.js --model DIR [--data "../shared/datasets/flickr8k/train-000000.tar"] [--seconds 20]
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ClipModel } from "../../src/clip/model.js";
import { indexSources, openIndex } from "../../src/index/index.js";
import { flags } from "./common.js";

const f = flags();
const data = f.data ?? path.resolve("../shared/datasets/flickr8k/train-000000.tar");
const cli = path.resolve("bin/clip.js");
const bench = JSON.parse(execFileSync(process.execPath, [cli, "bench", "--model", f.model!, "--batch", "32", "--seconds", f.seconds ?? "20", "--json"], { encoding: "utf8" }));
console.log(`clip bench: ${bench.images_per_second.toFixed(2)} images/s (batch 32)`);

const work = fs.mkdtempSync(path.join(os.tmpdir(), "clip-thr-"));
const index = await openIndex(path.join(work, "db"));
const model = await ClipModel.load(f.model!, { batchSize: 32 });
let first: { t: number; n: number } | undefined;
const r = await indexSources(index, model, [data], {
  onProgress: (p) => {
    if (!first && p.embedded > 0) first = { t: performance.now(), n: p.embedded };
  },
});
const steady = (r.embedded - first!.n) / ((performance.now() - first!.t) / 1000);
console.log(`clip index: ${r.embedded} images, ${r.images_per_second.toFixed(2)} images/s whole run, ${steady.toFixed(2)} images/s steady state`);
console.log(`ratio (steady state / clip bench): ${(steady / bench.images_per_second).toFixed(3)}`);
await model.dispose();
index.close();
fs.rmSync(work, { recursive: true, force: true });
