/**
 * @file The package as a user gets it: `npm pack`, installed offline into an empty project (the
 * versions of our lockfile, install scripts denied as the README says), then the README's API
 * example run there against the fixture checkpoints, compared with the reference's outputs.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readSafetensorsFile } from "../../src/weights/files.js";
import { REFERENCE, ROOT } from "../helpers/shared.js";

const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
let proj = "";

/** The ```js block of the README's "## API" section. */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## API\n"));
  const m = /```js\n([\s\S]*?)```/.exec(section);
  assert.ok(m, "README.md has an API section with a ```js example");
  return m[1]!;
}

/** A lockfile for a project that depends on the tarball only: our lockfile's production entries plus the tarball's. */
function lockfileFor(tgz: string, pkg: { version: string; dependencies: Record<string, string>; bin: Record<string, string> }): unknown {
  const ours = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
  const packages: Record<string, unknown> = { "": { name: "consumer", version: "1.0.0", dependencies: { "clip-ts": `file:${tgz}` } } };
  for (const [k, v] of Object.entries(ours.packages)) if (k !== "" && !v.dev) packages[k] = v;
  const integrity = `sha512-${crypto.createHash("sha512").update(fs.readFileSync(tgz)).digest("base64")}`;
  packages["node_modules/clip-ts"] = { version: pkg.version, resolved: `file:${tgz}`, integrity, dependencies: pkg.dependencies, bin: pkg.bin };
  return { name: "consumer", version: "1.0.0", lockfileVersion: 3, requires: true, packages };
}

before(() => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-pack-"));
  // dist/ is built by the test command; --ignore-scripts keeps pack from building it again
  const out = execFileSync(NPM, ["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], { cwd: ROOT, encoding: "utf8" });
  const tgz = path.join(tmp, (JSON.parse(out) as { filename: string }[])[0]!.filename);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  proj = path.join(tmp, "consumer");
  fs.mkdirSync(proj);
  const manifest = { name: "consumer", version: "1.0.0", private: true, type: "module", dependencies: { "clip-ts": `file:${tgz}` }, allowScripts: { "onnxruntime-node": false } };
  fs.writeFileSync(path.join(proj, "package.json"), JSON.stringify(manifest, null, 2));
  fs.writeFileSync(path.join(proj, "package-lock.json"), JSON.stringify(lockfileFor(tgz, pkg), null, 2));
  execFileSync(NPM, ["ci", "--offline", "--no-audit", "--no-fund"], { cwd: proj, stdio: ["ignore", "ignore", "pipe"] });
  fs.writeFileSync(path.join(proj, "embed.mjs"), readmeExample());
});

after(() => {
  if (proj) fs.rmSync(path.dirname(proj), { recursive: true, force: true });
});

test("the tarball ships the built library, its types and the bin, not the tests", () => {
  const root = path.join(proj, "node_modules", "clip-ts");
  for (const f of ["dist/pkg/index.js", "dist/pkg/graph.js", "dist/pkg/search.js", "dist/src/index.d.ts", "dist/src/graph.d.ts", "dist/src/cli/main.js", "bin/clip.js", "README.md"]) assert.ok(fs.existsSync(path.join(root, f)), f);
  assert.ok(!fs.existsSync(path.join(root, "dist/test")), "no compiled tests");
  // src/ holds only the page's plain files (src/web/static, served by `clip serve`), no TypeScript
  const srcFiles = fs.existsSync(path.join(root, "src")) ? (fs.readdirSync(path.join(root, "src"), { recursive: true }) as string[]) : [];
  assert.deepEqual(srcFiles.filter((f) => /\.ts$/.test(f)), [], "no TypeScript sources");
  assert.ok(fs.existsSync(path.join(root, "src/web/static/index.html")), "the page's files");
});

for (const name of ["vit-tiny", "rn-tiny"]) {
  test(`the README's API example in a fresh project: ${name} embeds with parity to the reference`, () => {
    const dir = path.join(REFERENCE, name);
    const e = JSON.parse(fs.readFileSync(path.join(dir, "e2e.json"), "utf8")) as { images: string[]; texts: string[] };
    const images = e.images.map((f) => path.join(REFERENCE, "images", f));
    const r = spawnSync(process.execPath, ["embed.mjs", dir, ...images, "--", ...e.texts], { cwd: proj, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "", "nothing on stderr");
    const got = JSON.parse(r.stdout) as { dims: [number, number][]; logitScale: number; image_embeddings: number[]; text_embeddings: number[]; logits_per_image: number[]; best: string[] };
    const ref = readSafetensorsFile(path.join(dir, "e2e.safetensors")).tensors;
    const d = got.dims[0]![1];
    assert.deepEqual(got.dims, [[images.length, d], [e.texts.length, d]]);
    for (const [ours, theirs] of [[got.image_embeddings, "image_features"], [got.text_embeddings, "text_features"]] as const) {
      const want = ref.get(theirs)!.data as Float32Array;
      for (let i = 0; i < want.length / d; i++) {
        const a = ours.slice(i * d, (i + 1) * d);
        const b = Array.from(want.subarray(i * d, (i + 1) * d));
        const nb = Math.hypot(...b);
        const cos = a.reduce((s, x, j) => s + x * b[j]!, 0) / (Math.hypot(...a) * nb);
        assert.ok(cos >= 0.99999, `${theirs} row ${i}: cosine ${cos}`);
        assert.ok(Math.abs(Math.hypot(...a) - 1) < 1e-5, `${theirs} row ${i} is unit-norm`);
      }
    }
    const want = ref.get("logits_per_image")!.data as Float32Array;
    assert.equal(got.logits_per_image.length, want.length);
    got.logits_per_image.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= 1e-3, `logit ${i}: ${v} vs ${want[i]}`));
    // logitScale * cosine, where cosine is the image row . text row
    const cos00 = got.image_embeddings.slice(0, d).reduce((s, x, j) => s + x * got.text_embeddings[j]!, 0);
    assert.ok(Math.abs(got.logits_per_image[0]! - got.logitScale * cos00) < 1e-4);
    assert.equal(got.best.length, images.length);
  });
}

