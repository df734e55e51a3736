/**
 * @file The page in a real browser: Debian's chromium (apt, never a downloaded browser) driven by
 * playwright-core. Search by text, the min-score slider, "more like this", search by a dropped and
 * an uploaded image, and the zero-shot bar chart, each checked against ClipModel; screenshots go
 * to dist/test-artifacts/server (or $CLIP_TEST_ARTIFACTS).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { buildZeroShotClassifier, classify } from "../../src/eval/zeroshot.js";
import { getTemplates } from "../../src/eval/templates.js";
import { ROOT } from "../helpers/shared.js";
import { IMAGE_FILES, IMAGES_DIR, loadModel, MemoryBackend, start } from "./helpers.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const ARTIFACTS = process.env.CLIP_TEST_ARTIFACTS ?? path.join(ROOT, "dist", "test-artifacts", "server");
/** The little of the DOM the page checks use (this project compiles without the DOM types). */
interface El {
  dataset: Record<string, string | undefined>;
  getAttribute(name: string): string | null;
  complete?: boolean;
  naturalWidth?: number;
  dispatchEvent(e: unknown): boolean;
}
interface BrowserGlobals {
  document: { querySelectorAll(sel: string): El[] & ArrayLike<El>; getElementById(id: string): El; documentElement: { scrollWidth: number } };
  innerWidth: number;
  DataTransfer: new () => { items: { add(f: File): void } };
  DragEvent: new (type: string, init: object) => unknown;
}

const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

