/**
 * @file Bench: decode + preprocess to N (clip._transform) on the Flickr8k JPEGs, all cores:
 * our ImagePool against PIL + torchvision in a torch DataLoader (reference.py), same files, same
 * machine, alternating rounds. Prints both, the ratio per round, and medians.
 *
 *   npx tsc -p . && node dist/bench/preprocess/bench.js [--rounds 3] [--batch 64] [--size 224] [--fresh]
 *
 * Our side reuses two batch buffers in turn (BatchOptions.out), as a training or embedding loop
 * would; --fresh allocates a new SharedArrayBuffer per batch instead (first-touch page faults
 * cost ~1 ms per image on this VM, as the DataLoader's new shared-memory batches do).
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ImagePool, OPENAI_MEAN, OPENAI_STD } from "../../src/image/index.node.js";
import { readTar } from "./tar.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const DATA = path.resolve(ROOT, "../shared/datasets/flickr8k");

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

const rounds = Number(arg("rounds", "3"));
const batch = Number(arg("batch", "64"));
const size = Number(arg("size", "224"));
const threads = Number(arg("threads", String(availableParallelism())));
const limit = Number(arg("limit", "0"));
const python = arg("python", "/usr/bin/python3");
const fresh = process.argv.includes("--fresh"); // a new batch buffer per call instead of the reused pair
const shards = arg("shards", "")
  ? arg("shards", "").split(",")
  : readdirSync(DATA).filter((f) => f.endsWith(".tar")).sort().map((f) => path.join(DATA, f));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

let jpegs = shards.flatMap((s) => readTar(s, ".jpg").map((e) => e.data));
if (limit > 0) jpegs = jpegs.slice(0, limit);
console.log(`machine: ${cpus()[0]?.model ?? "?"}, ${availableParallelism()} cores; node ${process.version}`);
console.log(
  `data: ${jpegs.length} JPEGs from ${shards.map((s) => path.basename(s)).join(", ")}; N=${size}, batch ${batch}` +
    (fresh ? "; clip-ts allocates a fresh batch buffer per call" : "; clip-ts reuses two batch buffers"),
);

const pool = new ImagePool({ size, mean: OPENAI_MEAN, std: OPENAI_STD }, { threads });

// two batch buffers used in turn, as a training or embedding loop would reuse its input buffer
const ring = [0, 1].map(() => pool.allocBatch(batch));

/** One pass over all images, two batches in flight (as a DataLoader prefetches): [img/s, CPU ms/img]. */
async function ours(): Promise<[number, number]> {
  const c = process.cpuUsage(); // all threads of this process: main + workers
  const t = performance.now();
  let done = 0;
  let inflight: Promise<unknown> | null = null;
  for (let i = 0, k = 0; i < jpegs.length; i += batch, k++) {
    const p = pool.preprocessBatch(jpegs.slice(i, i + batch), fresh ? {} : { out: ring[k % 2] }).then((r) => {
      done += r.ok.length;
    });
    if (inflight) await inflight;
    inflight = p;
  }
  await inflight;
  const u = process.cpuUsage(c);
  return [done / ((performance.now() - t) / 1000), (u.user + u.system) / 1000 / done];
}

function reference(): [number, number] {
  const script = path.join(ROOT, "bench/preprocess/reference.py");
  const args = [script, "--size", String(size), "--batch", String(batch), "--workers", String(threads), "--epochs", "1"];
  if (limit > 0) args.push("--limit", String(limit));
  const r = spawnSync(python, [...args, ...shards], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`reference.py failed (${r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { images_per_s: number[]; cpu_ms_per_image: number[] };
  return [out.images_per_s[0]!, out.cpu_ms_per_image[0]!];
}

// start the workers and let the JIT compile the hot loops (Python's side warms up too)
for (let i = 0; i < Math.min(jpegs.length, 16 * batch); i += batch) await pool.preprocessBatch(jpegs.slice(i, i + batch), { out: ring[0] });
const oursRates: number[] = [], refRates: number[] = [], oursCpu: number[] = [], refCpu: number[] = [];
const load = () => (process.platform === "linux" ? readFileSync("/proc/loadavg", "utf8").split(" ")[0] : "?");
for (let r = 0; r < rounds; r++) {
  const [a, ac] = await ours();
  const [b, bc] = reference();
  oursRates.push(a);
  refRates.push(b);
  oursCpu.push(ac);
  refCpu.push(bc);
  console.log(
    `round ${r + 1} (load ${load()}): clip-ts ${a.toFixed(0)} img/s ${ac.toFixed(2)} CPU-ms/img | ` +
      `PIL+torchvision ${b.toFixed(0)} img/s ${bc.toFixed(2)} CPU-ms/img | ratio ${(a / b).toFixed(2)}x`,
  );
}
await pool.close();
const mo = median(oursRates), mr = median(refRates), mco = median(oursCpu), mcr = median(refCpu);
console.log(
  `median throughput: clip-ts ${mo.toFixed(0)} img/s (${threads} worker threads), PIL+torchvision ${mr.toFixed(0)} img/s ` +
    `(${threads} DataLoader workers), ratio ${(mo / mr).toFixed(2)}x (median of per-round ratios ` +
    `${median(oursRates.map((x, i) => x / refRates[i]!)).toFixed(2)}x)`,
);
console.log(
  `median CPU per image (all threads/processes): clip-ts ${mco.toFixed(2)} ms, PIL+torchvision ${mcr.toFixed(2)} ms, ` +
    `ratio ${(mcr / mco).toFixed(2)}x`,
);
