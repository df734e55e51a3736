/**
 * @file Fuzz: our image decoders (JPEG, GIF, BMP) on generated and mutated files, differentially
 * against sharp/libvips where libvips reads the format (JPEG, GIF). Generated files and their
 * truncations must agree exactly (both accept with identical pixels, or both refuse); on mutated
 * files agreement is counted and held under a ratchet (see `ratchet`). Every refusal must be our
 * UserError naming the input; a RangeError or TypeError escaping, or a case over the time limit,
 * fails the suite. Memory is bounded by a pixel limit (extreme dimensions are refused before any
 * allocation). Depth: how many mutated JPEGs get far enough to write pixels, not only through
 * header checks. `FUZZ_VERBOSE=1` lists every disagreement.
 */
import { test } from "node:test";
import sharp from "sharp";
import { decodeImageSync } from "../../src/image/decode.js";
import { decodeImage } from "../../src/image/decode.node.js";
import type { RGBImage } from "../../src/image/config.js";
import { FUZZ_SCALE, FUZZ_SEED, FuzzRng, Tally, mutate, runCase, truncate, type Outcome } from "./harness.js";
import { fixture, jpegSeeds, mutateJpeg } from "./jpeg_cases.js";

const MAX_PIXELS = 1 << 22; // bounded memory: 4 Mpx at most per case
const SENTINEL = 0xa5;

/** Pixels from sharp as 8-bit RGB, or null when libvips refuses (`failOn: "truncated"`, as our sharp path). */
async function sharpRgb(b: Uint8Array): Promise<{ data: Uint8Array; width: number; height: number; alpha: boolean } | null> {
  try {
    const { data, info } = await sharp(b, { failOn: "truncated", limitInputPixels: MAX_PIXELS, sequentialRead: true }).raw().toBuffer({ resolveWithObject: true });
    const n = info.width * info.height;
    const rgb = new Uint8Array(n * 3);
    const c = info.channels;
    let alpha = false;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 3; j++) rgb[i * 3 + j] = data[i * c + (c >= 3 ? j : 0)]!;
      if ((c === 4 || c === 2) && data[i * c + c - 1]! !== 255) alpha = true;
    }
    return { data: rgb, width: info.width, height: info.height, alpha };
  } catch {
    return null;
  }
}

