/**
 * @file `clip web --serve` end to end: the CLI writes and serves the site with the isolation headers,
 * the page loads its checkpoint, zero-shot classifies images dropped on it (ranked as Node's
 * ClipModel ranks them) and orders them for a text query; user mistakes exit 2 with one line.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { ClipModel } from "../../src/clip/model.js";
import { CLI, REFERENCE, ROOT } from "../helpers/shared.js";

const MODEL = path.join(REFERENCE, "vit-tiny");
const IMAGES = [path.join(ROOT, "test/image/fixtures/images/rgb.jpg"), path.join(REFERENCE, "images/img0_640x480_RGB.png"), path.join(REFERENCE, "images/img6_333x222_L.png")];
const LABELS = ["cat", "dog", "diagram"];

let dir: string;
let child: ChildProcess;
let url: string;
let browser: Browser;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-site-"));
  child = spawn(process.execPath, [CLI, "web", "--model", MODEL, "--out", path.join(dir, "site"), "--serve", "--port", "0", "--json"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`clip web --serve printed no URL in 60 s: ${out}`)), 60_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /"url":"([^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => reject(new Error(`clip web exited with ${code}: ${out}`)));
  });
  // the dropped files, served by the same server so the page can build File objects from them
  fs.mkdirSync(path.join(dir, "site", "drop"));
  for (const f of IMAGES) fs.copyFileSync(f, path.join(dir, "site", "drop", path.basename(f)));
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  if (child && child.exitCode === null) child.kill("SIGTERM");
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("the served page classifies dropped images as Node does and ranks them for a query", { timeout: 90_000 }, async () => {
  const page = await browser.newPage();
  const res = await page.goto(url);
  assert.equal(res!.headers()["cross-origin-opener-policy"], "same-origin");
  assert.equal(res!.headers()["cross-origin-embedder-policy"], "require-corp");
  await page.waitForFunction(() => /model ready/.test(document.getElementById("status")!.textContent ?? ""), undefined, { timeout: 60_000 });
  await page.fill("#labels", LABELS.join(", "));
  const names = IMAGES.map((f) => path.basename(f));
  await page.evaluate(async (names) => {
    const dt = new DataTransfer();
    for (const n of names) dt.items.add(new File([await (await fetch(`drop/${n}`)).blob()], n));
    document.getElementById("drop")!.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, names);
  await page.waitForFunction((n) => document.querySelectorAll("#results figure").length === n && /images, \d+ ms/.test(document.getElementById("status")!.textContent ?? ""), names.length, { timeout: 60_000 });
  const captions = await page.$$eval("#results figcaption", (els) => els.map((e) => e.textContent ?? ""));
  // Node's zero-shot top label per image, with the page's template
  const model = await ClipModel.load(MODEL, { threads: 2 });
  try {
    const img = await model.embedImages(IMAGES);
    const txt = await model.embedTexts(LABELS.map((l) => `a photo of a ${l}.`));
    const logits = model.logits(img, txt).data;
    names.forEach((n, i) => {
      const row = Array.from(logits.subarray(i * LABELS.length, (i + 1) * LABELS.length));
      const top = LABELS[row.indexOf(Math.max(...row))]!;
      const cap = captions.find((c) => c.startsWith(n));
      assert.ok(cap, `no card for ${n}`);
      assert.equal(cap.split("\n")[1]!.split(":")[0], top, `${n}: ${cap}`);
    });
    // a query orders the cards by cosine, highest first, as Node's embeddings do
    const q = "a photo of a diagram";
    await page.fill("#query", q);
    await page.dispatchEvent("#query", "change");
    await page.waitForFunction(() => /cos /.test(document.querySelector("#results figcaption")?.textContent ?? ""), undefined, { timeout: 30_000 });
    const order = await page.$$eval("#results figcaption", (els) => els.map((e) => (e.textContent ?? "").split("  ")[0]));
    const qv = await model.embedTexts([q]);
    const sims = names.map((_n, i) => model.similarity({ data: img.data.subarray(i * img.dims[1], (i + 1) * img.dims[1]), dims: [1, img.dims[1]] }, qv).data[0]!);
    assert.deepEqual(order, [...names].sort((a, b) => sims[names.indexOf(b)]! - sims[names.indexOf(a)]!));
  } finally {
    await model.close();
    await page.close();
  }
});

test("the demo page trains with a live loss curve, then shows the zero-shot table and the checkpoint's files", { timeout: 120_000 }, async () => {
  const page = await browser.newPage();
  try {
    await page.goto(`${url}demo.html`);
    await page.fill("#steps", "3");
    await page.fill("#batch", "8");
    await page.fill("#scenes", "100");
    await page.fill("#evaln", "16");
    await page.click("#train");
    await page.waitForFunction(() => /^trained 3 steps/.test(document.getElementById("status")!.textContent ?? ""), undefined, { timeout: 100_000 });
    const points = await page.$eval("#curve polyline", (e) => e.getAttribute("points")!.trim().split(" ").length);
    assert.equal(points, 3, "one point per step");
    const rows = await page.$$eval("#zeroshot tr", (trs) => trs.map((tr) => Array.from(tr.children, (c) => c.textContent ?? "")));
    assert.deepEqual(rows.map((r) => r[0]), ["attribute", "shape", "color", "count"]);
    for (const r of rows.slice(1)) for (const cell of r.slice(1)) assert.match(cell, /^\d+\.\d%$/);
    const links = await page.$$eval("#files a", (as) => as.map((a) => (a as HTMLAnchorElement).download));
    assert.deepEqual(links.sort(), ["bpe_simple_vocab_16e6.txt.gz", "open_clip_config.json", "open_clip_model.safetensors"]);
  } finally {
    await page.close();
  }
});

test("clip web: user mistakes exit 2 with one line", () => {
  const r = spawnSync(process.execPath, [CLI, "web", "--model", path.join(dir, "nope"), "--out", path.join(dir, "x")], { encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  const f = path.join(dir, "file");
  fs.writeFileSync(f, "");
  const r2 = spawnSync(process.execPath, [CLI, "web", "--model", MODEL, "--out", f], { encoding: "utf8" });
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /not a directory/);
});
