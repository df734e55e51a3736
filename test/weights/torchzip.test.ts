import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UserError } from "../../src/errors.js";
import { type RawTensor, toFloat32 } from "../../src/weights/dtype.js";
import { readTorchFile } from "../../src/weights/files.js";
import { readTorchZip } from "../../src/weights/torchzip.js";
import { unpickle } from "../../src/weights/pickle.js";
import { loadCheckpoint } from "../../src/weights/checkpoint.js";
import { bytesSource } from "../../src/weights/source.js";
import { readZipDirectory, readZipEntry } from "../../src/weights/zip.js";
import { ROOT } from "../helpers/shared.js";

// made by test/fixtures-gen/make_torch_fixtures.py with PyTorch 1.13
const DIR = path.join(ROOT, "test/fixtures/torch");

interface Expected {
  dtype: string;
  shape: number[];
  values?: number[];
  formula?: boolean;
}

function expectedOf(name: string): Record<string, Expected> {
  return JSON.parse(fs.readFileSync(path.join(DIR, `${name}.expected.json`), "utf8"));
}

/** The generator's formula: float tensor j (sorted key order), element i = ((7i + 13j) % 101 - 50) / 32. */
function formulaValues(keys: string[], key: string, n: number): number[] {
  const j = [...keys].sort().indexOf(key);
  return Array.from({ length: n }, (_, i) => (((7 * i + 13 * j) % 101) - 50) / 32);
}

function values(t: RawTensor): number[] {
  if (t.data instanceof BigInt64Array) return Array.from(t.data, Number);
  return Array.from(toFloat32(t));
}

function check(tensors: Map<string, RawTensor>, exp: Record<string, Expected>, what: string): void {
  assert.deepEqual([...tensors.keys()].sort(), Object.keys(exp).sort(), `${what}: keys`);
  for (const [k, e] of Object.entries(exp)) {
    const t = tensors.get(k)!;
    assert.equal(t.dtype, e.dtype, `${what} ${k} dtype`);
    assert.deepEqual(t.shape, e.shape, `${what} ${k} shape`);
    const want = e.formula ? formulaValues(Object.keys(exp), k, e.shape.reduce((a, b) => a * b, 1)) : e.values!;
    // float values compare after float32 rounding (F64 tensors are read as float64 and compared exactly)
    const got = t.dtype === "F64" ? Array.from(t.data as Float64Array) : values(t);
    const wantR = t.dtype === "F64" || t.dtype.startsWith("I") || t.dtype === "U8" || t.dtype === "BOOL" ? want : want.map(Math.fround);
    assert.deepEqual(got, wantR, `${what} ${k} values`);
  }
}

test("torch.save state dict: every dtype, scalars, transposed / strided / offset / stride-0 views", () => {
  const { tensors, format, path: where } = readTorchFile(path.join(DIR, "state_dict.bin"));
  assert.equal(format, "state_dict");
  assert.equal(where, "");
  check(tensors, expectedOf("state_dict"), "state_dict.bin");
  // tensors sharing a storage do not alias each other
  const big = tensors.get("big")!.data as Float32Array;
  const slice = tensors.get("slice")!.data as Float32Array;
  assert.notEqual(big.buffer, slice.buffer);
  // upcast on request
  const up = readTorchFile(path.join(DIR, "state_dict.bin"), { upcast: true }).tensors;
  assert.equal(up.get("f16")!.dtype, "F32");
  assert.equal(up.get("bf16")!.dtype, "F32");
  assert.equal(up.get("i64")!.dtype, "I64");
});

test("the same archive from bytes, and re-zipped with deflate and zip64 records", () => {
  const exp = expectedOf("state_dict");
  check(readTorchZip(new Uint8Array(fs.readFileSync(path.join(DIR, "state_dict.bin")))).tensors, exp, "bytes");
  check(readTorchFile(path.join(DIR, "deflated_zip64.bin")).tensors, exp, "deflated_zip64.bin");
});

test("a training checkpoint: {state_dict: ...} wrapper and DDP's module. prefix", () => {
  const r = readTorchFile(path.join(DIR, "wrapped.bin"));
  assert.equal(r.path, "state_dict");
  check(r.tensors, expectedOf("wrapped"), "wrapped.bin");
});

test("a TorchScript archive: the module tree's parameters and buffers, as torch.jit.load(...).state_dict()", () => {
  const r = readTorchFile(path.join(DIR, "torchscript.pt"));
  assert.equal(r.format, "torchscript");
  check(r.tensors, expectedOf("torchscript"), "torchscript.pt");
});

