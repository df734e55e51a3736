/**
 * @file Cold start of `clip search` as whole processes on an index of --rows images (default
 * 10,000), against `clip embed` of the same text / image in the same run: medians over --rounds,
 * the commands alternating. The index holds real embeddings of Flickr8k photos (indexed with
 * `clip index`) padded with noisy copies of them to --rows.
 *
 * Each command runs first with an empty session cache of its own ("first run": the tower's
 * weights are read, its graph emitted and ORT's optimized model written), then --rounds times
 * with a shared, filled one (what every later run costs), and --rounds times with the cache off
 * (CLIP_NO_SESSION_CACHE=1).
 *
 *   node dist/bench/index/cold_start.js --model DIR [--rows 10000] [--rounds 5] [--db DIR]
 *
 * --db keeps the index in DIR (built there when DIR holds none, reused as it is otherwise), so
 * profiling runs need not rebuild it.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openIndex, rowId, type ImageRow } from "../../src/index/index.js";
import { flags, median, noisyCopies } from "./common.js";

const f = flags();
const rows = Number(f.rows ?? 10_000);
const rounds = Number(f.rounds ?? 5);
const shared = f.shared ?? path.resolve("../shared/datasets");
const cli = path.resolve("bin/clip.js");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "clip-cold-"));
const db = f.db ? path.resolve(f.db) : path.join(work, "db");
const env: NodeJS.ProcessEnv = { ...process.env, CLIP_NO_PROGRESS: "1", CLIP_CACHE_DIR: path.join(work, "cache") };
delete env.CLIP_NO_SESSION_CACHE;

const photos = f.db ? `${db}.photos` : path.join(work, "photos");
if (!f.db || !(await indexed(db))) await buildIndex();
const image = path.join(photos, "p3.jpg");

async function indexed(dir: string): Promise<boolean> {
  const index = await openIndex(dir);
  index.close();
  return index.exists;
}

/** 64 real photos through clip index, then noisy copies of their stored vectors up to --rows. */
async function buildIndex(): Promise<void> {
  fs.mkdirSync(photos, { recursive: true });
  const { datasetImages } = await import("./common.js");
  (await datasetImages(path.join(shared, "flickr8k/dev-000000.tar"), 64)).forEach((b, i) => fs.writeFileSync(path.join(photos, `p${i}.jpg`), b));
  execFileSync(process.execPath, [cli, "index", "--model", f.model!, "--db", db, photos], { env, stdio: "ignore" });
  const index = await openIndex(db);
  const real = await index.rows();
  const dim = index.identity!.embed_dim;
  const base = new Float32Array(real.length * dim);
  real.forEach((r, i) => base.set(r.vector, i * dim));
  for (let start = real.length; start < rows; start += 5000) {
    const n = Math.min(5000, rows - start);
    const v = noisyCopies(base, dim, n, 0.004, start);
    const batch: ImageRow[] = Array.from({ length: n }, (_x, i) => {
      const p = `/padding/${start + i}.jpg`;
      return { id: rowId(p), path: p, source: "/padding", folder: "", hash: `pad${start + i}`, size: 1, mtime: 0, width: 1, height: 1, caption: null, camera: null, taken: null, vector: v.subarray(i * dim, (i + 1) * dim) };
    });
    await index.add(batch);
  }
  await index.optimize();
  console.log(`index: ${await index.count()} rows (${real.length} real)`);
  index.close();
}

const cmds: Record<string, string[]> = {
  "clip embed --text": ["embed", "--model", f.model!, "--text", "a dog running on the beach"],
  'clip search "TEXT"': ["search", "--db", db, "a dog running on the beach", "--k", "10"],
  "clip embed --image": ["embed", "--model", f.model!, "--image", image],
  "clip search --image": ["search", "--db", db, "--image", image, "--k", "10"],
};
const run = (args: string[], extra: NodeJS.ProcessEnv = {}): number => {
  const t = performance.now();
  execFileSync(process.execPath, [cli, ...args], { env: { ...env, ...extra }, stdio: "ignore" });
  return (performance.now() - t) / 1000;
};
const first: Record<string, number> = {};
for (const [name, args] of Object.entries(cmds)) first[name] = run(args, { CLIP_CACHE_DIR: fs.mkdtempSync(path.join(work, "cache-first-")) });
for (const args of Object.values(cmds)) run(args); // fills the shared cache
const series = { "session cache filled": {}, "session cache off": { CLIP_NO_SESSION_CACHE: "1" } };
const times: Record<string, Record<string, number[]>> = {};
for (const [label, extra] of Object.entries(series)) {
  times[label] = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) for (const [name, args] of Object.entries(cmds)) times[label]![name]!.push(run(args, extra));
}
console.log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(", ")}`);
for (const name of Object.keys(cmds)) {
  const parts = Object.entries(times).map(([label, ts]) => `${label}: median ${median(ts[name]!).toFixed(2)} s (${ts[name]!.map((x) => x.toFixed(2)).join(", ")})`);
  console.log(`${name}: first run ${first[name]!.toFixed(2)} s; ${parts.join("; ")}`);
}
fs.rmSync(work, { recursive: true, force: true });