test("the graph entry point and the bin work from the installed package, with a clean stderr", () => {
  const g = spawnSync(process.execPath, ["--input-type=module", "-e", 'import { T, grad } from "clip-ts/graph"; const w = T.param("w", [2]); console.log(grad(T.reduceSum(T.mul(w, w), [0]), [w]).length);'], { cwd: proj, encoding: "utf8" });
  assert.equal(g.status, 0, g.stderr);
  assert.equal(g.stdout.trim(), "1");
  const bin = spawnSync(path.join(proj, "node_modules", ".bin", "clip"), ["--help"], { cwd: proj, encoding: "utf8" });
  assert.equal(bin.status, 0, bin.stderr);
  assert.match(bin.stdout, /Usage: clip/);
  assert.equal(bin.stderr, "");
  const npx = spawnSync(NPM, ["exec", "--offline", "--", "clip", "--help"], { cwd: ROOT, encoding: "utf8" });
  assert.equal(npx.status, 0, npx.stderr);
  assert.equal(npx.stderr, "", "npx clip in the repository prints no npm warning");
});

test("the bundled entries start their workers by URL: a two-thread logistic regression fits bit-identically to one thread", () => {
  // eval/linear_probe starts ./probe_worker.js by URL from a chunk of dist/pkg/: the worker must sit beside it
  const code = `
    import { fitLogisticRegression, Rng } from "clip-ts";
    const n = 600, dim = 8, numClasses = 3, rng = new Rng(1);
    const x = new Float32Array(n * dim).map(() => rng.normal());
    const y = Int32Array.from({ length: n }, (_, i) => i % numClasses);
    for (let i = 0; i < n; i++) x[i * dim + y[i]] += 2;
    const fit = (threads) => fitLogisticRegression({ x, n, dim, y, numClasses }, { C: 1, threads }).model;
    const a = fit(1), b = fit(2);
    console.log(JSON.stringify({ same: a.coef.every((v, i) => v === b.coef[i]), w0: a.coef[0] }));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: proj, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { same: boolean; w0: number };
  assert.ok(got.same && Number.isFinite(got.w0) && got.w0 !== 0, r.stdout);
});

test("clip web works from the installed package: the shipped bundle and ORT WASM files, no esbuild or onnxruntime-web needed", () => {
  const root = path.join(proj, "node_modules", "clip-ts");
  for (const f of ["dist/web/clip.js", "dist/web/ort/ort-wasm-simd-threaded.mjs", "dist/web/ort/ort-wasm-simd-threaded.wasm"]) assert.ok(fs.existsSync(path.join(root, f)), f);
  assert.ok(!fs.existsSync(path.join(proj, "node_modules", "esbuild")) && !fs.existsSync(path.join(proj, "node_modules", "onnxruntime-web")), "development dependencies stay out");
  const r = spawnSync(path.join(proj, "node_modules", ".bin", "clip"), ["web", "--model", path.join(REFERENCE, "vit-tiny"), "--out", "site", "--json"], { cwd: proj, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { files: string[] };
  for (const f of ["index.html", "clip.js", "ort/ort-wasm-simd-threaded.wasm", "model/open_clip_model.safetensors"]) assert.ok(got.files.includes(f) && fs.existsSync(path.join(proj, "site", f)), f);
  assert.ok(fs.readFileSync(path.join(proj, "site", "clip.js")).equals(fs.readFileSync(path.join(root, "dist/web/clip.js"))), "the shipped bundle");
});
