/**
 * @file Our JPEG decoder is bit-exact with libjpeg-turbo (Pillow's decode, and sharp's libvips):
 * restart intervals and every chroma sampling, baseline and progressive, grey, odd sizes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { ROOT, requireFiles } from "../helpers/shared.js";
import { decodeJpeg } from "../../src/image/jpeg.js";
import { decodeImage } from "../../src/image/index.node.js";

const DIR = path.join(ROOT, "test/image/fixtures/jpeg");

for (const file of requireFiles(DIR, /\.jpg$/, 9)) {
  test(`${file} decodes exactly as Pillow (libjpeg-turbo)`, async () => {
    const want = readFileSync(path.join(DIR, file.replace(/\.jpg$/, ".rgb")));
    // 4:1:1 is outside our decoder: decodeImage falls back to sharp, which must agree too
    const img = await decodeImage(path.join(DIR, file));
    assert.equal(img.data.length, want.length);
    assert.ok(Buffer.from(img.data).equals(want), `${file}: pixels differ from Pillow's decode`);
    const own = decodeJpeg(new Uint8Array(readFileSync(path.join(DIR, file))));
    if (file.startsWith("411")) assert.equal(own, null, "4:1:1 is left to sharp");
    else assert.ok(own && Buffer.from(own.data).equals(want), `${file}: own decoder differs`);
  });
}

/** A synthetic photo-like RGB image: gradients, a disc, deterministic noise. */
function synthetic(w: number, h: number): Buffer {
  const b = Buffer.alloc(w * h * 3);
  let s = 12345;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const noise = (s >>> 24) % 41;
      const disc = (x - w / 2) ** 2 + (y - h / 3) ** 2 < (Math.min(w, h) / 3) ** 2;
      const i = (y * w + x) * 3;
      b[i] = Math.max(0, Math.min(255, Math.floor((x * 255) / Math.max(1, w - 1)) + noise - 20));
      b[i + 1] = Math.max(0, Math.min(255, Math.floor((y * 255) / Math.max(1, h - 1)) + noise - 20));
      b[i + 2] = disc ? 230 : 20 + noise;
    }
  }
  return b;
}

type JpegOptions = Parameters<ReturnType<typeof sharp>["jpeg"]>[0];
const variants: [string, JpegOptions, boolean][] = [
  ["baseline 4:2:0", { quality: 90 }, false],
  ["baseline 4:4:4", { quality: 95, chromaSubsampling: "4:4:4" }, false],
  ["progressive 4:2:0", { quality: 85, progressive: true }, false],
  ["progressive optimised scans 4:4:4", { quality: 97, progressive: true, optimiseScans: true, chromaSubsampling: "4:4:4" }, false],
  ["grey progressive", { quality: 80, progressive: true }, true],
];
for (const [w, h] of [[1, 1], [2, 3], [17, 9], [9, 33], [64, 48], [257, 31]] as const) {
  for (const [name, opts, grey] of variants) {
    test(`${name} ${w}x${h}: own decoder equals libvips`, async () => {
      let pipeline = sharp(synthetic(w, h), { raw: { width: w, height: h, channels: 3 } });
      if (grey) pipeline = pipeline.toColourspace("b-w");
      const jpg = await pipeline.jpeg(opts).toBuffer();
      const ref = await sharp(jpg).raw().toBuffer({ resolveWithObject: true });
      const own = decodeJpeg(new Uint8Array(jpg));
      assert.ok(own, "decoder declined a plain JPEG");
      assert.equal(own.mode, grey ? "L" : "RGB");
      const n = w * h;
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < 3; c++) {
          const r = ref.data[i * ref.info.channels + (ref.info.channels === 1 ? 0 : c)]!;
          if (own.data[i * 3 + c] !== r) assert.fail(`pixel ${i} channel ${c}: ${own.data[i * 3 + c]} vs libvips ${r}`);
        }
      }
    });
  }
}

test("straight-to-tensor decoding equals decode, crop and normalize, for any window", async () => {
  const { normalizeLut, toTensor } = await import("../../src/image/transform.js");
  const lut = normalizeLut([0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]);
  for (const [w, h, opts, grey] of [
    [37, 29, { quality: 90 }, false],
    [40, 31, { quality: 92, chromaSubsampling: "4:4:4" }, false],
    [35, 33, { quality: 85, progressive: true }, false],
    [33, 34, { quality: 80 }, true],
  ] as [number, number, JpegOptions, boolean][]) {
    let pipeline = sharp(synthetic(w, h), { raw: { width: w, height: h, channels: 3 } });
    if (grey) pipeline = pipeline.toColourspace("b-w");
    const jpg = new Uint8Array(await pipeline.jpeg(opts).toBuffer());
    const full = decodeJpeg(jpg)!;
    for (const [x0, y0, n] of [[0, 0, 29], [1, 1, 27], [3, 2, 24], [7, 5, 21], [w - 9, h - 9, 9]] as const) {
      const crop = new Uint8Array(n * n * 3);
      for (let y = 0; y < n; y++) crop.set(full.data.subarray(((y0 + y) * w + x0) * 3, ((y0 + y) * w + x0 + n) * 3), y * n * 3);
      const want = new Float32Array(3 * n * n);
      toTensor(crop, n, lut, want, 0);
      const got = new Float32Array(3 * n * n + 5);
      assert.ok(decodeJpeg(jpg, Infinity, undefined, { x0, y0, n, lut, out: got, offset: 5 }));
      assert.deepEqual(got.subarray(5), want, `${w}x${h} ${JSON.stringify(opts)} window ${x0},${y0},${n}`);
    }
  }
});
