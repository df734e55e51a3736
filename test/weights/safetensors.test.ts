import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UserError } from "../../src/errors.js";
import {
  bf16ToFloat32,
  float32ToBf16Bits,
  float32ToHalfBits,
  halfToFloat32,
  toFloat32,
  type RawTensor,
} from "../../src/weights/dtype.js";
import { parseSafetensorsHeader, readSafetensors, serializeSafetensors, type TensorToWrite } from "../../src/weights/safetensors.js";
import { readSafetensorsFile, writeSafetensorsFile } from "../../src/weights/files.js";
import { bytesSource } from "../../src/weights/source.js";
import { REFERENCE } from "../helpers/shared.js";

const sample = (): Map<string, TensorToWrite> =>
  new Map<string, TensorToWrite>([
    ["z.f32", { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-30, -7]) }],
    ["a.f64", { shape: [2], data: Float64Array.from([Math.PI, -1e300]) }],
    ["m.i64", { shape: [3], data: BigInt64Array.from([0n, -5n, 1n << 40n]) }],
    ["m.i32", { shape: [1, 2], data: Int32Array.from([-1, 2 ** 31 - 1]) }],
    ["u8", { shape: [3], data: Uint8Array.from([0, 255, 7]) }],
    ["flag", { dtype: "BOOL", shape: [2], data: Uint8Array.from([1, 0]) }],
    ["h.f16", { dtype: "F16", shape: [4], data: Float32Array.from([1, -2.5, 65504, 2 ** -24]) }],
    ["h.bf16", { dtype: "BF16", shape: [2, 1], data: Float32Array.from([1, -3]) }],
    ["scalar", { shape: [], data: Float32Array.from([2.5]) }],
    ["empty", { shape: [0, 4], data: new Float32Array(0) }],
  ]);

test("safetensors round trip: every dtype, shapes, metadata", () => {
  const bytes = serializeSafetensors(sample(), { format: "pt", b: "2" });
  const { tensors, metadata } = readSafetensors(bytes);
  assert.deepEqual(metadata, { b: "2", format: "pt" });
  const get = (k: string): RawTensor => tensors.get(k)!;
  assert.deepEqual([...(get("z.f32").data as Float32Array)], [1, -2, 3.5, 0, Math.fround(1e-30), -7]);
  assert.deepEqual(get("z.f32").shape, [2, 3]);
  assert.deepEqual([...(get("a.f64").data as Float64Array)], [Math.PI, -1e300]);
  assert.deepEqual([...(get("m.i64").data as BigInt64Array)], [0n, -5n, 1n << 40n]);
  assert.deepEqual([...(get("m.i32").data as Int32Array)], [-1, 2 ** 31 - 1]);
  assert.equal(get("flag").dtype, "BOOL");
  assert.deepEqual([...toFloat32(get("h.f16"))], [1, -2.5, 65504, 2 ** -24]);
  assert.equal(get("h.f16").dtype, "F16");
  assert.ok(get("h.f16").data instanceof Uint16Array);
  assert.deepEqual([...toFloat32(get("h.bf16"))], [1, -3]);
  assert.deepEqual(get("scalar").shape, []);
  assert.deepEqual(get("empty").shape, [0, 4]);
  // upcast on request
  const up = readSafetensors(bytes, { upcast: true }).tensors;
  assert.equal(up.get("h.f16")!.dtype, "F32");
  assert.deepEqual([...(up.get("h.bf16")!.data as Float32Array)], [1, -3]);
  assert.equal(up.get("m.i64")!.dtype, "I64");
});

test("safetensors output is deterministic: keys sorted, data 8-aligned, insertion order irrelevant", () => {
  const a = serializeSafetensors(sample(), { format: "pt" });
  const reversed = new Map([...sample()].reverse());
  const b = serializeSafetensors(reversed, { format: "pt" });
  assert.deepEqual(a, b);
  const h = parseSafetensorsHeader(bytesSource(a));
  assert.equal(h.dataStart % 8, 0);
  const names = [...h.entries.keys()];
  assert.deepEqual(names, [...names].sort());
  // offsets are consecutive in name order
  let end = h.dataStart;
  for (const e of h.entries.values()) {
    assert.equal(e.begin, end);
    end = e.end;
  }
  assert.equal(end, a.byteLength);
});

