/** @file RandomResizedCrop: deterministic for a seed, torchvision's box rules, same in the pool. */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { REFERENCE } from "../helpers/shared.js";
import {
  decodeImage,
  ImagePool,
  itemRng,
  mirrorRows,
  grayscaleRGB,
  OPENAI_MEAN,
  OPENAI_STD,
  randomResizedCrop,
  randomResizedCropBox,
  Rng,
  type PreprocessConfig,
} from "../../src/image/index.node.js";

const cfg: PreprocessConfig = { size: 48, mean: OPENAI_MEAN, std: OPENAI_STD };
const img0 = path.join(REFERENCE, "images/img0_640x480_RGB.png");
const img5 = path.join(REFERENCE, "images/img5_257x256_RGBA.png");

test("same seed gives the same tensor; another seed another", async () => {
  const img = await decodeImage(img0);
  const a = randomResizedCrop(img, cfg, new Rng(3));
  const b = randomResizedCrop(img, cfg, new Rng(3));
  const c = randomResizedCrop(img, cfg, new Rng(4));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.equal(a.length, 3 * 48 * 48);
  assert.ok(a.every((v) => Number.isFinite(v)));
});

test("boxes follow torchvision: inside the image, area 90-100% and aspect 3/4-4/3 (up to rounding), or the fallback", () => {
  const rng = new Rng(11);
  for (let i = 0; i < 2000; i++) {
    const [w, h] = [[640, 480], [300, 500], [224, 224], [37, 23]][i % 4]!;
    const b = randomResizedCropBox(w, h, rng);
    assert.ok(b.x >= 0 && b.y >= 0 && b.w >= 1 && b.h >= 1 && b.x + b.w <= w && b.y + b.h <= h, JSON.stringify(b));
    if (w >= 224) {
      // after 10 misses torchvision takes the central crop clamped to the ratio range: 300x400 of 300x500
      const area = (b.w * b.h) / (w * h);
      assert.ok((area > 0.88 && area <= 1.0) || (w === 300 && b.w === 300 && b.h === 400), `area ${area}`);
      const aspect = b.w / b.h;
      assert.ok(aspect > 0.74 && aspect < 1.35, `aspect ${aspect}`);
    }
  }
});

test("no valid box in 10 tries: torchvision's central fallback clamped to the ratio range", () => {
  // a 1000 x 10 strip can never hold a crop of aspect <= 4/3 with 90% of its area
  const b = randomResizedCropBox(1000, 10, new Rng(1));
  assert.deepEqual(b, { x: Math.floor((1000 - 13) / 2), y: 0, w: 13, h: 10 });
  const t = randomResizedCropBox(10, 1000, new Rng(1));
  assert.deepEqual(t, { x: 0, y: Math.floor((1000 - 13) / 2), w: 10, h: 13 });
});

test("pool augmentation is deterministic per (seed, index), whatever the thread count", async () => {
  const inputs = [img0, img5, img0, img5, img0];
  const p1 = new ImagePool(cfg, { threads: 1 });
  const p3 = new ImagePool(cfg, { threads: 3, chunk: 1 });
  try {
    const a = await p1.preprocessBatch(inputs, { augment: { seed: 9 } });
    const b = await p3.preprocessBatch(inputs, { augment: { seed: 9 } });
    const c = await p3.preprocessBatch(inputs, { augment: { seed: 10 } });
    const evalOut = await p3.preprocessBatch(inputs);
    assert.deepEqual(a.pixels, b.pixels);
    assert.notDeepEqual(a.pixels, c.pixels);
    assert.notDeepEqual(a.pixels, evalOut.pixels);
    const per = 3 * 48 * 48;
    // the same image at different indices gets different crops
    assert.notDeepEqual(a.pixels.subarray(per, 2 * per), a.pixels.subarray(3 * per, 4 * per));
  } finally {
    await p1.close();
    await p3.close();
  }
});

test("the pool passes the crop ranges (--aug-scale / --aug-ratio) to its workers", async () => {
  const img = await decodeImage(img0);
  const pool = new ImagePool(cfg, { threads: 2, chunk: 1 });
  try {
    for (const [scale, ratio] of [
      [[0.25, 0.25], [1, 1]],
      [[0.5, 0.8], [0.6, 0.9]],
    ] as [[number, number], [number, number]][]) {
      const got = await pool.preprocessBatch([img0, img0], { augment: { seed: 5, scale, ratio } });
      const per = 3 * 48 * 48;
      for (let i = 0; i < 2; i++) {
        // what the worker computes: the crop with these ranges and the image's own generator
        const want = randomResizedCrop(img, cfg, itemRng(5, i), scale, ratio);
        assert.deepEqual(got.pixels.subarray(i * per, (i + 1) * per), Float32Array.from(want));
      }
      const box = randomResizedCropBox(640, 480, itemRng(5, 0), scale, ratio);
      const area = (box.w * box.h) / (640 * 480);
      assert.ok(area >= scale[0] - 0.01 && area <= scale[1] + 0.01, `area ${area} outside ${scale}`);
    }
    const dflt = await pool.preprocessBatch([img0], { augment: { seed: 5 } });
    const small = await pool.preprocessBatch([img0], { augment: { seed: 5, scale: [0.25, 0.25] } });
    assert.notDeepEqual(dflt.pixels, small.pixels);
  } finally {
    await pool.close();
  }
});