test("the page: text search, slider, more like this, image search, zero-shot bar chart", async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (as .ci/run does)`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const model = await loadModel("vit-tiny");
  const backend = await MemoryBackend.create(model);
  const s = await start(model, { search: backend });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "clip-serve-chromium-"));
  // a browser that cannot start must not leave the server holding the test process open
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, viewport: { width: 1280, height: 900 } }).catch(async (e: unknown) => {
    await s.close();
    await model.dispose();
    throw e;
  });
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(e.message));
    await page.goto(`${s.url}/`);
    await page.waitForSelector("body[data-ready=true]");
    assert.match(await page.locator("#model-status").innerText(), /vit-tiny · 32-d · 8 images indexed/);

    const cards = page.locator("#results li");
    // functions run in the page (not strings: the page's CSP forbids eval, and the test keeps to it)
    const ids = (): Promise<string[]> => page.evaluate(() => Array.from((globalThis as unknown as BrowserGlobals).document.querySelectorAll("#results li"), (e) => e.dataset.id!));
    const waitFor = async (want: string[]) => {
      await page.waitForFunction((w) => Array.from((globalThis as unknown as BrowserGlobals).document.querySelectorAll("#results li"), (e) => e.dataset.id).join() === w, want.join());
    };
    const topIs = (id: string) => page.waitForFunction((w) => (globalThis as unknown as BrowserGlobals).document.querySelectorAll("#results li")[0]?.dataset.id === w, id);

    // text search: the top result is exact search's
    const query = "a photo of a cat";
    const want = await backend.search({ text: query, k: 24 });
    await page.getByRole("searchbox", { name: "Search" }).fill(query);
    await page.getByRole("searchbox", { name: "Search" }).press("Enter");
    await waitFor(want.map((r) => r.id));
    assert.equal((await ids())[0], want[0]!.id);
    assert.equal(await cards.first().locator(".score").innerText(), want[0]!.score.toFixed(3));
    await page.waitForFunction(() => Array.from((globalThis as unknown as BrowserGlobals).document.querySelectorAll("#results img")).every((i) => i.complete && i.naturalWidth! > 0));
    await page.screenshot({ path: path.join(ARTIFACTS, "search.png"), fullPage: true });

    // the slider drops results below the minimum score
    const cut = Math.round(((want[2]!.score + want[3]!.score) / 2) * 100) / 100;
    const above = await backend.search({ text: query, k: 24, minScore: cut });
    assert.ok(above.length > 0 && above.length < want.length);
    await page.getByLabel("Minimum score").fill(String(cut));
    await waitFor(above.map((r) => r.id));

    // more like this on the second result: that image comes first (cosine 1 with itself)
    await page.getByLabel("Minimum score").fill("0");
    await waitFor(want.map((r) => r.id));
    const second = want[1]!.id;
    await page.getByRole("button", { name: `More like ${want[1]!.path}` }).click();
    const like = await backend.search({ like: second, k: 24 });
    await waitFor(like.map((r) => r.id));
    assert.equal((await ids())[0], second);

    // an uploaded image and a dropped one: each finds itself first
    await page.locator("#search-file").setInputFiles(path.join(IMAGES_DIR, IMAGE_FILES[5]!));
    await topIs("img5");
    await page.evaluate(async () => {
      const w = globalThis as unknown as BrowserGlobals;
      const blob = await (await fetch("/v1/images/img6")).blob();
      const dt = new w.DataTransfer();
      dt.items.add(new File([blob], "dropped.png", { type: "image/png" }));
      w.document.getElementById("drop").dispatchEvent(new w.DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await topIs("img6");

    // zero-shot: the bars are ClipModel's probabilities, best first
    const labels = ["a cat", "a dog", "a car", "a tree", "a diagram"];
    const weights = await buildZeroShotClassifier(model, labels, getTemplates("simple"));
    const expected = classify(await model.encodeImages([path.join(IMAGES_DIR, IMAGE_FILES[0]!)]), weights, model.logitScale, labels.length).top[0]!;
    await page.getByLabel("Image", { exact: true }).setInputFiles(path.join(IMAGES_DIR, IMAGE_FILES[0]!));
    await page.getByLabel("Labels, separated by commas").fill(labels.join(", "));
    await page.getByRole("button", { name: "Classify" }).click();
    await page.waitForSelector("#bars li");
    const bars = await page.evaluate(() => Array.from((globalThis as unknown as BrowserGlobals).document.querySelectorAll("#bars [role=meter]"), (e) => [e.getAttribute("aria-label"), Number(e.getAttribute("aria-valuenow"))] as [string, number]));
    assert.deepEqual(bars.map((b) => b[0]), expected.map((p) => labels[p.index]));
    bars.forEach((b, i) => assert.ok(Math.abs(b[1] - 100 * expected[i]!.prob) <= 0.051, `bar ${i}: ${b[1]}`));
    // the whole page with a text search and a classification, as the README shows it
    await page.getByRole("searchbox", { name: "Search" }).fill(query);
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await waitFor(want.map((r) => r.id));
    await page.waitForFunction(() => Array.from((globalThis as unknown as BrowserGlobals).document.querySelectorAll("#results img")).every((i) => i.complete && i.naturalWidth! > 0));
    await page.screenshot({ path: path.join(ARTIFACTS, "page.png"), fullPage: true });

    // phones: one column, nothing wider than the screen
    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => {
      const w = globalThis as unknown as BrowserGlobals;
      return w.document.documentElement.scrollWidth - w.innerWidth;
    });
    assert.ok(overflow <= 0, `page is ${overflow}px wider than a phone screen`);
    await page.screenshot({ path: path.join(ARTIFACTS, "phone.png"), fullPage: true });
    assert.deepEqual(problems, [], "no console errors (CSP violations included)");
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
    await s.close();
    await model.dispose();
  }
});

test("the page without an index says how to get one, and the playground still works", async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (as .ci/run does)`);
  const model = await loadModel("vit-tiny");
  const s = await start(model);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "clip-serve-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true }).catch(async (e: unknown) => {
    await s.close();
    await model.dispose();
    throw e;
  });
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    await page.goto(`${s.url}/`);
    await page.waitForSelector("body[data-ready=true]");
    assert.equal(await page.locator("#search-off").isVisible(), true);
    assert.equal(await page.getByRole("searchbox", { name: "Search" }).isDisabled(), true);
    await page.getByLabel("Image", { exact: true }).setInputFiles(path.join(IMAGES_DIR, IMAGE_FILES[2]!));
    await page.getByLabel("Labels, separated by commas").fill("cat, cat");
    await page.getByRole("button", { name: "Classify" }).click();
    await page.waitForSelector("#error:not([hidden])");
    assert.match(await page.locator("#error").innerText(), /labels: duplicate class name "cat"/);
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
    await s.close();
    await model.dispose();
  }
});
