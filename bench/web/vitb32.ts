/**
 * @file ViT-B-32 image tower in Chromium (onnxruntime-web, WASM SIMD + threads, cross-origin
 * isolated page on loopback) against our Node fp32 (onnxruntime-node), same weights and pixels,
 * one run, rounds alternating so the two never share the cores.
 * Run: node dist/bench/web/vitb32.js [--batch 16] [--rounds 3] [--iters 3]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { ClipModel } from "../../src/clip/model.js";
import { UserError } from "../../src/errors.js";
import { defaultPreprocess } from "../../src/models/clip/config.js";
import { initState } from "../../src/models/clip/init.js";
import { presetConfig } from "../../src/models/clip/presets.js";
import { saveCheckpoint } from "../../src/weights/checkpoint.js";
import { serveStatic } from "../../src/web/serve.node.js";
import { writeSite } from "../../src/web/site.node.js";

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const batch = Number(arg("--batch", "16"));
const rounds = Number(arg("--rounds", "3"));
const iters = Number(arg("--iters", "3"));
const threads = os.availableParallelism();
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const work = fs.mkdtempSync(path.join(os.tmpdir(), "clip-bench-web-"));
const config = presetConfig("ViT-B-32");
const S = config.vision_cfg.image_size;
const state = initState(config, { seed: 0 });
await writeSite(work, { build: true });
saveCheckpoint(path.join(work, "model"), config, state, { preprocess: defaultPreprocess(S) });
const pixels = new Float32Array(batch * 3 * S * S).map((_v, i) => Math.sin(i * 0.37));

// Node: our ClipModel, fp32, all cores
const node = new ClipModel(config, defaultPreprocess(S), state, new UserError("no tokenizer"), { threads, batchSize: batch });
let t = performance.now();
const nodeFeatures = await node.encodePixels(pixels, batch);
const nodeCompile = (performance.now() - t) / 1000;

// Chromium: the bundle's WebClip over fetched checkpoint bytes
const server = await serveStatic(work);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage();
fs.writeFileSync(path.join(work, "bench.html"), '<!doctype html><meta charset="utf-8"><script type="module" src="clip.js"></script>');
await page.goto(`${server.url}bench.html`);
await page.waitForFunction(() => "clipWeb" in globalThis);
type Api = typeof import("../../src/web/browser/main.js").api;
const setup = await page.evaluate(async ({ batch }) => {
  const w = (globalThis as never as { clipWeb: Api }).clipWeb;
  const g = globalThis as never as { bench: { m: InstanceType<Api["WebClip"]>; px: Float32Array } };
  const [cfg, weights] = await Promise.all([w.fetchBytes("model/open_clip_config.json"), w.fetchBytes("model/open_clip_model.safetensors")]);
  const ck = w.checkpointFromBytes(new TextDecoder().decode(cfg), weights, "model");
  const S = ck.config.vision_cfg.image_size;
  const px = new Float32Array(batch * 3 * S * S).map((_v, i) => Math.sin(i * 0.37));
  const m = new w.WebClip(ck.config, ck.preprocess, ck.state, undefined, batch);
  const t0 = performance.now();
  const f = await m.encodePixels(px, batch, true);
  g.bench = { m, px };
  return { compile: (performance.now() - t0) / 1000, threads: w.webThreads(), isolated: globalThis.crossOriginIsolated, features: Array.from(f.data) };
}, { batch });

let dot = 0;
for (let i = 0; i < setup.features.length; i++) dot += setup.features[i]! * nodeFeatures.data[i]!;
const webTimes: number[] = [];
const nodeTimes: number[] = [];
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < iters; i++) {
    t = performance.now();
    await node.encodePixels(pixels, batch);
    nodeTimes.push((performance.now() - t) / 1000);
  }
  const ts = await page.evaluate(async (iters) => {
    const g = globalThis as never as { bench: { m: { encodePixels(p: Float32Array, n: number): Promise<unknown> }; px: Float32Array } };
    const out: number[] = [];
    const n = g.bench.px.length / (3 * 224 * 224);
    for (let i = 0; i < iters; i++) {
      const t0 = performance.now();
      await g.bench.m.encodePixels(g.bench.px, n);
      out.push((performance.now() - t0) / 1000);
    }
    return out;
  }, iters);
  webTimes.push(...ts);
}
const chromiumVersion = browser.version();
await browser.close();
await server.close();
await node.close();
fs.rmSync(work, { recursive: true, force: true });

const web = batch / median(webTimes);
const ours = batch / median(nodeTimes);
const GFLOP_PER_IMAGE = 2 * 4.41; // multiply-adds of the ViT-B-32 image tower, x2
console.log(`machine: ${os.cpus()[0]?.model ?? "?"}, ${threads} logical cores, load ${os.loadavg()[0]!.toFixed(1)} at the end`);
console.log(`Chromium ${chromiumVersion} (WASM SIMD, ${setup.threads} threads, crossOriginIsolated ${setup.isolated}): ${web.toFixed(2)} images/s (${(web * GFLOP_PER_IMAGE).toFixed(0)} GFLOP/s), session build ${setup.compile.toFixed(1)} s`);
console.log(`Node onnxruntime-node fp32 (${threads} threads): ${ours.toFixed(2)} images/s (${(ours * GFLOP_PER_IMAGE).toFixed(0)} GFLOP/s), session build ${nodeCompile.toFixed(1)} s`);
console.log(`ratio browser / Node: ${(web / ours).toFixed(2)}; mean cosine of the two features: ${(dot / batch).toFixed(6)}`);
console.log(JSON.stringify({ batch, rounds, iters, web_images_per_second: web, node_images_per_second: ours, ratio: web / ours, web_threads: setup.threads, web_times: webTimes, node_times: nodeTimes }));
