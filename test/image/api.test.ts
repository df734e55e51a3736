/** @file Config mapping, preprocessing of user-supplied pixels, EXIF option, pool = single-image path. */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import sharp from "sharp";
import { REFERENCE, ROOT, requireFiles } from "../helpers/shared.js";
import {
  decodeImage,
  ImagePool,
  OPENAI_MEAN,
  OPENAI_STD,
  preprocessConfigFrom,
  preprocessImage,
  preprocessRGB,
  type PreprocessConfig,
} from "../../src/image/index.node.js";

test("preprocessConfigFrom: OpenAI defaults, open_clip fields, validation", () => {
  assert.deepEqual(preprocessConfigFrom(undefined, 224), {
    size: 224,
    mean: OPENAI_MEAN,
    std: OPENAI_STD,
    interpolation: "bicubic",
    resizeMode: "shortest",
    fillColor: 0,
  });
  const c = preprocessConfigFrom({ mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], interpolation: "bilinear", resize_mode: "squash" }, [256, 256]);
  assert.equal(c.size, 256);
  assert.deepEqual(c.mean, [0.5, 0.5, 0.5]);
  assert.equal(c.interpolation, "bilinear");
  assert.equal(c.resizeMode, "squash");
  assert.throws(() => preprocessConfigFrom({ interpolation: "lanczos" }, 224), /interpolation/);
  assert.throws(() => preprocessConfigFrom({ resize_mode: "fit" }, 224), /resize_mode/);
  assert.throws(() => preprocessConfigFrom({ mean: [1, 2] }, 224), /mean/);
  assert.throws(() => preprocessConfigFrom(undefined, [224, 192]), /square/);
});

test("preprocessRGB on plain pixels equals the file path; writes at an offset", async () => {
  const file = path.join(REFERENCE, "images/img1_300x500_RGB.png");
  const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const cfg: PreprocessConfig = { size: 64, mean: OPENAI_MEAN, std: OPENAI_STD };
  const img = { width: info.width, height: info.height, data: new Uint8Array(data) };
  const out = new Float32Array(2 * 3 * 64 * 64);
  preprocessRGB(img, cfg, out, 3 * 64 * 64);
  assert.deepEqual(out.subarray(3 * 64 * 64), await preprocessImage(file, cfg));
  assert.ok(out.subarray(0, 3 * 64 * 64).every((v) => v === 0));
  assert.throws(() => preprocessRGB(img, cfg, new Float32Array(10)), RangeError);
  assert.throws(() => preprocessRGB({ width: 2, height: 2, data: new Uint8Array(5) }, cfg), RangeError);
});

test("EXIF orientation is ignored by default (as the reference) and applied on request", async () => {
  const raw = Buffer.alloc(40 * 20 * 3, 128);
  const jpg = await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const plain = await decodeImage(new Uint8Array(jpg));
  assert.deepEqual([plain.width, plain.height], [40, 20]);
  const turned = await decodeImage(new Uint8Array(jpg), { applyExif: true });
  assert.deepEqual([turned.width, turned.height], [20, 40]);
});

test("pool batch equals preprocessImage for every fixture, all resize modes", async () => {
  const dir = path.join(ROOT, "test/image/fixtures/images");
  const files = [...requireFiles(dir, /\./, 30).map((f) => path.join(dir, f)), ...requireFiles(path.join(REFERENCE, "images"), /\.png$/, 8).map((f) => path.join(REFERENCE, "images", f))];
  for (const resizeMode of ["shortest", "longest", "squash"] as const) {
    const cfg: PreprocessConfig = { size: 24, mean: OPENAI_MEAN, std: OPENAI_STD, resizeMode };
    const pool = new ImagePool(cfg, { threads: 2, chunk: 3 });
    try {
      const r = await pool.preprocessBatch(files, { skipBad: true });
      const per = 3 * 24 * 24;
      for (const [i, f] of files.entries()) {
        // every fixture is a valid image: the only refusal allowed is a side rounding to 0 pixels
        // (the 1023x17 image under "longest"), so a pool that decodes nothing fails here
        let want: Float32Array | null = null;
        try {
          want = await preprocessImage(f, cfg);
        } catch (e) {
          assert.match((e as Error).message, /too thin for resize mode "longest"/, f);
        }
        assert.equal(r.ok[i], want !== null, f);
        if (want) assert.deepEqual(r.pixels.subarray(i * per, (i + 1) * per), want, `${resizeMode} ${f}`);
      }
      assert.equal(r.errors.length, resizeMode === "longest" ? 1 : 0, r.errors.join("; "));
    } finally {
      await pool.close();
    }
  }
});

test("pool writes into a caller's reused SharedArrayBuffer", async () => {
  const cfg: PreprocessConfig = { size: 16, mean: OPENAI_MEAN, std: OPENAI_STD };
  const file = path.join(REFERENCE, "images/img3_100x150_RGB.png");
  const out = new Float32Array(new SharedArrayBuffer(4 * 3 * 16 * 16 * 4));
  const pool = new ImagePool(cfg, { threads: 1 });
  try {
    const r = await pool.preprocessBatch([file, file], { out });
    assert.equal(r.pixels.buffer, out.buffer);
    assert.deepEqual(out.subarray(0, 768), await preprocessImage(file, cfg));
    await assert.rejects(pool.preprocessBatch([file], { out: new Float32Array(10) }), RangeError);
    const buf = pool.allocBatch(3);
    assert.equal(buf.length, 3 * 3 * 16 * 16);
    assert.ok(buf.buffer instanceof SharedArrayBuffer);
  } finally {
    await pool.close();
  }
});
