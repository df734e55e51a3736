/** @file JPEG cases for the fuzz suite: generated seeds (sharp), the repo's fixtures, and JPEG-aware mutations. */
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { ROOT } from "../helpers/shared.js";
import { FuzzRng, mutate, type Mutant } from "./harness.js";

/** The image fixtures of the repository (test/image/fixtures/images). */
export const IMAGES = path.join(ROOT, "test/image/fixtures/images");

/** One fixture's bytes. */
export function fixture(name: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(path.join(IMAGES, name)));
}

/** A deterministic 8-bit RGB test picture: gradients, a hard edge and noise. */
function picture(w: number, h: number, seed: number): Buffer {
  const rng = new FuzzRng(seed, w, h);
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      b[i] = (x * 255) / w;
      b[i + 1] = x > w / 2 ? 230 : (y * 255) / h;
      b[i + 2] = rng.int(256);
    }
  }
  return b;
}

/** JPEG seeds: baseline 4:2:0 and 4:4:4, progressive, grey, with EXIF orientation, odd sizes; plus the repo's fixtures. */
export async function jpegSeeds(): Promise<[string, Uint8Array][]> {
  const raw = (w: number, h: number, s: number) => sharp(picture(w, h, s), { raw: { width: w, height: h, channels: 3 } });
  const seeds: [string, Uint8Array][] = [
    ["baseline420", await raw(40, 24, 1).jpeg({ quality: 75 }).toBuffer()],
    ["baseline444", await raw(33, 17, 2).jpeg({ quality: 90, chromaSubsampling: "4:4:4" }).toBuffer()],
    ["progressive", await raw(48, 32, 3).jpeg({ quality: 80, progressive: true }).toBuffer()],
    ["grey", await raw(31, 29, 4).greyscale().jpeg({ quality: 70 }).toBuffer()],
    ["exif6", await raw(24, 40, 5).jpeg({ quality: 60 }).withMetadata({ orientation: 6 }).toBuffer()],
    ["wide", await raw(200, 8, 6).jpeg({ quality: 50, optimiseCoding: false }).toBuffer()],
    ["rgb.jpg", fixture("rgb.jpg")],
    ["gray.jpg", fixture("gray.jpg")],
    ["prog444.jpg", fixture("prog444.jpg")],
  ];
  return seeds.map(([n, b]) => [n, new Uint8Array(b)]);
}

/** Offsets of a JPEG's segments of marker `m` (e.g. 0xc4 DHT): [start of payload, end). */
export function segments(b: Uint8Array, m: number): [number, number][] {
  const out: [number, number][] = [];
  let pos = 2;
  while (pos + 4 <= b.length && b[pos] === 0xff) {
    const marker = b[pos + 1]!;
    const len = (b[pos + 2]! << 8) | b[pos + 3]!;
    if (marker === m) out.push([pos + 4, Math.min(b.length, pos + 2 + len)]);
    if (marker === 0xda) break;
    pos += 2 + len;
  }
  return out;
}

/** Start of the first scan's entropy-coded data (after the SOS header). */
export function scanStart(b: Uint8Array): number {
  const sos = segments(b, 0xda)[0];
  return sos ? sos[1] : b.length;
}

/** JPEG-specific mutations: corrupted Huffman tables, extreme frame dimensions, damage inside the scan. */
export function mutateJpeg(rng: FuzzRng, b: Uint8Array): Mutant {
  const k = rng.int(10);
  if (k < 2) {
    const dht = segments(b, 0xc4);
    if (dht.length) {
      const [s, e] = rng.pick(dht);
      const out = b.slice();
      const i = s + rng.int(e - s);
      out[i] = k === 0 ? rng.int(256) : out[i]! ^ (1 << rng.int(8));
      return { bytes: out, op: `dht ${i}=${out[i]}` };
    }
  }
  if (k === 2) {
    const sof = [0xc0, 0xc1, 0xc2].flatMap((m) => segments(b, m))[0];
    if (sof) {
      const out = b.slice();
      const field = sof[0] + 1 + 2 * rng.int(2); // height or width
      const v = rng.pick([0, 1, 0xffff, 0x7fff, 4096, 3]);
      out[field] = v >> 8;
      out[field + 1] = v & 0xff;
      return { bytes: out, op: `sof-dim ${field}=${v}` };
    }
  }
  if (k < 7) return mutate(rng, b, scanStart(b)); // inside the entropy-coded data: decoding goes deep
  return mutate(rng, b);
}

