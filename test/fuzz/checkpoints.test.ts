/**
 * @file Fuzz: checkpoint readers on hostile files: truncated safetensors and headers that lie about
 * offsets, sizes, dtypes and shapes; PyTorch zip checkpoints truncated, bit-flipped, with zip
 * directories that lie or overlap; pickles naming forbidden globals (os.system, eval, ...). Each
 * must give one UserError naming the file: no other exception, no hang, and no code run.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { readSafetensorsFrom, serializeSafetensors } from "../../src/weights/safetensors.js";
import { readTorchZipFrom } from "../../src/weights/torchzip.js";
import { bytesSource } from "../../src/weights/source.js";
import { unpickle } from "../../src/weights/pickle.js";
import { ROOT } from "../helpers/shared.js";
import { FUZZ_SCALE, FUZZ_SEED, FuzzRng, Tally, mutate, runCase, truncate } from "./harness.js";
import { evilPickle, zipOf } from "./zip.js";

const TORCH = path.join(ROOT, "test/fixtures/torch");
const enc = new TextEncoder();

const FORBIDDEN: [string, string][] = [
  ["os", "system"],
  ["posix", "system"],
  ["subprocess", "Popen"],
  ["builtins", "eval"],
  ["builtins", "exec"],
  ["__builtin__", "getattr"],
  ["torch", "load"],
  ["shutil", "rmtree"],
];

function safetensorsSeed(): Uint8Array {
  return serializeSafetensors({
    "visual.conv1.weight": { dtype: "F32", shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    logit_scale: { dtype: "F32", shape: [], data: Float32Array.from([4.6]) },
    "token_embedding.weight": { dtype: "F16", shape: [4], data: Uint16Array.from([0x3c00, 0, 0x4000, 0xc000]) },
  }, { format: "pt" });
}

/** A header rewritten to lie, keeping the data: offsets, sizes, dtypes, shapes, length prefix. */
function lyingHeader(rng: FuzzRng, b: Uint8Array): { bytes: Uint8Array; op: string } {
  const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
  const data = b.subarray(8 + n);
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const e = header[rng.pick(names)]!;
  const k = rng.int(7);
  let op: string;
  if (k === 0) {
    e.data_offsets = [rng.pick([0, 8, 2 ** 40, -1, 1.5]), rng.pick([24, 2 ** 53, 4, 1e308])];
    op = `offsets ${JSON.stringify(e.data_offsets)}`;
  } else if (k === 1) {
    e.shape = rng.pick([[2 ** 31, 2 ** 31], [-1], [1e9, 1e9, 1e9], [0], [3.5], []]);
    op = `shape ${JSON.stringify(e.shape)}`;
  } else if (k === 2) {
    e.dtype = rng.pick(["F64", "I8", "BOOL", "Q4", "", "__proto__"]);
    op = `dtype ${e.dtype}`;
  } else if (k === 3) {
    header["__proto__"] = e;
    op = "__proto__ entry";
  } else if (k === 4) {
    e.data_offsets = [0, 24];
    op = "overlapping offsets";
  } else if (k === 5) {
    const text = enc.encode(JSON.stringify(header));
    const out = new Uint8Array(8 + text.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(rng.pick([text.length + 100, 2 ** 40, 0, 7])), true);
    out.set(text, 8);
    out.set(data, 8 + text.length);
    return { bytes: out, op: "length prefix lies" };
  } else return { bytes: Uint8Array.from([...b.subarray(0, 8), ...enc.encode(`{"a":${"[".repeat(5000)}`)]), op: "deeply nested header" };
  const text = enc.encode(JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return { bytes: out, op };
}

test("fuzz: safetensors (truncated, lying headers, mutated)", async () => {
  const t = new Tally("safetensors");
  const seed = safetensorsSeed();
  const rng = new FuzzRng(FUZZ_SEED, 7);
  for (let at = 0; at < seed.length; at += Math.max(1, Math.floor(seed.length / 60))) {
    const m = truncate(seed, at);
    t.add(`st ${m.op}`, await runCase("case.safetensors", () => readSafetensorsFrom(bytesSource(m.bytes, "case.safetensors"))));
  }
  const n = 500 * FUZZ_SCALE;
  for (let i = 0; i < n; i++) {
    const m = i % 2 ? lyingHeader(rng, seed) : mutate(rng, seed);
    const name = `case${i}.safetensors`;
    t.add(`st#${i} ${m.op}`, await runCase(name, () => readSafetensorsFrom(bytesSource(m.bytes, name))));
  }
  t.finish();
});

test("fuzz: PyTorch zip checkpoints (truncated, mutated, lying or overlapping zip entries) and pickles naming forbidden globals", async () => {
  const t = new Tally("torch-zip+pickle");
  const seeds: [string, Uint8Array][] = ["state_dict.bin", "openai_vit_tiny.pt", "deflated_zip64.bin"].map((f) => [f, new Uint8Array(fs.readFileSync(path.join(TORCH, f)))]);
  const rng = new FuzzRng(FUZZ_SEED, 8);
  const n = 450 * FUZZ_SCALE;
  for (let i = 0; i < n; i++) {
    const [seedName, b] = seeds[i % seeds.length]!;
    const m = mutate(rng, b);
    const name = `case${i}.pt`;
    t.add(`zip#${i} ${seedName} ${m.op}`, await runCase(name, () => readTorchZipFrom(bytesSource(m.bytes, name))));
  }
  // forbidden globals, alone and inside a checkpoint (stored, deflated, overlapping entries): refused, never called
  let ran = false;
  const spy = globalThis as unknown as { __fuzzRan?: () => void };
  spy.__fuzzRan = () => (ran = true);
  for (const [mod, fn] of FORBIDDEN) {
    const pkl = evilPickle(mod, fn, "globalThis.__fuzzRan()");
    const o = await runCase(`evil-${fn}.pkl`, () => {
      const v = unpickle(pkl, { name: `evil-${fn}.pkl` });
      return v; // an inert object describing the call is fine; running it is not
    });
    t.add(`pickle ${mod}.${fn}`, o);
    for (const opts of [{}, { deflate: true }, { overlap: true }]) {
      const zip = zipOf([["archive/data.pkl", pkl], ["archive/version", enc.encode("3\n")]], opts);
      const name = `evil-${fn}-${JSON.stringify(opts)}.pt`;
      const z = await runCase(name, () => readTorchZipFrom(bytesSource(zip, name)));
      t.add(`zip ${mod}.${fn} ${JSON.stringify(opts)}`, z);
      if (z.kind === "accepted") t.fail(`zip ${mod}.${fn}`, "a checkpoint whose pickle calls a forbidden global was accepted");
    }
  }
  assert.equal(ran, false, "no code from a pickle ran");
  t.finish();
});