function samePixels(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Runs our decoder and sharp on one case and records agreement. */
async function differential(t: Tally, id: string, bytes: Uint8Array, name: string, opts: { depth?: boolean; exact?: boolean } = {}): Promise<Outcome<RGBImage | null>> {
  let out: Uint8Array | undefined;
  const o = await runCase(name, () =>
    decodeImageSync(bytes, { name, maxPixels: MAX_PIXELS }, (n) => (out = new Uint8Array(n).fill(SENTINEL))),
  );
  t.add(id, o);
  if (o.kind === "failure") return o;
  // the decoder writes pixels into the buffer it asked for: any byte changed means decoding got that far
  if (opts.depth && out && out.some((v) => v !== SENTINEL)) t.count("reached pixel decoding");
  const ours = o.kind === "accepted" ? o.value : null;
  if (o.kind === "accepted" && !ours) return o; // our decoders hand this one to sharp (CMYK)
  const ref = await sharpRgb(bytes);
  if (!ours && !ref) t.count("both refuse");
  else if (ours && ref) {
    if (ref.alpha) t.count("both accept (alpha: not compared)");
    else if (ours.width === ref.width && ours.height === ref.height && samePixels(ours.data, ref.data)) t.count("both accept, identical pixels");
    else {
      t.count("both accept, pixels differ");
      if (process.env.FUZZ_VERBOSE) console.log(`# disagree (pixels): ${id}`);
      if (opts.exact) t.fail(id, `pixels differ from libvips (${ours.width}x${ours.height} vs ${ref.width}x${ref.height})`);
    }
  } else if (ours) {
    t.count("we accept, libvips refuses");
    if (opts.exact) t.fail(id, "we accept, libvips refuses");
    if (process.env.FUZZ_VERBOSE) console.log(`# disagree (we accept): ${id}`);
  } else {
    t.count("we refuse, libvips accepts");
    if (opts.exact) t.fail(id, "we refuse, libvips accepts");
    if (process.env.FUZZ_VERBOSE) console.log(`# disagree (we refuse): ${id}`);
  }
  return o;
}

/**
 * Disagreements with libvips on mutated (not generated) files are counted, not failures: libvips
 * is not the reference's decoder (PIL's libjpeg handling differs again on corrupt data) and the
 * rest are corrupt-data recovery details. This ratchet keeps them from growing.
 */
function ratchet(t: Tally, maxRate: number): void {
  const dis = Object.entries(t.counters).filter(([k]) => /pixels differ|we accept, libvips|we refuse, libvips/.test(k)).reduce((a, [, v]) => a + v, 0);
  t.count("disagreements with libvips", dis);
  if (dis > maxRate * t.cases) t.fail("ratchet", `${dis} of ${t.cases} cases disagree with libvips, more than ${(maxRate * 100).toFixed(0)}%`);
}

test("fuzz: JPEG decoder vs libvips (truncations at many offsets, bit flips, Huffman tables, dimensions, scans)", async () => {
  const t = new Tally("jpeg");
  const seeds = await jpegSeeds();
  const rng = new FuzzRng(FUZZ_SEED, 1);
  for (const [name, b] of seeds) {
    await differential(t, `${name}`, b, `${name}.jpg`, { exact: true });
    // truncation at 40 offsets spread over the file (headers and scan)
    for (let k = 1; k <= 40; k++) {
      const at = Math.floor((k * b.length) / 41);
      const m = truncate(b, at);
      await differential(t, `${name} ${m.op}`, m.bytes, `${name}.jpg`, { depth: true, exact: true });
    }
  }
  const n = 1100 * FUZZ_SCALE;
  for (let i = 0; i < n; i++) {
    const [name, b] = seeds[i % seeds.length]!;
    const m = mutateJpeg(rng, b);
    await differential(t, `jpeg#${i} ${name} ${m.op}`, m.bytes, `case${i}.jpg`, { depth: true });
  }
  ratchet(t, 0.12);
  t.finish();
});

/** A minimal GIF encoder (uncompressed LZW: a clear code every few codes) for generated seeds. */
function gif(w: number, h: number, palette: number[][], index: (x: number, y: number) => number, opts: { transparent?: number; frames?: number } = {}): Uint8Array {
  const bits = Math.max(2, Math.ceil(Math.log2(palette.length)));
  const size = 1 << bits;
  const out: number[] = [..."GIF89a"].map((c) => c.charCodeAt(0));
  out.push(w & 255, w >> 8, h & 255, h >> 8, 0x80 | (bits - 1), 0, 0);
  for (let i = 0; i < size; i++) out.push(...(palette[i] ?? [0, 0, 0]));
  if (opts.frames && opts.frames > 1) out.push(0x21, 0xff, 11, ..."NETSCAPE2.0".split("").map((c) => c.charCodeAt(0)), 3, 1, 0, 0, 0);
  for (let f = 0; f < (opts.frames ?? 1); f++) {
    if (opts.transparent !== undefined) out.push(0x21, 0xf9, 4, 1, 10, 0, opts.transparent, 0);
    out.push(0x2c, 0, 0, 0, 0, w & 255, w >> 8, h & 255, h >> 8, 0);
    out.push(bits);
    // codes of bits+1 width; a clear code before the table would grow past that width
    const clear = size;
    const codeBits = bits + 1;
    const codes: number[] = [clear];
    let sinceClear = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (sinceClear === size - 3) {
          codes.push(clear);
          sinceClear = 0;
        }
        codes.push((index(x, y) + f) % palette.length);
        sinceClear++;
      }
    }
    codes.push(clear + 1);
    const data: number[] = [];
    let acc = 0;
    let nbits = 0;
    for (const c of codes) {
      acc |= c << nbits;
      nbits += codeBits;
      while (nbits >= 8) {
        data.push(acc & 255);
        acc >>= 8;
        nbits -= 8;
      }
    }
    if (nbits) data.push(acc & 255);
    for (let i = 0; i < data.length; i += 255) {
      const part = data.slice(i, i + 255);
      out.push(part.length, ...part);
    }
    out.push(0);
  }
  out.push(0x3b);
  return Uint8Array.from(out);
}

test("fuzz: GIF decoder vs libvips (generated, transparent, animated; truncated and mutated)", async () => {
  const t = new Tally("gif");
  const pal = [
    [200, 10, 10],
    [10, 200, 10],
    [10, 10, 200],
    [250, 250, 0],
    [0, 0, 0],
  ];
  const seeds: [string, Uint8Array][] = [
    ["opaque", gif(23, 17, pal, (x, y) => (x + 2 * y) % 5)],
    ["transparent", gif(16, 16, pal, (x, y) => (x ^ y) % 5, { transparent: 4 })],
    ["animated", gif(12, 9, pal, (x, y) => (x * y) % 5, { frames: 3 })],
    ["gray.gif", fixture("gray.gif")],
    ["trans_interlaced.gif", fixture("trans_interlaced.gif")],
  ];
  const rng = new FuzzRng(FUZZ_SEED, 2);
  for (const [name, b] of seeds) {
    await differential(t, name, b, `${name}.gif`, { exact: true });
    for (let k = 1; k <= 20; k++) {
      const m = truncate(b, Math.floor((k * b.length) / 21));
      await differential(t, `${name} ${m.op}`, m.bytes, `${name}.gif`, { exact: true });
    }
  }
  const n = 350 * FUZZ_SCALE;
  for (let i = 0; i < n; i++) {
    const [name, b] = seeds[i % seeds.length]!;
    const m = mutate(rng, b, 6);
    const o = await differential(t, `gif#${i} ${name} ${m.op}`, m.bytes, `case${i}.gif`);
    if (o.kind === "accepted") t.count("decoded");
    else if (o.kind === "refused" && /corrupt GIF data|image file is truncated|LZW/.test(o.message)) t.count("refused inside the LZW data");
  }
  ratchet(t, 0.2);
  t.finish();
});

