/**
 * @file The package bundle (src/build/package.node.ts): every worker started by URL becomes an entry
 * beside the chunks, and a bundle that refers to a sibling it did not write fails the build.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkSiblings, workerEntries } from "../../src/build/package.node.js";
import { InternalError } from "../../src/errors.js";

const DIST_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src");

test("the workers started by URL are found in the compiled sources, each under its own name", () => {
  const w = workerEntries(DIST_SRC);
  assert.equal(w["worker.node"], path.join("image", "worker.node.js"));
  assert.equal(w["probe_worker"], path.join("eval", "probe_worker.js"));
  assert.equal(w["worker"], path.join("data", "synth", "worker.js"));
});

test("two workers with one name, or a reference to a missing file, stop the build", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-bundle-"));
  try {
    for (const sub of ["a", "b"]) {
      fs.mkdirSync(path.join(dir, sub));
      fs.writeFileSync(path.join(dir, sub, "w.js"), "");
      fs.writeFileSync(path.join(dir, sub, "m.js"), 'new Worker(new URL("./w.js", import.meta.url));');
    }
    assert.throws(() => workerEntries(dir), (e: unknown) => e instanceof InternalError && /share the name w\.js/.test(e.message));
    fs.rmSync(path.join(dir, "b"), { recursive: true });
    assert.deepEqual(workerEntries(dir), { w: path.join("a", "w.js") });
    fs.rmSync(path.join(dir, "a", "w.js"));
    assert.throws(() => workerEntries(dir), /starts \.\/w\.js, which does not exist/);
    // the bundle check: a flat folder whose chunk starts a worker that was not written
    fs.writeFileSync(path.join(dir, "chunk-X.js"), 'new Worker(new URL("./probe_worker.js", import.meta.url));');
    assert.throws(() => checkSiblings(dir), /starts \.\/probe_worker\.js, which the bundle did not write/);
    fs.writeFileSync(path.join(dir, "probe_worker.js"), "");
    checkSiblings(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the built package (dist/pkg) holds the three public entries and every worker", () => {
  const pkg = path.join(DIST_SRC, "..", "pkg");
  for (const f of ["index.js", "graph.js", "search.js", ...Object.keys(workerEntries(DIST_SRC)).map((n) => `${n}.js`)]) assert.ok(fs.existsSync(path.join(pkg, f)), f);
  checkSiblings(pkg);
});
