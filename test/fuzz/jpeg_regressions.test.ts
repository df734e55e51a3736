/**
 * @file Regression cases of the JPEG decoder found by the fuzz suite against libvips: each is a
 * small edit of a generated JPEG that libjpeg refuses (we accepted it) or decodes differently
 * (pixels differed). Refusals must be our UserError naming the file; accepted files must give
 * libvips' pixels exactly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { UserError } from "../../src/errors.js";
import { decodeImageSync } from "../../src/image/decode.js";
import { segments, scanStart } from "./jpeg_cases.js";

async function baseline(progressive = false): Promise<Uint8Array> {
  const w = 40, h = 24;
  const raw = Buffer.alloc(w * h * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7 + (i >> 7) * 13) & 255;
  return new Uint8Array(await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 75, progressive }).toBuffer());
}

function refuses(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeImageSync(bytes, { name: "case.jpg" }),
    (e: unknown) => e instanceof UserError && e.message.startsWith("case.jpg: cannot decode image: ") && pattern.test(e.message),
  );
}

async function sameAsLibvips(bytes: Uint8Array): Promise<void> {
  const ours = decodeImageSync(bytes, { name: "case.jpg" })!;
  const { data, info } = await sharp(bytes, { failOn: "truncated" }).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([ours.width, ours.height], [info.width, info.height]);
  let diff = 0;
  for (let i = 0; i < ours.data.length; i++) if (ours.data[i] !== data[i]) diff++;
  assert.equal(diff, 0, "pixels identical to libvips");
}

const splice = (b: Uint8Array, at: number, del: number, ...ins: number[]): Uint8Array => Uint8Array.from([...b.subarray(0, at), ...ins, ...b.subarray(at + del)]);

test("regression jpeg-bogus-huffman-codes: a table whose codes overflow their lengths was accepted; libjpeg: Bogus Huffman table definition", async () => {
  const b = (await baseline()).slice();
  const [s] = segments(b, 0xc4)[0]!;
  // the first table's counts (after the class/id byte): move two codes to length 1, keeping the total
  const counts = b.subarray(s + 1, s + 17);
  let last = 15;
  while (counts[last]! < 2) last--;
  counts[last]! -= 2;
  counts[0]! += 2;
  refuses(b, /corrupt JPEG Huffman table/);
});

test("regression jpeg-dc-symbol-over-15: a DC table with a symbol above 15 was accepted", async () => {
  const b = (await baseline()).slice();
  const [s] = segments(b, 0xc4)[0]!; // sharp writes the DC luminance table first
  assert.equal(b[s]! >> 4, 0, "a DC table");
  b[s + 17] = 0x20;
  refuses(b, /corrupt JPEG Huffman table/);
});

test("regression jpeg-dht-leftover-bytes: bytes after the last table of a DHT segment were ignored; libjpeg: Bogus marker length", async () => {
  const b = await baseline();
  const [s, e] = segments(b, 0xc4)[0]!;
  const len = e - s + 2 + 1;
  const out = splice(b, e, 0, 0x00);
  out[s - 2] = len >> 8;
  out[s - 1] = len & 255;
  refuses(out, /bad segment length/);
});

test("regression jpeg-duplicate-soi: a second SOI marker was skipped; libjpeg: Invalid JPEG file structure: two SOI markers", async () => {
  refuses(splice(await baseline(), 2, 0, 0xff, 0xd8), /two start-of-image markers/);
});

test("regression jpeg-side-over-65500: a 65535-pixel-wide frame was decoded; libjpeg: Maximum supported image dimension is 65500 pixels", async () => {
  const b = (await baseline()).slice();
  const [s] = segments(b, 0xc0)[0]!;
  b[s + 3] = 0xff;
  b[s + 4] = 0xff;
  refuses(b, /at most 65500 pixels/);
});

test("regression jpeg-eoi-before-scan: a file ending (EOI) before its first scan gave a flat grey image; libjpeg: missing SOS marker", async () => {
  const b = await baseline();
  const sos = segments(b, 0xda)[0]![0] - 4;
  refuses(Uint8Array.from([...b.subarray(0, sos), 0xff, 0xd9]), /no scan before the end-of-image marker/);
});

test("regression jpeg-quant-table-id: a component's quantization table id was masked to 2 bits (0x11 read as 1)", async () => {
  const b = (await baseline()).slice();
  const [s] = segments(b, 0xc0)[0]!;
  b[s + 6 + 2] = 0x11; // component 0's Tq
  refuses(b, /missing quantization table/);
});

test("regression jpeg-bad-progression: a progressive scan with Al=15 was decoded; libjpeg: Invalid progressive parameters", async () => {
  const b = (await baseline(true)).slice();
  const [, e] = segments(b, 0xda)[0]!;
  b[e - 1] = 0x0f; // Ah=0, Al=15
  refuses(b, /invalid progressive parameters Ss=0 Se=0 Ah=0 Al=15/);
});

test("regression jpeg-insufficient-data: after the data ends mid-scan libjpeg leaves the remaining MCUs zero (we decoded zeros as codes)", async () => {
  const b = await baseline();
  const start = scanStart(b);
  // the scan cut in its middle, then EOI: "Corrupt JPEG data: premature end of data segment"
  await sameAsLibvips(Uint8Array.from([...b.subarray(0, start + Math.floor((b.length - start) / 2)), 0xff, 0xd9]));
});

test("regression jpeg-bad-code-17-bits: an invalid Huffman code uses 17 bits in libjpeg (we used 16)", async () => {
  const b = await baseline();
  const start = scanStart(b);
  // a scan of one-bits (0xFF stuffed as FF 00): no valid code, each decode is the bad-code path
  const ones = Array.from({ length: 40 }, (_, i) => (i % 2 ? 0x00 : 0xff));
  await sameAsLibvips(Uint8Array.from([...b.subarray(0, start), ...ones, ...b.subarray(start + 40)]));
});
