/**
 * @file How to pick the dedup threshold for a model: the cosine similarity of planted duplicates
 * (re-encoded at JPEG quality 60, resized to half, cropped by 2 % per side) to their originals,
 * against all pairs of distinct Flickr8k photos; then precision and recall at candidate thresholds.
 *
 *   node dist/bench/index/dedup_threshold.js --model DIR [--distinct 100] [--planted 30]
 */
import path from "node:path";
import sharp from "sharp";
import { ClipModel } from "../../src/clip/model.js";
import { datasetImages, flags, quantile } from "./common.js";

const f = flags();
const nDistinct = Number(f.distinct ?? 100);
const nPlanted = Number(f.planted ?? 30);
const shared = f.shared ?? path.resolve("../shared/datasets");
const imgs = await datasetImages(path.join(shared, "flickr8k/dev-000000.tar"), nDistinct);
const kinds = ["reencoded", "resized", "cropped"] as const;
const planted: { of: number; kind: (typeof kinds)[number]; bytes: Uint8Array }[] = [];
for (let i = 0; i < nPlanted; i++) {
  const b = imgs[i]!;
  const m = await sharp(b).metadata();
  const dx = Math.round(m.width! * 0.02);
  const dy = Math.round(m.height! * 0.02);
  planted.push({ of: i, kind: "reencoded", bytes: await sharp(b).jpeg({ quality: 60 }).toBuffer() });
  planted.push({ of: i, kind: "resized", bytes: await sharp(b).resize(Math.round(m.width! / 2)).png().toBuffer() });
  planted.push({ of: i, kind: "cropped", bytes: await sharp(b).extract({ left: dx, top: dy, width: m.width! - 2 * dx, height: m.height! - 2 * dy }).jpeg({ quality: 90 }).toBuffer() });
}
const model = await ClipModel.load(f.model!);
const e = await model.embedImages([...imgs, ...planted.map((p) => p.bytes)]);
await model.dispose();
const d = e.dims[1];
const dot = (i: number, j: number) => {
  let s = 0;
  for (let k = 0; k < d; k++) s += e.data[i * d + k]! * e.data[j * d + k]!;
  return s;
};
const distinct: number[] = [];
for (let i = 0; i < imgs.length; i++) for (let j = i + 1; j < imgs.length; j++) distinct.push(dot(i, j));
const dup = planted.map((p, j) => ({ kind: p.kind, s: dot(p.of, imgs.length + j) }));
const fmt = (xs: number[]) => `min ${Math.min(...xs).toFixed(4)}, p1 ${quantile(xs, 0.01).toFixed(4)}, median ${quantile(xs, 0.5).toFixed(4)}, p99 ${quantile(xs, 0.99).toFixed(4)}, max ${Math.max(...xs).toFixed(4)}`;
console.log(`model ${f.model}: ${imgs.length} distinct photos (${distinct.length} pairs), ${planted.length} planted copies`);
console.log(`distinct pairs: ${fmt(distinct)}`);
for (const k of kinds) console.log(`planted ${k}: ${fmt(dup.filter((x) => x.kind === k).map((x) => x.s))}`);
console.log("| threshold | false pairs among distinct | recall reencoded / resized / cropped |");
console.log("| --- | --- | --- |");
const cands = [0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999];
for (const t of cands) {
  const fp = distinct.filter((s) => s >= t).length;
  const rec = kinds.map((k) => {
    const xs = dup.filter((x) => x.kind === k);
    return (xs.filter((x) => x.s >= t).length / xs.length).toFixed(2);
  });
  console.log(`| ${t} | ${fp} of ${distinct.length} | ${rec.join(" / ")} |`);
}