test("hflip mirrors the crop it would have made (same box), and the pool passes it to its workers", async () => {
  const img = await decodeImage(img0);
  const n = 48;
  const plain = randomResizedCrop(img, cfg, new Rng(7));
  const flipped = randomResizedCrop(img, cfg, new Rng(7), undefined, undefined, undefined, 0, 1);
  const never = randomResizedCrop(img, cfg, new Rng(7), undefined, undefined, undefined, 0, 0);
  assert.deepEqual(never, plain);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) assert.equal(flipped[(c * n + y) * n + x], plain[(c * n + y) * n + (n - 1 - x)]);
    }
  }
  // an odd width keeps its middle column
  const rgb = Uint8Array.from({ length: 3 * 3 * 3 }, (_, i) => i);
  mirrorRows(rgb, 3);
  assert.deepEqual([...rgb.subarray(0, 9)], [6, 7, 8, 3, 4, 5, 0, 1, 2]);
  // p = 0.5 flips some images and not others, as the worker draws it
  const pool = new ImagePool(cfg, { threads: 2, chunk: 1 });
  try {
    const inputs = Array.from({ length: 8 }, () => img0);
    const got = await pool.preprocessBatch(inputs, { augment: { seed: 3, hflip: 0.5 } });
    const per = 3 * n * n;
    let flips = 0;
    for (let i = 0; i < inputs.length; i++) {
      const want = randomResizedCrop(img, cfg, itemRng(3, i), undefined, undefined, undefined, 0, 0.5);
      assert.deepEqual(got.pixels.subarray(i * per, (i + 1) * per), Float32Array.from(want));
      if (!randomResizedCrop(img, cfg, itemRng(3, i)).every((v, k) => v === want[k])) flips++;
    }
    assert.ok(flips > 0 && flips < inputs.length, `${flips} of ${inputs.length} flipped`);
  } finally {
    await pool.close();
  }
});

test("gray turns the crop it would have made into PIL's luma in every channel, and the pool passes it to its workers", async () => {
  // PIL's convert("L") of pure red, green, blue, white and a mid tone
  const rgb = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 10, 200, 90]);
  grayscaleRGB(rgb);
  assert.deepEqual([...rgb], [76, 76, 76, 150, 150, 150, 29, 29, 29, 255, 255, 255, 131, 131, 131]);
  const img = await decodeImage(img0);
  const n = 48;
  const flat: PreprocessConfig = { size: n, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
  const plain = randomResizedCrop(img, flat, new Rng(7));
  const gray = randomResizedCrop(img, flat, new Rng(7), undefined, undefined, undefined, 0, 0, 1);
  assert.deepEqual(randomResizedCrop(img, flat, new Rng(7), undefined, undefined, undefined, 0, 0, 0), plain, "gray 0 draws nothing");
  const per = n * n;
  for (let i = 0; i < per; i++) {
    // the luma of the colour crop's pixel, back through the same normalization
    const [r, g, b] = [0, 1, 2].map((c) => Math.round((plain[c * per + i]! * 0.25 + 0.5) * 255));
    const l = ((r! * 19595 + g! * 38470 + b! * 7471 + 0x8000) >> 16) / 255;
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(gray[c * per + i]! - (l - 0.5) / 0.25) < 1e-5, `pixel ${i} channel ${c}`);
  }
  const pool = new ImagePool(flat, { threads: 2, chunk: 1 });
  try {
    const inputs = Array.from({ length: 8 }, () => img0);
    const got = await pool.preprocessBatch(inputs, { augment: { seed: 3, gray: 0.5 } });
    let grays = 0;
    for (let i = 0; i < inputs.length; i++) {
      const want = randomResizedCrop(img, flat, itemRng(3, i), undefined, undefined, undefined, 0, 0, 0.5);
      assert.deepEqual(got.pixels.subarray(i * 3 * per, (i + 1) * 3 * per), Float32Array.from(want));
      if (want.subarray(0, per).every((v, k) => v === want[per + k])) grays++;
    }
    assert.ok(grays > 0 && grays < inputs.length, `${grays} of ${inputs.length} gray`);
  } finally {
    await pool.close();
  }
});
