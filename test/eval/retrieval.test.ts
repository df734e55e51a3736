import { test } from "node:test";
import assert from "node:assert/strict";
import { UserError } from "../../src/errors.js";
import { renderRetrievalMarkdown, retrievalRecall, textToImageFromCounts } from "../../src/eval/retrieval.js";
import type { Embeddings } from "../../src/clip/embedder.js";
import { rows } from "./fake_embedder.js";
import { Rng } from "../../src/util/rng.js";

const images = rows([
  [1, 0, 0],
  [0, 1, 0],
  [0, 0, 1],
]);
// two captions per image: t0, t1 -> image 0; t2, t3 -> image 1; t4, t5 -> image 2
const texts = rows([
  [1, 0, 0], // image 0 first: rank 0
  [0.1, 1, 0], // image 1 first, then image 0: rank 1
  [0, 0, 1], // image 2 first; images 0 and 1 tie at 0, image 0 wins the tie: rank 2
  [0, 1, 0], // rank 0
  [1, 0, 0.5], // image 0 first, then image 2: rank 1
  [-1, -1, -1], // all three tie: image 2 comes last, rank 2
]);
const t2i = [0, 0, 1, 1, 2, 2];

test("retrieval recall on known geometry matches hand computation (ties to the lower index)", () => {
  const r = retrievalRecall(images, texts, t2i, { ks: [1, 2, 3] });
  assert.equal(r.nImages, 3);
  assert.equal(r.nTexts, 6);
  assert.deepEqual(r.textToImage, { "R@1": 2 / 6, "R@2": 4 / 6, "R@3": 1 });
  // image 0: t0 scores 1 -> rank 0. image 1: t3 (1) beats t1 (0.995) -> rank 0.
  // image 2: best caption t4 (0.447) is behind t2 (1) -> rank 1.
  assert.deepEqual(r.imageToText, { "R@1": 2 / 3, "R@2": 1, "R@3": 1 });
  assert.ok(Math.abs(r.meanRecall - (2 / 6 + 4 / 6 + 1 + 2 / 3 + 1 + 1) / 6) < 1e-12);
});

test("an image query hits when any of its captions is in the top k", () => {
  // image 0's captions: t0 ranked last, t1 ranked first
  const img = rows([
    [1, 0],
    [0, 1],
  ]);
  const txt = rows([
    [-1, 0], // caption of image 0, far
    [1, 0.1], // caption of image 0, closest
    [0, 1], // caption of image 1
  ]);
  const r = retrievalRecall(img, txt, [0, 0, 1], { ks: [1] });
  assert.equal(r.imageToText["R@1"], 1);
  assert.equal(r.textToImage["R@1"], 2 / 3);
});

/** Reference: full sort of every query's scores (stable: ties by index), first correct position. */
function naiveRanks(q: Embeddings, c: Embeddings, pos: (i: number) => number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < q.n; i++) {
    const s: { j: number; v: number }[] = [];
    for (let j = 0; j < c.n; j++) {
      let d = 0;
      for (let k = 0; k < q.dim; k++) d += q.data[i * q.dim + k]! * c.data[j * c.dim + k]!;
      s.push({ j, v: d });
    }
    s.sort((a, b) => b.v - a.v || a.j - b.j);
    const p = new Set(pos(i));
    out.push(s.findIndex((e) => p.has(e.j)));
  }
  return out;
}

test("blocked computation equals a full sort, for any block size, with many ties", () => {
  const rng = new Rng(7);
  const rand = (): number => rng.next();
  const nI = 37;
  const dim = 5;
  // coarse values make exact ties frequent
  const mk = (n: number) => {
    const d = new Float32Array(n * dim);
    for (let i = 0; i < d.length; i++) d[i] = Math.floor(rand() * 3) - 1;
    for (let i = 0; i < n; i++) if (d.subarray(i * dim, (i + 1) * dim).every((v) => v === 0)) d[i * dim] = 1;
    return { data: d, n, dim };
  };
  const counts = Array.from({ length: nI }, (_, i) => 1 + (i % 3));
  const map = textToImageFromCounts(counts);
  const img = mk(nI);
  const txt = mk(map.length);
  const ks = [1, 5, 10];
  // pre-normalized: rows with equal direction get bit-identical scores
  const norm = (e: Embeddings) => {
    const d = Float32Array.from(e.data);
    for (let i = 0; i < e.n; i++) {
      const r = d.subarray(i * dim, (i + 1) * dim);
      const s = Math.sqrt(r.reduce((a, v) => a + v * v, 0));
      for (let k = 0; k < dim; k++) r[k] = r[k]! / s;
    }
    return { data: d, n: e.n, dim };
  };
  const I = norm(img);
  const T = norm(txt);
  const tr = naiveRanks(T, I, (t) => [map[t]!]);
  const ir = naiveRanks(I, T, (i) => Array.from(map.keys()).filter((t) => map[t] === i));
  const rec = (ranks: number[]) => Object.fromEntries(ks.map((k) => [`R@${k}`, ranks.filter((r) => r < k).length / ranks.length]));
  for (const blockSize of [1, 4, 128]) {
    const r = retrievalRecall(I, T, map, { ks, blockSize, normalize: false });
    assert.deepEqual(r.textToImage, rec(tr), `t2i block ${blockSize}`);
    assert.deepEqual(r.imageToText, rec(ir), `i2t block ${blockSize}`);
  }
});

test("retrieval input errors", () => {
  assert.throws(() => retrievalRecall(images, texts, [0, 0, 1, 1, 2]), /5 caption->image entries for 6 captions/);
  assert.throws(() => retrievalRecall(images, texts, [0, 0, 1, 1, 0, 0]), (e: Error) => e instanceof UserError && /image 2 has no caption/.test(e.message));
  assert.throws(() => retrievalRecall(images, texts, [0, 0, 1, 1, 2, 3]), /caption 5 points to image 3/);
  assert.throws(() => retrievalRecall(images, rows([[1, 0]]), [0]), /width mismatch/);
});

test("retrieval Markdown table", () => {
  const md = renderRetrievalMarkdown(retrievalRecall(images, texts, t2i));
  assert.match(md, /\| text → image \| 33\.33 \| 100\.00 \| 100\.00 \|/);
  assert.match(md, /\| image → text \| 66\.67 \| 100\.00 \| 100\.00 \|/);
  assert.match(md, /3 images, 6 captions/);
});
