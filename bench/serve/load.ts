/**
 * @file `clip serve` under load (issue 15's must-reach figures): the same requests sent one at a
 * time and from 64 concurrent clients, for texts and for images (throughput, p50, p99), then a
 * soak at that load (server RSS at start and end, errors). The server runs as its own process
 * (`clip serve`), the clients here, over loopback.
 *
 *   node dist/bench/serve/load.js --model DIR [--requests 512] [--clients 64] [--rounds 5] [--soak-seconds 300] [--ceiling]
 *                                 [--sides text,image] [--serve-args "--threads 1"]
 *
 * Each round sends `requests / 4` requests one at a time, then `requests` from the clients
 * (images: a quarter of those counts); medians over the rounds.
 *
 * Prints a table on stderr and one JSON document on stdout. `--ceiling` first measures the model
 * alone in this process (ClipModel, batch 1 vs batch 32 texts and images): the most batching
 * can give, since every request still pays its model share.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ClipModel } from "../../src/clip/model.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const CLI = path.join(ROOT, "bin/clip.js");
const IMAGES = path.resolve(ROOT, "../shared/fixtures/reference/images");

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1]!;
  if (fallback === undefined) throw new Error(`--${name} is required`);
  return fallback;
}

const model = arg("model");
const requests = Number(arg("requests", "1024"));
const clients = Number(arg("clients", "64"));
const soakSeconds = Number(arg("soak-seconds", "300"));
const rounds = Number(arg("rounds", "5"));
const extra = arg("serve-args", "").split(" ").filter(Boolean);
const sides = arg("sides", "text,image").split(",");

/** Starts `clip serve` on a free port; resolves with its base URL. */
async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, "serve", "--model", model, "--port", "0", ...extra], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /(http:\/\/[\d.]+:\d+)\//.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on("exit", (code) => reject(new Error(`clip serve exited (${code})`)));
  });
  return { url, child };
}

type Body = () => string;

