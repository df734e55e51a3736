/** @file Loads test/fixtures/probe-features.bin + probe-sklearn.json (made by bench/eval/sklearn_reference.py). */
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../helpers/shared.js";
import type { ProbeData } from "../../src/eval/linear_probe.js";

export interface SklearnFit {
  C: number;
  trainAccuracy: number;
  testAccuracy: number;
  coefNorm: number;
  intercept: number[];
  nIter: number;
  objective: number;
}

export interface ProbeFixture {
  problems: Record<"multinomial" | "binary", { train: ProbeData; test: ProbeData; fits: SklearnFit[] }>;
}

interface Doc {
  layout: { file: string; dim: number; nTrain: number; nTest: number };
  problems: Record<"multinomial" | "binary", { numClasses: number; fits: SklearnFit[] }>;
}

export function loadProbeFixture(): ProbeFixture {
  const dir = path.join(ROOT, "test/fixtures");
  const doc = JSON.parse(readFileSync(path.join(dir, "probe-sklearn.json"), "utf8")) as Doc;
  const { dim, nTrain, nTest } = doc.layout;
  const buf = readFileSync(path.join(dir, doc.layout.file));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  const f32 = (count: number) => {
    const a = new Float32Array(count);
    for (let i = 0; i < count; i++, off += 4) a[i] = view.getFloat32(off, true);
    return a;
  };
  const i32 = (count: number) => {
    const a = new Int32Array(count);
    for (let i = 0; i < count; i++, off += 4) a[i] = view.getInt32(off, true);
    return a;
  };
  const xtr = f32(nTrain * dim);
  const xte = f32(nTest * dim);
  const ytr = i32(nTrain);
  const yte = i32(nTest);
  if (off !== buf.length) throw new Error(`probe fixture: read ${off} of ${buf.length} bytes`);
  const parity = (y: Int32Array) => y.map((v) => v % 2);
  const K = doc.problems.multinomial.numClasses;
  return {
    problems: {
      multinomial: {
        train: { x: xtr, n: nTrain, dim, y: ytr, numClasses: K },
        test: { x: xte, n: nTest, dim, y: yte, numClasses: K },
        fits: doc.problems.multinomial.fits,
      },
      binary: {
        train: { x: xtr, n: nTrain, dim, y: parity(ytr), numClasses: 2 },
        test: { x: xte, n: nTest, dim, y: parity(yte), numClasses: 2 },
        fits: doc.problems.binary.fits,
      },
    },
  };
}
