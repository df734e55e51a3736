/**
 * @file Regression cases: every bug the fuzz suite found, as the smallest input that showed it,
 * named after the bug. Each failed before its fix (a RangeError, TypeError or library error
 * escaping, or a message without the file's name) and must now be one UserError/TarError naming
 * the input.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { UserError } from "../../src/errors.js";
import { openDataset } from "../../src/data/index.js";
import { readTar, TarError, TarWriter } from "../../src/data/tar.js";
import { readTorchZipFrom } from "../../src/weights/torchzip.js";
import { unpickle } from "../../src/weights/pickle.js";
import { bytesSource } from "../../src/weights/source.js";
import { readZipDirectory, readZipEntry } from "../../src/weights/zip.js";
import { png, tmpDir } from "../data/helpers.js";
import { zipOf } from "./zip.js";

const dir = tmpDir("fuzz-regressions");

function oneMemberTar(): Uint8Array {
  const file = path.join(dir, `one-${Math.random().toString(36).slice(2)}.tar`);
  const w = new TarWriter(file);
  w.add("a.png", png(1));
  w.add("a.txt", new TextEncoder().encode("caption"));
  w.close();
  return new Uint8Array(fs.readFileSync(file));
}

function setChecksum(b: Uint8Array, off: number): void {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : b[off + i]!;
  b.set(new TextEncoder().encode(sum.toString(8).padStart(6, "0")), off + 148);
  b[off + 154] = 0;
  b[off + 155] = 32;
}

async function readAll(bytes: Uint8Array): Promise<number> {
  let n = 0;
  for await (const _e of readTar((async function* () {
    yield bytes;
  })())) n++;
  return n;
}

const isTarCorrupt = (e: unknown): boolean => e instanceof TarError && e.kind === "corrupt" && /claims .* bytes/.test(e.message);

test("regression tar-base256-size: a GNU base-256 size of 2^88 was a RangeError (typed array length), now a TarError", async () => {
  const b = oneMemberTar();
  b[124] = 0x80;
  b.fill(0xff, 125, 136);
  setChecksum(b, 0);
  await assert.rejects(readAll(b), isTarCorrupt);
});

test("regression tar-pax-size-1e20: a pax record size=99999999999999999999 was a RangeError, now a TarError", async () => {
  const b = oneMemberTar();
  const rec = new TextEncoder().encode("30 size=99999999999999999999\n");
  const pax = new Uint8Array(1024);
  pax.set(b.subarray(0, 512));
  pax[156] = "x".charCodeAt(0);
  pax.set(new TextEncoder().encode(rec.length.toString(8).padStart(11, "0")), 124);
  pax.set(rec, 512);
  setChecksum(pax, 0);
  await assert.rejects(readAll(Uint8Array.from([...pax, ...b])), isTarCorrupt);
});

test("regression targz-bomb-6gib-claim: a .tar.gz member claiming 6 GiB was allocated (RangeError); now one named corrupt_shard skip, nothing inflated", async () => {
  const header = oneMemberTar().slice(0, 512);
  header.set(new TextEncoder().encode((6 * 2 ** 30).toString(8).padStart(11, "0")), 124);
  setChecksum(header, 0);
  const zeros = zlib.gzipSync(new Uint8Array(1 << 20));
  const file = path.join(dir, "bomb.tar.gz");
  fs.writeFileSync(file, Buffer.concat([zlib.gzipSync(header), ...Array.from({ length: 64 }, () => zeros)]));
  const ds = openDataset(file);
  for await (const _s of ds) assert.fail("no sample");
  assert.deepEqual(ds.stats().skipped, { corrupt_shard: 1 });
  assert.match(ds.stats().messages![0]!, /bomb\.tar\.gz: tar header at byte 0 claims 6442450944 bytes/);
});

test("regression zip-cd-entry-past-directory: a central directory entry whose lengths run past the directory was a DataView RangeError", () => {
  const zip = zipOf([["archive/data.pkl", Uint8Array.from([0x80, 2, 0x7d, 0x2e])]]);
  // the entry's extra-field length (offset 30 in the central header) made huge
  const cd = zip.length - 22 - 46 - "archive/data.pkl".length;
  new DataView(zip.buffer).setUint16(cd + 30, 0xfff0, true);
  assert.throws(() => readZipDirectory(bytesSource(zip, "cd.pt")), (e: unknown) => e instanceof UserError && /cd\.pt: .*runs past the directory/.test(e.message));
});

test("regression zip-deflate-corrupt: fflate's 'invalid distance' / 'unexpected EOF' escaped from readZipEntry", () => {
  const data = new TextEncoder().encode("x".repeat(4000) + "y".repeat(4000));
  const zip = zipOf([["archive/data.pkl", data]], { deflate: true });
  const src = bytesSource(zip, "deflate.pt");
  const e = readZipDirectory(src).get("archive/data.pkl")!;
  const start = e.localOffset + 30 + "archive/data.pkl".length;
  zip.fill(0xff, start + 2, start + 6); // damage the deflate stream
  assert.throws(() => readZipEntry(src, e), (err: unknown) => err instanceof UserError && /deflate\.pt: zip entry archive\/data\.pkl is corrupt \(deflate: /.test(err.message));
});

test("regression zip-claimed-size-bomb: a deflated entry claiming 4 GiB was allocated before inflating", () => {
  const zip = zipOf([["archive/data.pkl", new Uint8Array(100)]], { deflate: true });
  const cd = zip.length - 22 - 46 - "archive/data.pkl".length;
  new DataView(zip.buffer).setUint32(cd + 24, 0xfffffff0, true);
  const src = bytesSource(zip, "bomb.pt");
  const e = readZipDirectory(src).get("archive/data.pkl")!;
  assert.throws(() => readZipEntry(src, e), (err: unknown) => err instanceof UserError && /bomb\.pt: .*claims 4294967280 bytes/.test(err.message));
});

test("regression torch-error-unnamed: 'torch checkpoint: unsupported persistent id' did not name the file", () => {
  // a pickle whose persistent id is not a storage tuple: (BINPERSID "x") STOP
  const pkl = Uint8Array.from([0x80, 2, 0x58, 1, 0, 0, 0, 0x78, 0x51, 0x2e]);
  const zip = zipOf([["archive/data.pkl", pkl]]);
  assert.throws(() => readTorchZipFrom(bytesSource(zip, "unnamed.pt")), (e: unknown) => e instanceof UserError && /^unnamed\.pt: unsupported persistent id/.test(e.message));
});

test("regression pickle-int-text-garbage: an INT/LONG text opcode holding garbage was a SyntaxError from BigInt", () => {
  // protocol 2, LONG "torch\n" (not a number), STOP
  const pkl = Uint8Array.from([0x80, 2, 0x4c, ...new TextEncoder().encode("torch\n"), 0x2e]);
  assert.throws(() => unpickle(pkl, { name: "garbage.pkl" }), (e: unknown) => e instanceof UserError && /^garbage\.pkl: cannot unpickle at byte \d+: INT\/LONG opcode holds "torch"/.test(e.message));
  const zip = zipOf([["archive/data.pkl", pkl]]);
  assert.throws(() => readTorchZipFrom(bytesSource(zip, "garbage.pt")), (e: unknown) => e instanceof UserError && /garbage\.pt/.test(e.message));
});