test("fp16 / bf16 conversion: exact upcast, round-to-nearest-even downcast", () => {
  const cases: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff],
    [65520, 0x7c00], // rounds to inf
    [1 / 3, 0x3555],
    [2 ** -24, 0x0001],
    [2 ** -25, 0x0000], // tie -> even (0)
    [3 * 2 ** -25, 0x0002], // tie -> even (2)
    [6.1035156e-5, 0x0400], // smallest normal
    [1 + 2 ** -11, 0x3c00], // tie -> even
    [1 + 3 * 2 ** -11, 0x3c02],
    [Infinity, 0x7c00],
    [-0, 0x8000],
  ];
  for (const [x, bits] of cases) assert.equal(float32ToHalfBits(x), bits, `f16(${x})`);
  assert.ok(Number.isNaN(halfToFloat32(Uint16Array.from([float32ToHalfBits(NaN)]))[0]));
  // every finite half survives half -> float -> half
  const all = new Uint16Array(65536).map((_, i) => i);
  const f = halfToFloat32(all);
  for (let i = 0; i < 65536; i++) if (Number.isFinite(f[i])) assert.equal(float32ToHalfBits(f[i]), i);
  assert.equal(float32ToBf16Bits(1), 0x3f80);
  assert.equal(float32ToBf16Bits(1 / 3), 0x3eab);
  assert.equal(float32ToBf16Bits(-3), 0xc040);
  assert.equal(bf16ToFloat32(Uint16Array.from([0x3f80, 0xc040]))[1], -3);
});

test("safetensors from a path equals from bytes; file writes are atomic and deterministic", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "st-"));
  try {
    const file = path.join(dir, "x.safetensors");
    writeSafetensorsFile(file, sample(), { format: "pt" });
    const bytes = new Uint8Array(fs.readFileSync(file));
    assert.deepEqual(bytes, serializeSafetensors(sample(), { format: "pt" }));
    const fromFile = readSafetensorsFile(file).tensors;
    const fromBytes = readSafetensors(bytes).tensors;
    assert.deepEqual([...fromFile.keys()], [...fromBytes.keys()]);
    for (const [k, t] of fromFile) assert.deepEqual(t, fromBytes.get(k), k);
    assert.deepEqual(fs.readdirSync(dir), ["x.safetensors"]); // no temporary left behind
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("reads the reference fixture's safetensors (F32 and I64)", () => {
  const { tensors } = readSafetensorsFile(path.join(REFERENCE, "vit-tiny/forward.safetensors"));
  assert.equal(tensors.get("tokens")!.dtype, "I64");
  assert.equal(tensors.get("pixels")!.dtype, "F32");
  const m = readSafetensorsFile(path.join(REFERENCE, "vit-tiny/open_clip_model.safetensors")).tensors;
  assert.deepEqual(m.get("visual.conv1.weight")!.shape, [128, 3, 8, 8]);
  assert.deepEqual(m.get("logit_scale")!.shape, []);
});

test("broken safetensors give UserErrors that say what is wrong", () => {
  const good = serializeSafetensors(sample());
  assert.throws(() => readSafetensors(good.subarray(0, good.byteLength - 3)), (e: Error) => e instanceof UserError && /truncated/.test(e.message));
  assert.throws(() => readSafetensors(new Uint8Array(4)), /too short/);
  const bad = new Uint8Array(16);
  new DataView(bad.buffer).setBigUint64(0, 8n, true);
  bad.set(new TextEncoder().encode("not json"), 8);
  assert.throws(() => readSafetensors(bad), /not JSON/);
  const wrongSize = new TextEncoder().encode(JSON.stringify({ x: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }));
  const buf = new Uint8Array(8 + wrongSize.byteLength + 8);
  new DataView(buf.buffer).setBigUint64(0, BigInt(wrongSize.byteLength), true);
  buf.set(wrongSize, 8);
  assert.throws(() => readSafetensors(buf), /x F32\[3\] needs 12 bytes/);
  const badType = new TextEncoder().encode(JSON.stringify({ x: { dtype: "C64", shape: [1], data_offsets: [0, 8] } }));
  const buf2 = new Uint8Array(8 + badType.byteLength + 8);
  new DataView(buf2.buffer).setBigUint64(0, BigInt(badType.byteLength), true);
  buf2.set(badType, 8);
  assert.throws(() => readSafetensors(buf2), /unsupported dtype C64/);
});
