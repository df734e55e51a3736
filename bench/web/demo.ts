/**
 * @file `clip demo` training throughput in Chromium (the page's runDemo on onnxruntime-web, WASM
 * threads) against the same function in Node (onnxruntime-node) and Node's `clip demo` command,
 * one run, one machine, one after the other.
 * Run: node dist/bench/web/demo.js [--steps 8] [--batch 64] [--n 2000]
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { nodeBackend } from "../../src/runtime/session.js";
import { runDemo } from "../../src/web/browser/demo.js";
import { serveStatic } from "../../src/web/serve.node.js";
import { writeSite } from "../../src/web/site.node.js";

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const steps = Number(arg("--steps", "8"));
const batch = Number(arg("--batch", "64"));
const n = Number(arg("--n", "2000"));
const threads = os.availableParallelism();
const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../bin/clip.js");
const spec = { n, steps, batch, seed: 0, evalN: 0 };

const work = fs.mkdtempSync(path.join(os.tmpdir(), "clip-bench-webdemo-"));
await writeSite(work, { build: true });
fs.writeFileSync(path.join(work, "bench.html"), '<!doctype html><meta charset="utf-8"><script type="module" src="clip.js"></script>');
const server = await serveStatic(work);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage();
await page.goto(`${server.url}bench.html`);
await page.waitForFunction(() => "clipWeb" in globalThis);
type Api = typeof import("../../src/web/browser/main.js").api;
const web = await page.evaluate(async (spec) => {
  const w = (globalThis as never as { clipWeb: Api }).clipWeb;
  const r = await w.runDemo(spec);
  return { sps: r.samplesPerSecond, losses: r.losses, threads: w.webThreads() };
}, spec);
const version = browser.version();
await browser.close();
await server.close();

const node = await runDemo({ ...spec, backend: nodeBackend, threads });
const out = path.join(work, "clip-demo");
// the page's model (the small ViT): `clip demo` itself trains a ResNet by default
const vit = path.resolve(path.dirname(cli), "../recipes/demo-vit.json");
const demo = JSON.parse(execFileSync(process.execPath, [cli, "demo", "--out", out, "--config", vit, "--steps", String(steps), "--batch-size", String(batch), "--n", String(Math.max(n, 100)), "--eval-n", "10", "--threads", String(threads), "--json"], { encoding: "utf8" })) as { train_seconds: number };
fs.rmSync(work, { recursive: true, force: true });

console.log(`machine: ${os.cpus()[0]?.model ?? "?"}, ${threads} logical cores, load ${os.loadavg()[0]!.toFixed(1)} at the end`);
console.log(`Chromium ${version} (WASM, ${web.threads} threads), runDemo: ${web.sps.toFixed(1)} samples/s (optimizer steps only)`);
console.log(`Node onnxruntime-node (${threads} threads), runDemo: ${node.samplesPerSecond.toFixed(1)} samples/s (optimizer steps only); ratio browser / Node ${(web.sps / node.samplesPerSecond).toFixed(2)}`);
console.log(`Node clip demo: ${((steps * batch) / demo.train_seconds).toFixed(1)} samples/s over its whole training phase (data pipeline, vocabulary, checkpoints included)`);
console.log(`final losses: page ${web.losses.at(-1)!.toFixed(5)}, Node ${node.losses.at(-1)!.toFixed(5)}`);
