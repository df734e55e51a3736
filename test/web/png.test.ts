/** @file The browser's PNG decoder (image/png.ts) gives the pixels and PIL mode Node's sharp path gives, for every PNG fixture. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { decodeImage } from "../../src/image/index.node.js";
import { decodePng } from "../../src/image/png.js";
import { DEFAULT_MAX_PIXELS } from "../../src/image/decode.js";
import { REFERENCE, ROOT, requireFiles } from "../helpers/shared.js";

const dirs = [path.join(ROOT, "test/image/fixtures/images"), path.join(REFERENCE, "images")];

for (const dir of dirs) {
  for (const f of requireFiles(dir, /\.png$/, 5)) {
    test(`PNG ${path.basename(dir)}/${f} decodes as sharp does`, async () => {
      const file = path.join(dir, f);
      const want = await decodeImage(file);
      const got = decodePng(new Uint8Array(fs.readFileSync(file)), DEFAULT_MAX_PIXELS);
      assert.equal(got.mode ?? "RGB", want.mode ?? "RGB");
      assert.deepEqual([got.width, got.height], [want.width, want.height]);
      assert.ok(Buffer.from(got.data).equals(Buffer.from(want.data)), "RGB bytes differ");
      for (const k of ["alpha", "gray32", "palette"] as const) {
        assert.equal(!!got[k], !!want[k], `${k} present`);
        if (want[k]) assert.deepEqual(Array.from(got[k]!), Array.from(want[k]!), k);
      }
    });
  }
}

test("a corrupt PNG is an ImageFormatError", () => {
  const b = new Uint8Array(fs.readFileSync(path.join(REFERENCE, "images/img2_224x224_RGB.png")));
  assert.throws(() => decodePng(b.subarray(0, 200), DEFAULT_MAX_PIXELS), { name: "ImageFormatError" });
});
