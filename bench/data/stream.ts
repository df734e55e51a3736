/**
 * @file Bench: samples/s streamed from the Flickr8k shards into preprocessed 224 px batches on all
 * cores (reader + shuffle buffer + ImagePool decode/resize/crop/normalize), and the reader alone.
 * Run: npx tsc -p . && node dist/bench/data/stream.js [--runs 3] [--batch 64] [--threads N]
 */
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { batches, keepDecoded, openDataset } from "../../src/data/index.js";
import { ImagePool, OPENAI_MEAN, OPENAI_STD } from "../../src/image/index.node.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SPEC = path.join(ROOT, "../shared/datasets/flickr8k/{train-{000000..000001},dev-000000}.tar");

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function readerOnly(): Promise<number> {
  const t = performance.now();
  let n = 0;
  for await (const s of openDataset(SPEC, { shuffle: true, seed: 1, requireCaption: true })) n += s.image ? 1 : 0;
  return (n / (performance.now() - t)) * 1000;
}

async function toBatches(pool: ImagePool, batch: number, augment: boolean): Promise<{ rate: number; cpuRate: number; n: number; skipped: number }> {
  const ds = openDataset(SPEC, { shuffle: true, seed: 1, requireCaption: true });
  const t = performance.now();
  const cpu = process.cpuUsage(); // includes the pool's worker threads
  let n = 0;
  const it = batches(ds, batch)[Symbol.asyncIterator]();
  let next = it.next();
  for (;;) {
    const r = await next;
    if (r.done) break;
    next = it.next(); // read the next batch while the pool decodes this one
    const samples = r.value;
    const out = await pool.preprocessBatch(
      samples.map((s) => s.image!),
      { skipBad: true, augment: augment ? { seed: n } : false, names: samples.map((s) => `${s.shard}: ${s.key}`) },
    );
    n += keepDecoded(ds, samples, out.ok, out.errors).length;
  }
  const skipped = Object.values(ds.stats().skipped).reduce((a, b) => a + b, 0);
  const used = process.cpuUsage(cpu);
  return { rate: (n / (performance.now() - t)) * 1000, cpuRate: n / ((used.user + used.system) / 1e6), n, skipped };
}

async function main(): Promise<void> {
  const runs = arg("runs", 3);
  const batch = arg("batch", 64);
  const threads = arg("threads", os.availableParallelism());
  console.log(`machine: ${os.cpus()[0]?.model} x${os.availableParallelism()}, load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  console.log(`data: ${SPEC} (3000 samples), batch ${batch}, ImagePool threads ${threads}`);
  const reader: number[] = [];
  for (let r = 0; r < runs; r++) reader.push(await readerOnly());
  console.log(`reader only (shuffle buffer 1000): median ${median(reader).toFixed(0)} samples/s  [${reader.map((x) => x.toFixed(0)).join(", ")}]`);
  const pool = new ImagePool({ size: 224, mean: OPENAI_MEAN, std: OPENAI_STD, interpolation: "bicubic", resizeMode: "shortest" }, { threads });
  try {
    // start every thread and warm them up on one real batch
    const warm: Uint8Array[] = [];
    for await (const s of openDataset(SPEC)) if (warm.push(s.image!) >= threads * 16) break;
    await pool.preprocessBatch(warm, { skipBad: true });
    for (const augment of [false, true]) {
      const rates: number[] = [];
      const cpuRates: number[] = [];
      let last = { n: 0, skipped: 0 };
      for (let r = 0; r < runs; r++) {
        const res = await toBatches(pool, batch, augment);
        rates.push(res.rate);
        cpuRates.push(res.cpuRate);
        last = res;
      }
      console.log(
        `shards -> 224px batches (${augment ? "random resized crop" : "resize + center crop"}): median ${median(rates).toFixed(0)} samples/s  [${rates.map((x) => x.toFixed(0)).join(", ")}]  (${last.n} samples, ${last.skipped} skipped)`,
      );
      console.log(`  per CPU-second: median ${median(cpuRates).toFixed(0)} samples/s; x${os.availableParallelism()} cores idle: ~${(median(cpuRates) * os.availableParallelism()).toFixed(0)} samples/s`);
    }
  } finally {
    await pool.close();
  }
  console.log(`load after: ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
}

await main();
