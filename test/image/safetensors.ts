/** @file Tiny safetensors reader for tests (8-byte LE header length, JSON header, raw data). */
import { readFileSync } from "node:fs";

export interface Tensor {
  dtype: string;
  shape: number[];
  data: Float32Array;
}

/** Reads every F32 tensor of a safetensors file. */
export function readSafetensors(path: string): Map<string, Tensor> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8")) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const base = 8 + n;
  const out = new Map<string, Tensor>();
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (t.dtype !== "F32") throw new Error(`${name}: expected F32, got ${t.dtype}`);
    const [a, b] = t.data_offsets;
    // copy: the slice may not be 4-byte aligned within the file buffer
    const bytes = new Uint8Array(buf.subarray(base + a, base + b));
    out.set(name, { dtype: t.dtype, shape: t.shape, data: new Float32Array(bytes.buffer, 0, (b - a) / 4) });
  }
  return out;
}

/** Largest absolute difference between two arrays of equal length. */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
