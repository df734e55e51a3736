/**
 * @file Query latency over N 512-d normalized vectors shaped like real embeddings: the model's
 * embeddings of Flickr8k and CIFAR-10 images, each repeated with small Gaussian noise and
 * normalized again. Exact top-10 in LanceDB against a NumPy brute-force matmul of the same matrix
 * (Debian's python3-numpy, same machine, same run); then IVF-PQ top-10 latency and recall@10
 * against exact; the table's size on disk per million vectors.
 *
 *   node dist/bench/index/query_latency.js --model DIR [--rows 1000000] [--base 2000] [--queries 50] [--sigma 0.004] [--cache FILE]
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ClipModel } from "../../src/clip/model.js";
import { modelIdentity, openIndex, rowId, searchVector, type ImageRow } from "../../src/index/index.js";
import { datasetImages, flags, median, noisyCopies } from "./common.js";

const f = flags();
const rows = Number(f.rows ?? 1_000_000);
const baseN = Number(f.base ?? 2000);
const queries = Number(f.queries ?? 50);
const sigma = Number(f.sigma ?? 0.004); // per coordinate: a noise vector of norm ~0.09 at 512-d
const shared = f.shared ?? path.resolve("../shared/datasets");
const work = f.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "clip-qlat-"));

function du(p: string): number {
  return Number(execFileSync("du", ["-sb", p], { encoding: "utf8" }).split(/\s/)[0]);
}

const model = await ClipModel.load(f.model!);
const dim = model.embedDim;
// base: real embeddings, half Flickr8k photos, half CIFAR-10 images
const t0 = performance.now();
const imgs = [...(await datasetImages(path.join(shared, "flickr8k/train-000000.tar"), Math.ceil(baseN / 2))), ...(await datasetImages(path.join(shared, "cifar10/test-000000.tar"), Math.floor(baseN / 2)))];
// --cache FILE keeps the base embeddings between runs (embedding them is most of a small run)
const cached = f.cache && fs.existsSync(f.cache) ? new Float32Array(new Uint8Array(fs.readFileSync(f.cache)).buffer) : undefined;
const base = cached && cached.length === imgs.length * dim ? cached : (await model.embedImages(imgs)).data;
if (f.cache) fs.writeFileSync(f.cache, new Uint8Array(base.buffer, base.byteOffset, base.byteLength));
console.log(`base: ${imgs.length} real embeddings (${dim}-d) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const index = await openIndex(path.join(work, "db"));
await index.ensureTable(await modelIdentity(model));
await model.dispose();
const matrixFile = path.join(work, "matrix.f32");
const fd = fs.openSync(matrixFile, "w");
const t1 = performance.now();
for (let start = 0; start < rows; start += 50_000) {
  const n = Math.min(50_000, rows - start);
  const v = noisyCopies(base, dim, n, sigma, 1000 + start, start);
  fs.writeSync(fd, new Uint8Array(v.buffer));
  const batch: ImageRow[] = [];
  for (let i = 0; i < n; i++) {
    const p = `/bench/${start + i}.jpg`;
    batch.push({ id: rowId(p), path: p, source: "/bench", folder: String((start + i) % 100), hash: String(start + i), size: 1, mtime: 0, width: 1, height: 1, caption: null, camera: null, taken: null, vector: v.subarray(i * dim, (i + 1) * dim) });
  }
  await index.add(batch);
}
fs.closeSync(fd);
await index.optimize();
console.log(`table: ${rows} rows written in ${((performance.now() - t1) / 1000).toFixed(1)} s; ${(du(path.join(work, "db")) / 2 ** 20).toFixed(0)} MiB on disk (${((du(path.join(work, "db")) / rows) * 1e6 / 2 ** 30).toFixed(2)} GiB per million)`);

const qv = noisyCopies(base, dim, queries, sigma, 7, 12345);
fs.writeFileSync(path.join(work, "queries.f32"), new Uint8Array(qv.buffer));
const q = (i: number) => qv.subarray(i * dim, (i + 1) * dim);

async function timed(exact: boolean, extra: { nprobes?: number; refineFactor?: number } = {}): Promise<{ p50: number; ids: string[][] }> {
  const ms: number[] = [];
  const ids: string[][] = [];
  await searchVector(index, q(0), { k: 10, exact, ...extra }); // warm-up: open files, caches
  for (let i = 0; i < queries; i++) {
    const s = performance.now();
    const r = await searchVector(index, q(i), { k: 10, exact, ...extra });
    ms.push(performance.now() - s);
    ids.push(r.results.map((h) => h.id));
  }
  return { p50: median(ms), ids };
}

const exact = await timed(true);
const py = `
import numpy as np, time, sys
X = np.fromfile(sys.argv[1], dtype=np.float32).reshape(-1, ${dim})
Q = np.fromfile(sys.argv[2], dtype=np.float32).reshape(-1, ${dim})
ms = []
for q in Q:
    s = time.perf_counter()
    sc = X @ q
    top = np.argpartition(-sc, 10)[:10]
    top = top[np.argsort(-sc[top])]
    ms.append((time.perf_counter() - s) * 1000)
print(np.median(ms))
`;
const numpyP50 = Number(execFileSync("/usr/bin/python3", ["-c", py, matrixFile, path.join(work, "queries.f32")], { encoding: "utf8" }).trim());
console.log(`exact top-10 p50: LanceDB ${exact.p50.toFixed(1)} ms, NumPy brute-force matmul ${numpyP50.toFixed(1)} ms (ratio ${(exact.p50 / numpyP50).toFixed(2)}x), ${queries} queries, ${rows} rows`);

const tb = performance.now();
const ann = await index.buildAnn();
console.log(`IVF-PQ built in ${((performance.now() - tb) / 1000).toFixed(1)} s (${ann.partitions} partitions, ${ann.subVectors} sub-vectors)`);
for (const [nprobes, refineFactor] of [[20, 4], [20, 20], [40, 50], [80, 50]] as const) {
  const r = await timed(false, { nprobes, refineFactor });
  let hits = 0;
  r.ids.forEach((ids, i) => (hits += ids.filter((id) => exact.ids[i]!.includes(id)).length));
  console.log(`IVF-PQ nprobes ${nprobes} refine ${refineFactor}: top-10 p50 ${r.p50.toFixed(1)} ms, recall@10 ${(hits / (10 * queries)).toFixed(3)}`);
}
index.close();
if (!f.dir) fs.rmSync(work, { recursive: true, force: true });
