/**
 * @file Fuzz: the tar reader and the WebDataset layer on hostile shards: wrong sizes, bad
 * checksums, `../` and absolute member names, huge headers and pax records, gzip bombs in
 * `.tar.gz`, zero-length members, colliding keys. readTar may only stop with a TarError; a dataset
 * never throws on bad bytes (it counts skips, each named by shard), never writes or follows a
 * member name, and keeps images and captions of one key together.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { openDataset } from "../../src/data/index.js";
import { readTar, TarError, TarWriter } from "../../src/data/tar.js";
import { png, tmpDir } from "../data/helpers.js";
import { FUZZ_SCALE, FUZZ_SEED, FuzzRng, Tally, mutate, runCase, type Mutant } from "./harness.js";

const dir = tmpDir("fuzz-tar");
const enc = new TextEncoder();

function tarBytes(entries: [string, Uint8Array | string][]): Uint8Array {
  const file = path.join(dir, `seed-${Math.random().toString(36).slice(2)}.tar`);
  const w = new TarWriter(file);
  for (const [name, data] of entries) w.add(name, typeof data === "string" ? enc.encode(data) : data);
  w.close();
  const b = new Uint8Array(fs.readFileSync(file));
  fs.rmSync(file);
  return b;
}

const SEEDS: [string, Uint8Array][] = [
  ["plain", tarBytes([["a.png", png(1)], ["a.txt", "caption a"], ["a.cls", "0"], ["b.png", png(2)], ["b.txt", "caption b"], ["b.cls", "1"]])],
  ["evil-names", tarBytes([["../../evil.png", png(3)], ["../../evil.txt", "escape"], ["/tmp/abs/x.png", png(4)], ["/tmp/abs/x.txt", "absolute"]])],
  ["long-name", tarBytes([[`${"d".repeat(120)}/k.png`, png(5)], [`${"d".repeat(120)}/k.txt`, "pax path"]])],
  ["zero-length", tarBytes([["z.png", new Uint8Array(0)], ["z.txt", ""], ["y.png", png(6)], ["y.txt", "ok"]])],
  ["collide", tarBytes([["c.png", png(7)], ["c.txt", "one"], ["d.png", png(8)], ["d.txt", "two"], ["c.png", png(9)], ["c.txt", "again"], ["c.txt", "dup"]])],
];

/** Header offsets of a tar (every 512-byte block that passes as a header start, in order). */
function headers(b: Uint8Array): number[] {
  const out: number[] = [];
  let off = 0;
  while (off + 512 <= b.length) {
    const h = b.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    out.push(off);
    const size = parseInt(new TextDecoder().decode(h.subarray(124, 135)), 8) || 0;
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

function setChecksum(b: Uint8Array, off: number): void {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[off + i]!;
  const s = sum.toString(8).padStart(6, "0");
  for (let i = 0; i < 6; i++) b[off + 148 + i] = s.charCodeAt(i);
  b[off + 154] = 0;
  b[off + 155] = 32;
}

/** Header-aware mutations that keep the checksum valid, so the reader believes them: sizes, types, names. */
function mutateHeader(rng: FuzzRng, b: Uint8Array): Mutant {
  const hs = headers(b);
  if (hs.length === 0) return mutate(rng, b);
  const off = rng.pick(hs);
  const out = b.slice();
  const k = rng.int(6);
  let op: string;
  if (k === 0) {
    const v = rng.pick(["77777777777", "00000000001", "10000000000", "-0000000005", "9999", "00000001000"]);
    out.set(enc.encode(v.padEnd(11, "\0")).subarray(0, 11), off + 124);
    op = `size=${v}`;
  } else if (k === 1) {
    // GNU base-256 size: up to 2^95
    out[off + 124] = 0x80;
    for (let i = 125; i < 136; i++) out[off + i] = rng.pick([0, 0xff, rng.int(256)]);
    op = "size=base256";
  } else if (k === 2) {
    out[off + 156] = rng.pick([..."0125LxKgS"].map((c) => c.charCodeAt(0)));
    op = `type=${String.fromCharCode(out[off + 156]!)}`;
  } else if (k === 3) {
    const name = rng.pick(["../../../etc/evil.png", "/abs/evil.txt", "", ".hidden", "a", "x.png.txt", "é\u0000.png", "a/b/../../c.txt"]);
    out.fill(0, off, off + 100);
    out.set(enc.encode(name).subarray(0, 100), off);
    op = `name=${JSON.stringify(name)}`;
  } else if (k === 4) {
    // a pax record lying about size or path
    const rec = rng.pick(["10 size=-5\n", "13 size=NaNxx\n", "30 size=99999999999999999999\n", "12 path=../x\n", "5 path\n", "99999 size=1\n"]);
    const pax = tarBytes([["p.txt", "x"]]);
    pax[156] = "x".charCodeAt(0);
    const body = enc.encode(rec);
    pax.set(enc.encode(body.length.toString(8).padStart(11, "0")), 124);
    pax.fill(0, 512, 1024);
    pax.set(body, 512);
    setChecksum(pax, 0);
    return { bytes: Uint8Array.from([...b.subarray(0, off), ...pax.subarray(0, 1024), ...b.subarray(off)]), op: `pax ${JSON.stringify(rec)}` };
  } else {
    return mutate(rng, b);
  }
  setChecksum(out, off);
  return { bytes: out, op };
}

/** A gzip bomb: a member header claiming `claim` bytes, then `mib` MiB of zeros as concatenated gzip members. */
function bomb(claim: number, mib: number): Uint8Array {
  const header = tarBytes([["bomb.png", "x"]]).slice(0, 512);
  header.set(enc.encode(claim.toString(8).padStart(11, "0")), 124);
  setChecksum(header, 0);
  const zeros = zlib.gzipSync(new Uint8Array(1 << 20), { level: 9 });
  const parts = [zlib.gzipSync(header), ...Array.from({ length: mib }, () => zeros)];
  return Uint8Array.from(Buffer.concat(parts));
}

async function drainTar(bytes: Uint8Array): Promise<number> {
  let n = 0;
  for await (const _e of readTar((async function* () {
    // in small chunks, so entries cross chunk boundaries
    for (let i = 0; i < bytes.length; i += 700) yield bytes.subarray(i, i + 700);
  })())) n++;
  return n;
}

/** Reads a shard file through the dataset layer: never throws, skips are named, pairs stay together. */
async function drainDataset(file: string): Promise<{ samples: number; skipped: number }> {
  const ds = openDataset(file, { requireCaption: false });
  let samples = 0;
  for await (const s of ds) {
    samples++;
    assert.ok(s.image && s.image.length > 0, `${s.key}: a sample without its image`);
  }
  const st = ds.stats();
  for (const m of st.messages ?? []) assert.ok(m.includes(file), `skip message names the shard: ${m}`);
  return { samples, skipped: Object.values(st.skipped).reduce((a, b) => a + b, 0) };
}

test("fuzz: tar reader and WebDataset shards (sizes, checksums, names, pax, types, truncation)", async () => {
  const t = new Tally("tar");
  const rng = new FuzzRng(FUZZ_SEED, 5);
  const before = new Set(fs.readdirSync(path.dirname(dir)));
  const n = 700 * FUZZ_SCALE;
  for (let i = 0; i < n; i++) {
    const [name, b] = SEEDS[i % SEEDS.length]!;
    const m = rng.int(2) === 0 ? mutateHeader(rng, b) : mutate(rng, b);
    const id = `tar#${i} ${name} ${m.op}`;
    const o = await runCase("", () => drainTar(m.bytes), (e) => e instanceof TarError);
    t.add(id, o);
    if (o.kind === "refused") t.count("readTar refused (TarError)");
    const file = path.join(dir, `case${i}${i % 4 === 0 ? ".tar.gz" : ".tar"}`);
    fs.writeFileSync(file, i % 4 === 0 ? zlib.gzipSync(m.bytes) : m.bytes);
    const d = await runCase(file, () => drainDataset(file), () => false);
    if (d.kind === "failure") t.fail(`${id} (dataset${i % 4 === 0 ? ", gzip" : ""})`, d.message);
    else {
      t.count("dataset samples", d.value!.samples);
      t.count("dataset skips", d.value!.skipped);
    }
    fs.rmSync(file);
  }
  // member names are data, never paths: nothing appeared next to the shards or above them
  const after = fs.readdirSync(path.dirname(dir)).filter((f) => !before.has(f) && /evil|abs/.test(f));
  assert.deepEqual(after, []);
  assert.ok(!fs.existsSync("/abs") && !fs.existsSync("/tmp/abs"));
  t.finish();
});

test("fuzz: gzip bombs in .tar.gz: a member claiming gigabytes is refused before it is inflated", async () => {
  const t = new Tally("tar.gz bombs");
  const cases: [string, Uint8Array][] = [
    ["claims 6 GiB, 64 MiB of zeros", bomb(6 * 2 ** 30, 64)],
    ["claims 1 GiB, 16 MiB of zeros", bomb(2 ** 30, 16)],
    ["claims 4 KiB, 32 MiB of zeros", bomb(4096, 32)],
  ];
  for (const [name, gz] of cases) {
    const file = path.join(dir, `bomb-${t.cases}.tar.gz`);
    fs.writeFileSync(file, gz);
    const rss0 = process.memoryUsage().rss;
    const o = await runCase(file, () => drainDataset(file), () => false);
    t.add(name, o);
    const grew = (process.memoryUsage().rss - rss0) / 2 ** 20;
    if (grew > 512) t.fail(name, `memory grew by ${grew.toFixed(0)} MiB`);
    t.count("skips", o.value?.skipped ?? 0);
    fs.rmSync(file);
  }
  t.finish();
});
