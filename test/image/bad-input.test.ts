/**
 * @file Bad input never crashes and never yields a silent wrong tensor: truncated or corrupt
 * files, empty files, zero-size images, unsupported formats, 100-megapixel images and missing
 * files are UserErrors that name the file, or counted skips in a pool batch.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { UserError } from "../../src/errors.js";
import { decodeImage, ImagePool, OPENAI_MEAN, OPENAI_STD, preprocessImage, type PreprocessConfig } from "../../src/image/index.node.js";

const cfg: PreprocessConfig = { size: 32, mean: OPENAI_MEAN, std: OPENAI_STD };
let dir = "";
const files: Record<string, string> = {};

function crc32(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A PNG with only a valid IHDR (and a bogus IDAT): enough to be refused before decoding. */
function pngHeader(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", Buffer.from([1, 2, 3])), chunk("IEND", Buffer.alloc(0))]);
}

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "clip-image-bad-"));
  const w = (name: string, data: Uint8Array) => {
    files[name] = path.join(dir, name);
    writeFileSync(files[name]!, data);
  };
  const raw = Buffer.alloc(64 * 48 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7) & 255;
  const jpg = await sharp(raw, { raw: { width: 64, height: 48, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  const png = await sharp(raw, { raw: { width: 64, height: 48, channels: 3 } }).png().toBuffer();
  w("good.jpg", jpg);
  w("good.png", png);
  w("truncated.jpg", jpg.subarray(0, Math.floor(jpg.length / 2)));
  w("truncated.png", png.subarray(0, Math.floor(png.length / 2)));
  w("corrupt.jpg", Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from("this is not image data at all, just text")]));
  w("empty.png", Buffer.alloc(0));
  w("zero.png", pngHeader(0, 10));
  w("notes.txt", Buffer.from("just some text, not an image\n"));
  w("huge.png", pngHeader(10000, 10000)); // 100 megapixels
  // JPEG frame header 10000 x 10000, nothing after it
  w("huge.jpg", Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0x27, 0x10, 0x27, 0x10, 1, 1, 0x11, 0, 0xff, 0xd9]));
  // GIF logical screen 10000 x 10000
  w("huge.gif", Buffer.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x10, 0x27, 0x10, 0x27, 0, 0, 0, 0x3b]));
  // BMP 10000 x 10000 x 24-bit header only
  const bmp = Buffer.alloc(54);
  bmp.write("BM", 0, "ascii");
  bmp.writeUInt32LE(54, 10);
  bmp.writeUInt32LE(40, 14);
  bmp.writeInt32LE(10000, 18);
  bmp.writeInt32LE(10000, 22);
  bmp.writeUInt16LE(1, 26);
  bmp.writeUInt16LE(24, 28);
  w("huge.bmp", bmp);
  w("truncated.bmp", Buffer.concat([bmp.subarray(0, 18), Buffer.from([4, 0, 0, 0, 4, 0, 0, 0])]));
  w("truncated.gif", Buffer.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 4, 0, 4, 0, 0x80, 0, 0, 1, 2, 3]));
  files["missing.jpg"] = path.join(dir, "missing.jpg");
});

after(() => rmSync(dir, { recursive: true, force: true }));

const bad: [string, RegExp][] = [
  ["truncated.jpg", /truncated/],
  ["truncated.png", /./],
  ["corrupt.jpg", /./],
  ["empty.png", /empty file/],
  ["zero.png", /zero-size/],
  ["notes.txt", /unsupported/],
  ["huge.png", /10000x10000.*limit/],
  ["huge.jpg", /10000x10000.*limit/],
  ["huge.gif", /10000x10000.*limit/],
  ["huge.bmp", /10000x10000.*limit/],
  ["truncated.bmp", /./],
  ["truncated.gif", /truncated/],
  ["missing.jpg", /cannot read image file \(ENOENT\)/],
];

for (const [name, why] of bad) {
  test(`${name}: UserError naming the file`, async () => {
    await assert.rejects(decodeImage(files[name]!), (e: Error) => {
      assert.ok(e instanceof UserError, `expected UserError, got ${e.name}: ${e.message}`);
      assert.ok(e.message.includes(name), `message should name the file: ${e.message}`);
      assert.match(e.message, why);
      assert.ok(!e.message.includes("\n"), "one line");
      return true;
    });
    await assert.rejects(preprocessImage(files[name]!, cfg), UserError);
  });
}

test("bytes input: the error names the given name", async () => {
  await assert.rejects(decodeImage(new Uint8Array([1, 2, 3]), { name: "shard-7/000123.jpg" }), /shard-7\/000123\.jpg: .*unsupported/);
});

test("maxPixels is configurable", async () => {
  await assert.rejects(decodeImage(files["good.jpg"]!, { maxPixels: 1000 }), /64x48 = 3072 pixels, more than the limit of 1000/);
  await assert.rejects(decodeImage(files["good.png"]!, { maxPixels: 1000 }), UserError);
  assert.equal((await decodeImage(files["good.jpg"]!, { maxPixels: 3072 })).width, 64);
});

test("pool: bad files are counted skips with zero tensors; good ones are exact", async () => {
  const pool = new ImagePool(cfg, { threads: 2, chunk: 2 });
  try {
    const names = ["good.jpg", ...bad.map(([n]) => n), "good.png"];
    const r = await pool.preprocessBatch(names.map((n) => files[n]!), { skipBad: true });
    const per = 3 * 32 * 32;
    assert.equal(r.pixels.length, names.length * per);
    assert.deepEqual(r.ok, names.map((n) => n.startsWith("good")));
    assert.equal(r.errors.length, bad.length);
    for (const [i, n] of names.entries()) {
      const slot = r.pixels.subarray(i * per, (i + 1) * per);
      if (n.startsWith("good")) assert.deepEqual(slot, await preprocessImage(files[n]!, cfg));
      else assert.ok(slot.every((v) => v === 0), `${n}: skipped slot must be zeros`);
    }
    for (const [n] of bad) assert.ok(r.errors.some((e) => e.includes(n)), `no error names ${n}`);
    // without skipBad the batch fails with the first bad file's UserError, and the pool lives on
    await assert.rejects(pool.preprocessBatch([files["good.jpg"]!, files["corrupt.jpg"]!]), (e: Error) => {
      assert.ok(e instanceof UserError && e.message.includes("corrupt.jpg"), e.message);
      return true;
    });
    const again = await pool.preprocessBatch([files["good.png"]!]);
    assert.deepEqual(again.ok, [true]);
  } finally {
    await pool.close();
  }
});