interface Run {
  requests: number;
  errors: number;
  /** Errors by HTTP status ("network" when no answer came). */
  error_statuses: Record<string, number>;
  seconds: number;
  per_second: number;
  p50_ms: number;
  p99_ms: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** `total` POSTs to /v1/embed from `concurrency` clients, each sending its next request when the last is answered. */
async function load(url: string, body: Body, total: number, concurrency: number, until?: number): Promise<Run & { lat: number[] }> {
  const lat: number[] = [];
  let sent = 0;
  let errors = 0;
  const statuses: Record<string, number> = {};
  const t0 = performance.now();
  const client = async () => {
    while (until !== undefined ? performance.now() < until : sent < total) {
      sent++;
      const t = performance.now();
      try {
        const r = await fetch(`${url}/v1/embed`, { method: "POST", headers: { "content-type": "application/json" }, body: body() });
        const j = (await r.json()) as { text_embeddings?: number[][]; image_embeddings?: number[][] };
        if (r.status !== 200 || !(j.text_embeddings?.length || j.image_embeddings?.length)) {
          errors++;
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        }
      } catch {
        errors++;
        statuses.network = (statuses.network ?? 0) + 1;
      }
      lat.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const seconds = (performance.now() - t0) / 1000;
  const sorted = [...lat].sort((a, b) => a - b);
  return { requests: lat.length, errors, error_statuses: statuses, seconds: round(seconds), per_second: round(lat.length / seconds), p50_ms: round(quantile(sorted, 0.5)), p99_ms: round(quantile(sorted, 0.99)), lat };
}

const round = (x: number): number => Math.round(x * 100) / 100;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : round((s[s.length / 2 - 1]! + s[s.length / 2]!) / 2);
}

async function rss(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^process_resident_memory_bytes (\d+)/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Items per second of the model alone at batch sizes 1 and 32 (texts, then images), 2 threads. */
async function ceiling(images: Uint8Array[]): Promise<Record<string, number>> {
  const m = await ClipModel.load(model, { threads: 2, batchSize: 32 });
  const out: Record<string, number> = {};
  try {
    const texts = Array.from({ length: 32 }, (_v, i) => `a photo of a thing number ${i}`);
    const imgs = Array.from({ length: 32 }, (_v, i) => images[i % images.length]!);
    await m.embedTexts(texts.slice(0, 4));
    await m.embedImages(imgs.slice(0, 4));
    for (const [name, run] of [["text", (k: number) => m.embedTexts(texts.slice(0, k))], ["image", (k: number) => m.embedImages(imgs.slice(0, k))]] as [string, (k: number) => Promise<unknown>][]) {
      for (const bs of [1, 32]) {
        const t0 = performance.now();
        let n = 0;
        while (performance.now() - t0 < 5000) {
          await run(bs);
          n += bs;
        }
        out[`${name}_batch${bs}_per_second`] = round(n / ((performance.now() - t0) / 1000));
      }
      out[`${name}_batch_gain`] = round(out[`${name}_batch32_per_second`]! / out[`${name}_batch1_per_second`]!);
    }
  } finally {
    await m.dispose();
  }
  return out;
}

async function main(): Promise<void> {
  const pngs = fs.readdirSync(IMAGES).filter((f) => f.endsWith(".png")).sort().map((f) => new Uint8Array(fs.readFileSync(path.join(IMAGES, f))));
  const modelAlone = process.argv.includes("--ceiling") ? await ceiling(pngs) : undefined;
  if (modelAlone) process.stderr.write(`model alone: ${JSON.stringify(modelAlone)}\n`);
  const { url, child } = await startServer();
  const words = ["red", "blue", "green", "old", "small", "shiny", "wooden", "striped"];
  const things = ["cat", "dog", "car", "house", "tree", "boat", "bicycle", "lamp"];
  let n = 0;
  const textBody: Body = () => {
    n++;
    return JSON.stringify({ texts: [`a photo of a ${words[n % 8]} ${things[(n >> 3) % 8]} number ${n}`] });
  };
  const images = pngs.map((b) => Buffer.from(b).toString("base64"));
  let m = 0;
  const imageBody: Body = () => JSON.stringify({ images: [images[m++ % images.length]] });
  const strip = ({ lat: _l, ...r }: Run & { lat: number[] }): Run => r;
  const result: Record<string, unknown> = { model, clients, requests, rounds, host: `${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)} at start`, serve_args: extra, model_alone: modelAlone };
  try {
    // warm-up: both sessions compiled, the route code hot
    await load(url, textBody, 64, 8);
    await load(url, imageBody, 32, 8);
    // sequential and concurrent alternate, `rounds` times: a load swing from other jobs hits both sides
    const all: [string, Body, number][] = [["text", textBody, requests], ["image", imageBody, Math.max(64, requests / 4)]];
    for (const [name, body, count] of all.filter(([side]) => sides.includes(side))) {
      const runs: { sequential: Run; concurrent: Run; speedup: number }[] = [];
      for (let r = 0; r < rounds; r++) {
        const seq = strip(await load(url, body, count / 4, 1));
        const con = strip(await load(url, body, count, clients));
        runs.push({ sequential: seq, concurrent: con, speedup: round(con.per_second / seq.per_second) });
        process.stderr.write(`${name} round ${r + 1}: sequential ${seq.per_second}/s (p50 ${seq.p50_ms} ms, p99 ${seq.p99_ms} ms); ${clients} clients ${con.per_second}/s (p50 ${con.p50_ms} ms, p99 ${con.p99_ms} ms): x${round(con.per_second / seq.per_second)}\n`);
      }
      const med = (f: (x: (typeof runs)[number]) => number) => median(runs.map(f));
      const summary = {
        sequential_per_second: med((x) => x.sequential.per_second),
        concurrent_per_second: med((x) => x.concurrent.per_second),
        speedup: med((x) => x.speedup),
        sequential_p50_ms: med((x) => x.sequential.p50_ms),
        sequential_p99_ms: med((x) => x.sequential.p99_ms),
        concurrent_p50_ms: med((x) => x.concurrent.p50_ms),
        concurrent_p99_ms: med((x) => x.concurrent.p99_ms),
        errors: runs.reduce((a, x) => a + x.sequential.errors + x.concurrent.errors, 0),
      };
      result[name] = { median: summary, runs };
      process.stderr.write(`${name} median of ${rounds}: ${JSON.stringify(summary)}\n`);
    }
    if (soakSeconds > 0) {
      const start = await rss(url);
      const samples: number[] = [start];
      const end = performance.now() + soakSeconds * 1000;
      const timer = setInterval(() => void rss(url).then((r) => samples.push(r)), 10_000);
      const soak = strip(await load(url, textBody, Infinity, clients, end));
      clearInterval(timer);
      const last = await rss(url);
      samples.push(last);
      const mib = (b: number) => round(b / 1048576);
      result.soak = { ...soak, target_seconds: soakSeconds, rss_start_mib: mib(start), rss_end_mib: mib(last), rss_max_mib: mib(Math.max(...samples)), rss_samples_mib: samples.map(mib) };
      process.stderr.write(`soak ${soakSeconds} s: ${soak.requests} requests, ${soak.errors} errors ${JSON.stringify(soak.error_statuses)}, ${soak.per_second}/s, RSS ${mib(start)} -> ${mib(last)} MiB (max ${mib(Math.max(...samples))})\n`);
    }
  } finally {
    child.kill("SIGTERM");
  }
  process.stdout.write(JSON.stringify(result, null, 1) + "\n");
}

await main();
