/**
 * @file Bench: synthetic-world images/s at 64 px (render + PNG), and end to end into tar shards as
 * `clip data synth` does. Run: npx tsc -p . && node dist/bench/data/synth.js [--n 5000] [--runs 5] [--size 64]
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { synthWorld, writeShards, writeSynthShards } from "../../src/data/index.js";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const n = arg("n", 5000);
  const runs = arg("runs", 5);
  const size = arg("size", 64);
  console.log(`machine: ${os.cpus()[0]?.model} x${os.availableParallelism()}, load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  for (const _ of synthWorld({ n: 200, seed: 99, size })); // warm up the JIT
  const render: number[] = [];
  const renderCpu: number[] = [];
  const shards: number[] = [];
  const parallel: number[] = [];
  const threads = os.availableParallelism();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "clip-synth-bench-"));
  const cpuSeconds = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1e6;
  try {
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      const cpu = process.cpuUsage();
      let bytes = 0;
      for (const s of synthWorld({ n, seed: r, size })) bytes += s.image!.length;
      render.push((n / (performance.now() - t)) * 1000);
      renderCpu.push(n / cpuSeconds(process.cpuUsage(cpu)));
      t = performance.now();
      await writeShards(synthWorld({ n, seed: r, size }), dir, 1000, { prefix: "train" });
      shards.push((n / (performance.now() - t)) * 1000);
      t = performance.now();
      await writeSynthShards({ n, seed: r, size }, dir, 1000, { threads, minPerThread: 1 });
      parallel.push((n / (performance.now() - t)) * 1000);
      if (r === 0) console.log(`${size}px: mean PNG ${(bytes / n).toFixed(0)} bytes`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const fmt = (xs: number[]): string => `median ${median(xs).toFixed(0)} images/s  [${xs.map((x) => x.toFixed(0)).join(", ")}]`;
  console.log(`render + PNG, one thread: ${fmt(render)}`);
  console.log(`render + PNG, one thread, per CPU-second (what an idle core gives): ${fmt(renderCpu)}`);
  console.log(`render + PNG + tar shards, one thread: ${fmt(shards)}`);
  console.log(`render + PNG + tar shards, ${threads} threads (clip data synth): ${fmt(parallel)}`);
  console.log(`load after: ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
}

await main();
