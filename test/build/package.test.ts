/**
 * @file The package bundle (src/build/package.node.ts): every worker started by URL becomes an entry
 * beside the chunks, and a bundle that refers to a sibling it did not write fails the build; what a
 * fresh import of the main entry loads, and what it leaves for first use.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { checkSiblings, inlineLoadedImports, rootsSharingMain, workerEntries } from "../../src/build/package.node.js";
import type { Metafile } from "esbuild";
import { unzipSync } from "fflate";
import { InternalError } from "../../src/errors.js";
import { zipOf } from "../fuzz/zip.js";

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

test("a dynamic import of a module the entry loads anyway becomes its namespace; others stay dynamic", () => {
  const dir = path.join(os.tmpdir(), "src");
  const loaded = new Set([path.join(dir, "a.js"), path.join(dir, "sub", "b.js")]);
  const source = 'const a = await import("./a.js"); const c = await import("./c.js"); const b = import("./sub/b.js"); const n = await import("node:fs");';
  const r = inlineLoadedImports(source, path.join(dir, "m.js"), loaded);
  assert.equal(r.rewritten, 2);
  assert.equal(
    r.source,
    'import * as __loaded0 from "./a.js";import * as __loaded1 from "./sub/b.js";const a = await Promise.resolve(__loaded0); const c = await import("./c.js"); const b = Promise.resolve(__loaded1); const n = await import("node:fs");',
  );
  // relative to the importing module's folder: the same specifier from another folder is another module
  assert.equal(inlineLoadedImports(source, path.join(dir, "sub", "m.js"), loaded).rewritten, 0);
});

test("the roots to anchor to the main entry: other entries and dynamically imported modules that reach what the main entry loads", () => {
  const cwd = path.join(os.tmpdir(), "proj");
  // main -> a -> errors; main imports d1 dynamically (d1 -> errors), and d2 (reaches nothing of main);
  // graph -> errors; the search entry is main itself plus more
  const inputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[] }> = {
    "src/main.js": { imports: [{ path: "src/a.js", kind: "import-statement" }, { path: "src/d1.js", kind: "dynamic-import" }, { path: "src/d2.js", kind: "dynamic-import" }, { path: "node:fs", kind: "import-statement", external: true }] },
    "src/a.js": { imports: [{ path: "src/errors.js", kind: "import-statement" }] },
    "src/errors.js": { imports: [] },
    "src/d1.js": { imports: [{ path: "src/errors.js", kind: "import-statement" }] },
    "src/d2.js": { imports: [{ path: "src/leaf.js", kind: "import-statement" }] },
    "src/leaf.js": { imports: [] },
    "src/graph.js": { imports: [{ path: "src/errors.js", kind: "import-statement" }, { path: "src/a.js", kind: "dynamic-import" }] },
  };
  const meta = { inputs, outputs: {} } as unknown as Metafile;
  const at = (f: string): string => path.join(cwd, "src", f);
  const loaded = new Set([at("main.js"), at("a.js"), at("errors.js")]);
  // a.js is loaded (its dynamic import from graph.js is no root to anchor); d2 reaches nothing loaded
  assert.deepEqual(rootsSharingMain(meta, loaded, [at("main.js"), at("graph.js")], cwd).sort(), [at("d1.js"), at("graph.js")].sort());
});

test("a fresh import of the main entry reads at most four files of the bundle; the graph entry does not load ClipModel", () => {
  const pkg = path.join(DIST_SRC, "..", "pkg");
  const closure = (entry: string): string[] => {
    const seen = new Set<string>();
    const todo = [entry];
    while (todo.length > 0) {
      const f = todo.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      for (const m of fs.readFileSync(path.join(pkg, f), "utf8").matchAll(/(?:\bfrom|\bimport)\s*"\.\/([^"]+)"/g)) todo.push(m[1]!);
    }
    return [...seen];
  };
  const main = closure("index.js");
  assert.ok(main.length <= 4, `index.js loads ${main.length} files: ${main.join(", ")}`);
  assert.ok(main.some((f) => /__name\(this,"ClipModel"\)/.test(fs.readFileSync(path.join(pkg, f), "utf8"))), "ClipModel is in the main entry's files");
  for (const f of closure("graph.js")) assert.doesNotMatch(fs.readFileSync(path.join(pkg, f), "utf8"), /__name\(this,"ClipModel"\)/, `graph.js loads ${f}`);
});

test("a fresh import of the bundle loads no stream, crypto, zlib or worker module and no fflate; a deflated checkpoint loads fflate and reads as dist/src reads it", () => {
  // openai_vit_tiny.pt written again with every entry deflated
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-bundle-"));
  try {
    const stored = unzipSync(new Uint8Array(fs.readFileSync(path.join(DIST_SRC, "..", "..", "test", "fixtures", "torch", "openai_vit_tiny.pt"))));
    const pt = path.join(dir, "deflated.pt");
    fs.writeFileSync(pt, zipOf(Object.entries(stored), { deflate: true }));
    const script = `
      import { createRequire } from "node:module";
      import { createHash } from "node:crypto";
      const before = new Set(process.moduleLoadList);
      const pkg = await import(${JSON.stringify(path.join(DIST_SRC, "..", "pkg", "index.js"))});
      const builtins = process.moduleLoadList.filter((m) => !before.has(m) && /stream|crypto|zlib|worker/.test(m));
      const cache = createRequire(import.meta.url).cache;
      const fflateAtImport = Object.keys(cache).some((k) => k.includes("fflate"));
      const digest = (ck) => { const h = createHash("sha256"); for (const [k, t] of [...ck.state].sort()) h.update(k + t.shape.join(",")).update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)); return h.digest("hex"); };
      const a = pkg.loadCheckpoint(${JSON.stringify(pt)});
      const b = (await import(${JSON.stringify(path.join(DIST_SRC, "weights", "checkpoint.js"))})).loadCheckpoint(${JSON.stringify(pt)});
      console.log(JSON.stringify({ builtins, fflateAtImport, fflateAfterLoad: Object.keys(cache).some((k) => k.includes("fflate")), tensors: a.state.size, same: digest(a) === digest(b) }));
    `;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { tensors: number };
    assert.ok(out.tensors > 10, r.stdout);
    assert.deepEqual(out, { builtins: [], fflateAtImport: false, fflateAfterLoad: true, tensors: out.tensors, same: true });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the bundle's exported classes and functions keep their names (ClipModel, not esbuild's _ClipModel)", async () => {
  for (const entry of ["index.js", "graph.js"]) {
    const mod = (await import(path.join(DIST_SRC, "..", "pkg", entry))) as Record<string, unknown>;
    // embedDatasetImages is embedImages re-exported under another name
    const renamed = Object.entries(mod).filter(([k, v]) => typeof v === "function" && v.name !== k && k !== "embedDatasetImages");
    assert.deepEqual(renamed.map(([k, v]) => `${k} is named ${(v as { name: string }).name}`), [], entry);
  }
});
