/** @file Where the time of an int8 (or fp32) ViT-B-32 tower goes: ORT's per-node kernel times by op type.
 * Run: node dist/bench/int8/profile.js --model DIR [--precision int8] [--tower image|text] [--batch 16] [--runs 4] */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as T from "../../src/ir/tensor.js";
import { INT8_SCALE_SUFFIX, int8Keys, quantizeState } from "../../src/models/clip/int8.js";
import { encodeImage, encodeText, paramLeaves } from "../../src/models/clip/towers.js";
import { CompiledGraph, type HostTensor } from "../../src/runtime/session.js";
import { loadCheckpoint } from "../../src/weights/checkpoint.js";
import { kernelTimes } from "../ort_trace.js";

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const precision = arg("--precision", "int8");
const tower = arg("--tower", "image");
const batch = Number(arg("--batch", "16"));
const runs = Number(arg("--runs", "4"));
const ck = loadCheckpoint(arg("--model", ""));
const int8 = new Set(precision === "int8" ? int8Keys(ck.config) : []);
const q = precision === "int8" ? quantizeState(ck.config, ck.state) : new Map();
const weights = (n: string): Float32Array | Int8Array | undefined =>
  q.get(n)?.q ?? (n.endsWith(INT8_SCALE_SUFFIX) ? q.get(n.slice(0, -INT8_SCALE_SUFFIX.length))?.scale : ck.state.get(n)?.data);
const P = paramLeaves(ck.config, int8);
const S = ck.config.vision_cfg.image_size;
const L = ck.config.text_cfg.context_length;
const features = tower === "image" ? encodeImage(ck.config, T.input("pixels", "float32", ["B", 3, S, S]), P) : encodeText(ck.config, T.input("tokens", "int64", ["B", L]), P);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-profile-"));
const g = await CompiledGraph.compile({ features }, { weights, threads: os.availableParallelism(), profilePrefix: path.join(dir, "trace") });
const V = ck.config.text_cfg.vocab_size;
const feed: Record<string, HostTensor> =
  tower === "image"
    ? { pixels: { data: new Float32Array(batch * 3 * S * S).map((_v, i) => Math.sin(i)), shape: [batch, 3, S, S] } }
    : { tokens: { data: BigInt64Array.from({ length: batch * L }, (_v, i) => BigInt(i % L === 0 ? V - 2 : i % L === 12 ? V - 1 : i % L > 12 ? 0 : (i * 7919) % (V - 2))), shape: [batch, L] } };
await g.run(feed); // warm-up, also profiled: counted with the others
for (let i = 1; i < runs; i++) await g.run(feed);
g.endProfiling();
await g.release();
await new Promise((r) => setTimeout(r, 200));
// every run counted, the warm-up too
const { totalUs: total, byOp } = kernelTimes(path.join(dir, fs.readdirSync(dir)[0]!));
const shares = Object.fromEntries([...byOp].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round((1000 * v) / total) / 10]));
process.stdout.write(JSON.stringify({ precision, tower, batch, runs, kernel_ms_per_run: total / 1000 / runs, percent_by_op: shares, load_average: os.loadavg() }, null, 2) + "\n");
fs.rmSync(dir, { recursive: true, force: true });
