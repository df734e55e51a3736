/**
 * @file The page in Debian's chromium (playwright-core), served from loopback with the cross-origin
 * isolation headers: fixture checkpoints' image (JPEG, PNG) and text embeddings equal Node's
 * ClipModel, a fixed training run ends on Node's loss and parameters, and no request leaves the server.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { ClipModel } from "../../src/clip/model.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/weights/checkpoint.js";
import { readSafetensorsFile } from "../../src/weights/files.js";
import { nodeBackend } from "../../src/runtime/session.js";
import { trainRun } from "../../src/web/browser/train.js";
import { runDemo } from "../../src/web/browser/demo.js";
import { checkpointFromBytes } from "../../src/weights/bytes.js";
import { serveStatic, type StaticServer } from "../../src/web/serve.node.js";
import { writeSite } from "../../src/web/site.node.js";
import { REFERENCE, ROOT } from "../helpers/shared.js";
import { assertParity } from "../helpers/parity.js";

const CHROMIUM = "/usr/bin/chromium";
const IMAGES = [
  path.join(ROOT, "test/image/fixtures/images/rgb.jpg"),
  path.join(ROOT, "test/image/fixtures/images/prog444.jpg"),
  path.join(ROOT, "test/image/fixtures/images/gray.jpg"),
  path.join(REFERENCE, "images/img0_640x480_RGB.png"),
  path.join(REFERENCE, "images/img5_257x256_RGBA.png"),
  path.join(REFERENCE, "images/img6_333x222_L.png"),
  path.join(REFERENCE, "images/img7_400x300_P.png"),
];
const TEXTS = ["a photo of a cat", "a diagram", "an emoji of a red car 🚗", "Über café"];

let dir: string;
let server: StaticServer;
let browser: Browser;
let page: Page;
const requested: string[] = [];
const consoleLines: string[] = [];

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-web-"));
  await writeSite(dir, { model: path.join(REFERENCE, "vit-tiny"), build: true });
  const rn = loadCheckpoint(path.join(REFERENCE, "rn-tiny"));
  saveCheckpoint(path.join(dir, "rn-tiny"), rn.config, rn.state, { preprocess: rn.preprocess, tokenizerFiles: [rn.tokenizer.bpe!] });
  fs.mkdirSync(path.join(dir, "img"));
  for (const f of IMAGES) fs.copyFileSync(f, path.join(dir, "img", path.basename(f)));
  fs.mkdirSync(path.join(dir, "train"));
  for (const f of ["open_clip_config.json", "open_clip_model.safetensors", "train.safetensors"]) {
    fs.copyFileSync(path.join(REFERENCE, "train-step", f), path.join(dir, "train", f));
  }
  // the page without data-model: the tests drive the API
  fs.writeFileSync(path.join(dir, "test.html"), '<!doctype html><meta charset="utf-8"><script type="module" src="clip.js"></script>');
  server = await serveStatic(dir);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage();
  page.on("request", (r) => requested.push(r.url()));
  page.on("console", (m) => consoleLines.push(m.text()));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(`${server.url}test.html`);
  await page.waitForFunction(() => "clipWeb" in globalThis, undefined, { timeout: 20_000 });
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("the page is cross-origin isolated and runs ORT's WASM backend with threads", async () => {
  const r = await page.evaluate(() => ({ isolated: globalThis.crossOriginIsolated, threads: (globalThis as never as { clipWeb: { webThreads(): number } }).clipWeb.webThreads() }));
  assert.equal(r.isolated, true);
  assert.ok(r.threads >= 1);
});

for (const [name, base] of [["vit-tiny", "model/"], ["rn-tiny", "rn-tiny/"]] as const) {
  test(`${name}: image (JPEG, PNG) and text embeddings in the page equal Node's ClipModel`, { timeout: 90_000 }, async () => {
    const files = IMAGES.map((f) => `img/${path.basename(f)}`);
    const got = await page.evaluate(async ({ base, files, texts }) => {
      type Api = typeof import("../../src/web/browser/main.js").api;
      const w = (globalThis as never as { clipWeb: Api }).clipWeb;
      const m = await w.loadModel(base);
      const bytes = await Promise.all(files.map((f) => w.fetchBytes(f)));
      const img = w.plain(await m.embedImages(bytes, false, files));
      const txt = w.plain(await m.embedTexts(texts, false));
      await m.dispose();
      return { img, txt };
    }, { base, files, texts: TEXTS });
    const model = await ClipModel.load(path.join(REFERENCE, name), { threads: 2 });
    try {
      const img = await model.embedImages(IMAGES, { normalize: false });
      const txt = await model.embedTexts(TEXTS, { normalize: false });
      assert.equal(got.img.n, IMAGES.length);
      assert.equal(got.txt.n, TEXTS.length);
      // every row's cosine >= 0.99999 and every element within 1e-4 of the largest magnitude
      assertParity(Float32Array.from(got.img.data), img.data, img.dims[1], `${name} images in the page`);
      assertParity(Float32Array.from(got.txt.data), txt.data, txt.dims[1], `${name} texts in the page`);
    } finally {
      await model.close();
    }
  });
}

test("a fixed 3-step training run in the page ends on Node's loss and parameters (within 1e-4)", { timeout: 90_000 }, async () => {
  const B = 6, STEPS = 3, LR = 1e-3;
  const got = await page.evaluate(async ({ B, STEPS, LR }) => {
    type Api = typeof import("../../src/web/browser/main.js").api;
    const w = (globalThis as never as { clipWeb: Api }).clipWeb;
    const [cfg, weights, data] = await Promise.all(["train/open_clip_config.json", "train/open_clip_model.safetensors", "train/train.safetensors"].map((f) => w.fetchBytes(f)));
    const ck = w.checkpointFromBytes(new TextDecoder().decode(cfg), weights, "train");
    const t = w.readSafetensors(data).tensors;
    const losses = await w.trainRun({ config: ck.config, state: ck.state, pixels: t.get("pixels")!.data as Float32Array, tokens: t.get("tokens")!.data as BigInt64Array, batch: B, steps: STEPS, lr: LR });
    const params: Record<string, number[]> = {};
    for (const [k, v] of ck.state) params[k] = Array.from(v.data);
    return { losses, params };
  }, { B, STEPS, LR });
  const ck = loadCheckpoint(path.join(REFERENCE, "train-step"));
  const t = readSafetensorsFile(path.join(REFERENCE, "train-step/train.safetensors")).tensors;
  const losses = await trainRun({ config: ck.config, state: ck.state, pixels: t.get("pixels")!.data as Float32Array, tokens: t.get("tokens")!.data as BigInt64Array, batch: B, steps: STEPS, lr: LR, backend: nodeBackend, threads: 2 });
  assert.equal(got.losses.length, STEPS);
  got.losses.forEach((l, i) => assert.ok(Math.abs(l - losses[i]) <= 1e-4, `step ${i}: loss ${l} in the page, ${losses[i]} in Node`));
  // the run moved the parameters far beyond the tolerance: equality below is not the initial state twice
  const init = loadCheckpoint(path.join(REFERENCE, "train-step")).state;
  let moved = 0;
  for (const [k, v] of ck.state) for (let i = 0; i < v.data.length; i++) moved = Math.max(moved, Math.abs(v.data[i] - init.get(k)!.data[i]));
  assert.ok(moved > 1e-3, `the run moved no parameter by more than ${moved}`);
  let n = 0;
  for (const [k, v] of ck.state) {
    const p = got.params[k];
    assert.ok(p, `the page lacks ${k}`);
    let d = 0;
    for (let i = 0; i < p.length; i++) d = Math.max(d, Math.abs(p[i] - v.data[i]));
    assert.ok(d <= 1e-4, `${k}: max diff ${d}`);
    n++;
  }
  assert.equal(n, Object.keys(got.params).length);
});

test("the demo trained in the page ends on the loss, parameters and zero-shot table of the same run in Node", { timeout: 120_000 }, async () => {
  const spec = { n: 64, steps: 3, batch: 8, seed: 3, evalN: 16 };
  const got = await page.evaluate(async (spec) => {
    type Api = typeof import("../../src/web/browser/main.js").api;
    const w = (globalThis as never as { clipWeb: Api }).clipWeb;
    const r = await w.runDemo(spec);
    const b64 = (b: Uint8Array): string => {
      let s = "";
      for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
      return btoa(s);
    };
    return { losses: r.losses, zeroshot: r.zeroshot, files: Object.fromEntries(Object.entries(r.files).map(([k, v]) => [k, b64(v)])) };
  }, spec);
  const want = await runDemo({ ...spec, backend: nodeBackend, threads: 2 });
  got.losses.forEach((l, i) => assert.ok(Math.abs(l - want.losses[i]!) <= 1e-4, `step ${i}: loss ${l} in the page, ${want.losses[i]} in Node`));
  const files = Object.fromEntries(Object.entries(got.files).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, "base64"))]));
  assert.deepEqual(Object.keys(files).sort(), Object.keys(want.files).sort());
  assert.ok(Buffer.from(files["bpe_simple_vocab_16e6.txt.gz"]!).equals(Buffer.from(want.files["bpe_simple_vocab_16e6.txt.gz"]!)), "the same vocabulary");
  // the page's checkpoint reads back (open_clip layout) and equals Node's run within 1e-4
  const ck = checkpointFromBytes(new TextDecoder().decode(files["open_clip_config.json"]), files["open_clip_model.safetensors"]!, "page");
  assert.deepEqual(ck.config, want.config);
  for (const [k, v] of want.state) {
    const p = ck.state.get(k)!.data;
    let d = 0;
    for (let i = 0; i < p.length; i++) d = Math.max(d, Math.abs(p[i]! - v.data[i]!));
    assert.ok(d <= 1e-4, `${k}: max diff ${d}`);
  }
  // written as a directory, it is a checkpoint Node's ClipModel loads, its tokenizer included
  const ckDir = path.join(dir, "demo-ckpt");
  fs.mkdirSync(ckDir);
  for (const [k, v] of Object.entries(files)) fs.writeFileSync(path.join(ckDir, k), v);
  const loaded = await ClipModel.load(ckDir, { threads: 2 });
  try {
    assert.equal((await loaded.embedTexts(["a red star."])).dims[1], want.config.embed_dim);
  } finally {
    await loaded.close();
  }
  for (const t of ["shape", "color", "count"] as const) {
    for (const split of ["heldout", "seen"] as const) assert.ok(Math.abs(got.zeroshot![t][split] - want.zeroshot![t][split]) <= 1 / spec.evalN + 1e-9, `${t} ${split}: ${got.zeroshot![t][split]} vs ${want.zeroshot![t][split]}`);
  }
});

test("the page made no request outside the local server", () => {
  assert.ok(requested.length > 5, `only ${requested.length} requests recorded`);
  const outside = requested.filter((u) => !u.startsWith(server.url) && !u.startsWith("blob:") && !u.startsWith("data:"));
  assert.deepEqual(outside, [], `requests outside ${server.url}`);
  assert.ok(requested.some((u) => u.endsWith("ort-wasm-simd-threaded.wasm")), "ORT's WASM came from the local server");
});
