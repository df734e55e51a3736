/** @file Engine benchmarks (issue 2): graph overhead on large matmuls, and a ViT-B block's forward + backward
 * against PyTorch on the same machine, in one run. Run: node dist/bench/engine/engine.js [--threads N]. */
import { execFileSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { grad } from "../../src/autodiff/grad.js";
import * as T from "../../src/ir/tensor.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { linear, quickGelu, selfAttention } from "../../src/nn/functional.js";
import { CompiledGraph, type HostTensor } from "../../src/runtime/session.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SRC = path.resolve(HERE, "../../../bench/engine");
const argThreads = process.argv.indexOf("--threads");
const threads = argThreads > 0 ? Number(process.argv[argThreads + 1]) : os.availableParallelism();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timeIt(fn: () => Promise<unknown>, iters: number): Promise<number> {
  await fn();
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

function randn(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 16807) % 2147483647;
    a[i] = ((s / 2147483647) * 2 - 1) * scale;
  }
  return a;
}

/** A chain of K [N,N] matmuls as one graph, against K single-MatMul sessions. */
async function matmulOverhead(n: number, k: number): Promise<Record<string, number>> {
  const x = T.input("x", "float32", [n, n]);
  const weights = new Map<string, Float32Array>();
  let y: Tensor = x;
  for (let i = 0; i < k; i++) {
    weights.set(`w${i}`, randn(n * n, i + 1, 1 / Math.sqrt(n)));
    y = T.matmul(y, T.param(`w${i}`, [n, n]));
  }
  const chain = await CompiledGraph.compile({ y }, { weights, threads });
  const singles: CompiledGraph[] = [];
  for (let i = 0; i < k; i++) {
    const xi = T.input("x", "float32", [n, n]);
    singles.push(await CompiledGraph.compile({ y: T.matmul(xi, T.param(`w${i}`, [n, n])) }, { weights, threads }));
  }
  const feed: HostTensor = { data: randn(n * n, 99), shape: [n, n] };
  const tChain = await timeIt(() => chain.run({ x: feed }), 7);
  const tSingles = await timeIt(async () => {
    let cur = feed;
    for (const s of singles) cur = (await s.run({ x: cur })).y;
  }, 7);
  const flops = 2 * n * n * n * k;
  await chain.release();
  for (const s of singles) await s.release();
  return { graph_gflops: flops / tChain / 1e6, single_nodes_gflops: flops / tSingles / 1e6, ratio: tSingles / tChain };
}

/** One ViT-B residual block: forward + backward of mean(out^2) to all 12 parameters. */
async function blockStep(width: number, heads: number, tokens: number, batch: number, iters: number): Promise<number> {
  const x = T.input("x", "float32", [batch, tokens, width]);
  const shapes: [string, number[]][] = [
    ["attn.in_proj_weight", [3 * width, width]],
    ["attn.in_proj_bias", [3 * width]],
    ["attn.out_proj.weight", [width, width]],
    ["attn.out_proj.bias", [width]],
    ["ln_1.weight", [width]],
    ["ln_1.bias", [width]],
    ["mlp.c_fc.weight", [4 * width, width]],
    ["mlp.c_fc.bias", [4 * width]],
    ["mlp.c_proj.weight", [width, 4 * width]],
    ["mlp.c_proj.bias", [width]],
    ["ln_2.weight", [width]],
    ["ln_2.bias", [width]],
  ];
  const P = new Map(shapes.map(([k, s]) => [k, T.param(k, s)]));
  const p = (k: string): Tensor => P.get(k)!;
  const h = T.add(x, selfAttention(T.layerNorm(x, p("ln_1.weight"), p("ln_1.bias")), { inProjWeight: p("attn.in_proj_weight"), inProjBias: p("attn.in_proj_bias"), outProjWeight: p("attn.out_proj.weight"), outProjBias: p("attn.out_proj.bias") }, heads));
  const out = T.add(h, linear(quickGelu(linear(T.layerNorm(h, p("ln_2.weight"), p("ln_2.bias")), p("mlp.c_fc.weight"), p("mlp.c_fc.bias"))), p("mlp.c_proj.weight"), p("mlp.c_proj.bias")));
  const loss = T.reduceMean(T.mul(out, out), [0, 1, 2]);
  const grads = grad(loss, shapes.map(([k]) => p(k)));
  const outputs: Record<string, Tensor> = { loss };
  shapes.forEach(([k], i) => (outputs[`grad.${k}`] = grads[i]));
  const g = await CompiledGraph.compile(outputs, { threads });
  const feeds: Record<string, HostTensor> = { x: { data: randn(batch * tokens * width, 7), shape: [batch, tokens, width] } };
  shapes.forEach(([k, s], i) => {
    const n = s.reduce((a, b) => a * b, 1);
    feeds[k] = { data: k.includes("ln_") && k.endsWith("weight") ? new Float32Array(n).fill(1) : randn(n, 100 + i, s.length > 1 ? 1 / Math.sqrt(s[1]) : 0.02), shape: s };
  });
  const t = await timeIt(() => g.run(feeds), iters);
  await g.release();
  return t;
}

const mm = await matmulOverhead(2048, 4);
const [W, H, L, B, iters] = [768, 12, 50, 32, 15];
const ours = await blockStep(W, H, L, B, iters);
let torch: { median_ms: number; torch: string } | undefined;
try {
  const out = execFileSync("/usr/bin/python3", [path.join(SRC, "torch_block.py"), String(W), String(H), String(L), String(B), String(iters), String(threads)], { encoding: "utf8" });
  torch = JSON.parse(out.trim().split("\n").at(-1)!) as { median_ms: number; torch: string };
} catch (e) {
  process.stderr.write(`PyTorch side failed (apt-get install -y python3-torch): ${(e as Error).message}\n`);
}
const result = {
  machine: `${os.cpus()[0]?.model ?? "cpu"}, ${os.availableParallelism()} cores`,
  threads,
  matmul_chain_2048x4: mm,
  vitb_block_fwd_bwd: { ours_ms: ours, torch_ms: torch?.median_ms, speedup_vs_torch: torch ? torch.median_ms / ours : undefined, torch_version: torch?.torch },
};
process.stdout.write(JSON.stringify(result, null, 2) + "\n");