test("an OpenAI-style fp16 state dict loads as a checkpoint with the config inferred from shapes", () => {
  const ck = loadCheckpoint(path.join(DIR, "openai_vit_tiny.pt"));
  assert.equal(ck.source, "torch");
  assert.equal(ck.inferred, true);
  assert.deepEqual(ck.config, {
    embed_dim: 8,
    quick_gelu: true,
    vision_cfg: { image_size: 8, layers: 1, width: 16, patch_size: 4, head_width: 16, mlp_ratio: 4 },
    text_cfg: { context_length: 8, vocab_size: 32, width: 16, heads: 1, layers: 1, mlp_ratio: 4 },
  });
  // input_resolution / context_length / vocab_size are dropped, as build_model does
  const exp = expectedOf("openai_vit_tiny");
  assert.deepEqual([...ck.state.keys()].sort(), Object.keys(exp).sort());
  for (const [k, e] of Object.entries(exp)) {
    const want = formulaValues(Object.keys(exp), k, ck.state.get(k)!.data.length);
    assert.deepEqual(Array.from(ck.state.get(k)!.data), want, k);
    assert.equal(e.dtype, "F16");
  }
  // a directory holding just that file loads the same way
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oa-"));
  try {
    fs.copyFileSync(path.join(DIR, "openai_vit_tiny.pt"), path.join(dir, "ViT-tiny.pt"));
    assert.deepEqual(loadCheckpoint(dir).config, ck.config);
    fs.copyFileSync(path.join(DIR, "openai_vit_tiny.pt"), path.join(dir, "pytorch_model.bin"));
    assert.equal(loadCheckpoint(dir).weightsFile, path.join(dir, "pytorch_model.bin"));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("unsupported or broken torch files give UserErrors with what to do", () => {
  assert.throws(() => readTorchFile(path.join(DIR, "legacy.bin")), (e: Error) => e instanceof UserError && /legacy \(pre-1.6, non-zip\)/.test(e.message) && /torch.save/.test(e.message));
  const bytes = new Uint8Array(fs.readFileSync(path.join(DIR, "state_dict.bin")));
  assert.throws(() => readTorchZip(bytes.subarray(0, bytes.length - 30)), /zip|truncated/);
  assert.throws(() => readTorchZip(new TextEncoder().encode("hello world")), /not a PyTorch zip checkpoint/);
  // the pickle VM refuses what it does not know instead of guessing
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0xff])), /unsupported opcode 0xff/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x4a, 0x01])), /truncated/);
  // protocol 2 ints, strings, dict, memo
  const p = Uint8Array.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x58, 0x01, 0, 0, 0, 0x61, 0x4b, 0x07, 0x73, 0x2e]);
  assert.deepEqual(unpickle(p), new Map([["a", 7]]));
});

/** A stored zip whose central directory uses only zip64 fields (as archives over 4 GB must). */
function zip64(entries: { name: string; data: Uint8Array }[]): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = enc.encode(e.name);
    const loc = new DataView(new ArrayBuffer(30));
    loc.setUint32(0, 0x04034b50, true);
    loc.setUint16(26, name.length, true);
    parts.push(new Uint8Array(loc.buffer), name, e.data);
    const cen = new DataView(new ArrayBuffer(46 + name.length + 28));
    cen.setUint32(0, 0x02014b50, true);
    cen.setUint32(20, 0xffffffff, true);
    cen.setUint32(24, 0xffffffff, true);
    cen.setUint16(28, name.length, true);
    cen.setUint16(30, 28, true);
    cen.setUint32(42, 0xffffffff, true);
    new Uint8Array(cen.buffer).set(name, 46);
    const x = 46 + name.length;
    cen.setUint16(x, 1, true);
    cen.setUint16(x + 2, 24, true);
    cen.setBigUint64(x + 4, BigInt(e.data.length), true);
    cen.setBigUint64(x + 12, BigInt(e.data.length), true);
    cen.setBigUint64(x + 20, BigInt(offset), true);
    central.push(new Uint8Array(cen.buffer));
    offset += 30 + name.length + e.data.length;
  }
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  const end = new DataView(new ArrayBuffer(56 + 20 + 22));
  end.setUint32(0, 0x06064b50, true);
  end.setBigUint64(32, BigInt(entries.length), true);
  end.setBigUint64(40, BigInt(cdSize), true);
  end.setBigUint64(48, BigInt(offset), true);
  end.setUint32(56, 0x07064b50, true);
  end.setBigUint64(64, BigInt(offset + cdSize), true);
  end.setUint32(76, 0x06054b50, true);
  end.setUint16(84, 0xffff, true);
  end.setUint16(86, 0xffff, true);
  end.setUint32(88, 0xffffffff, true);
  end.setUint32(92, 0xffffffff, true);
  const all = [...parts, ...central, new Uint8Array(end.buffer)];
  const out = new Uint8Array(all.reduce((a, c) => a + c.length, 0));
  let p = 0;
  for (const c of all) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

test("zip64 central directories (archives over 4 GB) are read", () => {
  const src = new Uint8Array(fs.readFileSync(path.join(DIR, "state_dict.bin")));
  const dir = readZipDirectory(bytesSource(src));
  const rebuilt = zip64([...dir.values()].map((e) => ({ name: e.name, data: readZipEntry(bytesSource(src), e) })));
  const entries = readZipDirectory(bytesSource(rebuilt));
  assert.equal(entries.size, dir.size);
  check(readTorchZip(rebuilt).tensors, expectedOf("state_dict"), "zip64");
});
