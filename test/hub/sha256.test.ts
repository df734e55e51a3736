/** @file The download hash: inline and in a worker thread, with a resumed prefix, equal to crypto's sha256. */
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sha256For } from "../../src/weights/hub/sha256.js";

test("sha256 of a prefix on disk plus chunks, inline and in the worker (40 MiB), equals crypto's", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-sha-"));
  try {
    for (const size of [100_000, 40 << 20]) {
      const bytes = crypto.randomBytes(size);
      const want = crypto.createHash("sha256").update(bytes).digest("hex");
      const prefix = Math.floor(size / 3);
      fs.writeFileSync(path.join(tmp, "part"), bytes.subarray(0, prefix));
      const h = sha256For(size);
      try {
        h.prefix(path.join(tmp, "part"), prefix);
        for (let off = prefix; off < size; off += 1 << 18) await h.update(Uint8Array.prototype.slice.call(bytes, off, Math.min(size, off + (1 << 18))));
        assert.equal(await h.digest(), want, `${size} bytes`);
      } finally {
        h.close();
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