/** A 24-bit or 8-bit palette BMP written by hand (libvips has no BMP loader: no differential here). */
function bmp(w: number, h: number, bits: 24 | 8, topDown = false): Uint8Array {
  const stride = Math.ceil((w * bits) / 32) * 4;
  const palette = bits === 8 ? 256 * 4 : 0;
  const off = 54 + palette;
  const b = new Uint8Array(off + stride * h);
  const dv = new DataView(b.buffer);
  b[0] = 0x42;
  b[1] = 0x4d;
  dv.setUint32(2, b.length, true);
  dv.setUint32(10, off, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, w, true);
  dv.setInt32(22, topDown ? -h : h, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, bits, true);
  dv.setUint32(34, stride * h, true);
  if (bits === 8) for (let i = 0; i < 256; i++) b.set([i, 255 - i, (i * 7) & 255, 0], 54 + i * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < (w * bits) / 8; x++) b[off + y * stride + x] = (x * 13 + y * 7) & 255;
  return b;
}

test("fuzz: BMP decoder (generated and the repo's fixtures: raw, palette, bitfields, RLE4/8; truncated and mutated)", async () => {
  const t = new Tally("bmp");
  const seeds: [string, Uint8Array][] = [
    ["gen24", bmp(19, 11, 24)],
    ["gen8", bmp(13, 7, 8, true)],
    ...["1.bmp", "l8.bmp", "p4.bmp", "p8.bmp", "rgb24.bmp", "rgb555.bmp", "rgb565_topdown.bmp", "rgba32.bmp", "rle4.bmp", "rle8.bmp"].map((f): [string, Uint8Array] => [f, fixture(f)]),
  ];
  const rng = new FuzzRng(FUZZ_SEED, 3);
  for (const [name, b] of seeds) {
    t.add(name, await runCase(`${name}.bmp`, () => decodeImageSync(b, { name: `${name}.bmp`, maxPixels: MAX_PIXELS })));
    for (let k = 1; k <= 12; k++) {
      const m = truncate(b, Math.floor((k * b.length) / 13));
      t.add(`${name} ${m.op}`, await runCase(`${name}.bmp`, () => decodeImageSync(m.bytes, { name: `${name}.bmp`, maxPixels: MAX_PIXELS })));
    }
  }
  const n = 400 * FUZZ_SCALE;
  for (let i = 0; i < n; i++) {
    const [name, b] = seeds[i % seeds.length]!;
    const m = mutate(rng, b, 2);
    const o = await runCase(`case${i}.bmp`, () => decodeImageSync(m.bytes, { name: `case${i}.bmp`, maxPixels: MAX_PIXELS }));
    t.add(`bmp#${i} ${name} ${m.op}`, o);
    if (o.kind === "accepted") t.count("decoded");
  }
  t.finish();
});

test("fuzz: the sharp path (PNG 8/16-bit, palette, CMYK JPEG, EXIF-rotated JPEG, WebP, TIFF) through decodeImage", async () => {
  const t = new Tally("sharp-path");
  const seeds = ["1.png", "i16.png", "la16.png", "rgb16.png", "p_trns.png", "rgba.png", "cmyk.jpg", "lossy.webp", "lossless_rgba.webp", "rgb.tif"].map(
    (f): [string, Uint8Array] => [f, fixture(f)],
  );
  const rng = new FuzzRng(FUZZ_SEED, 4);
  const n = 250 * FUZZ_SCALE;
  for (let i = 0; i < n; i++) {
    const [name, b] = seeds[i % seeds.length]!;
    const m = i < seeds.length ? { bytes: b, op: "as is" } : mutate(rng, b, 8);
    const o = await runCase(`case${i}-${name}`, () => decodeImage(m.bytes, { name: `case${i}-${name}`, maxPixels: MAX_PIXELS, applyExif: i % 2 === 0 }));
    t.add(`sharp#${i} ${name} ${m.op}`, o);
    if (o.kind === "accepted") t.count("decoded");
  }
  t.finish();
});
