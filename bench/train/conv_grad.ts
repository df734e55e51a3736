/** @file The input gradient of a stride-1 3x3 convolution two ways, on the shapes of the ResNet
 * recipe's model (batch 128): ORT's ConvTranspose of g with the weight (what autodiff emits) against
 * ORT's Conv of g with the weight transposed and flipped (the same sum). Median ms of each, one run.
 * Run: node dist/bench/train/conv_grad.js [--threads N] [--iters 10] */
import os from "node:os";
import * as T from "../../src/ir/tensor.js";
import { CompiledGraph } from "../../src/runtime/session.js";
import { Rng } from "../../src/util/rng.js";

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const threads = Number(arg("--threads", String(os.availableParallelism())));
const iters = Number(arg("--iters", "10"));
// [input channels C, output channels O, spatial size] of each 3x3 stride-1 conv of recipes/flickr8k-rn64w32.json
const SHAPES: [number, number, number][] = [
  [16, 16, 32],
  [16, 32, 32],
  [32, 32, 16],
  [64, 64, 16],
  [128, 128, 8],
  [256, 256, 4],
];
const N = 128;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rng = new Rng(0);
const rows: Record<string, number | string>[] = [];
for (const [c, o, s] of SHAPES) {
  const g = T.input("g", "float32", [N, o, s, s]);
  const w = T.input("w", "float32", [o, c, 3, 3]);
  const rev = T.constant(BigInt64Array.from([2n, 1n, 0n]), [3]);
  const flipped = T.gather(T.gather(T.transpose(w, [1, 0, 2, 3]), rev, 2), rev, 3); // [O, C, 3, 3] -> [C, O, 3, 3], taps reversed
  const variants = {
    convTranspose: T.convTranspose2d(g, w, { padding: 1 }),
    conv: T.conv2d(g, flipped, { padding: 1 }),
  };
  const feeds = {
    g: { data: Float32Array.from({ length: N * o * s * s }, () => rng.normal()), shape: [N, o, s, s] },
    w: { data: Float32Array.from({ length: o * c * 9 }, () => rng.normal()), shape: [o, c, 3, 3] },
  };
  const row: Record<string, number | string> = { shape: `g [${N},${o},${s},${s}] w [${o},${c},3,3]` };
  const outs: Float32Array[] = [];
  for (const [name, out] of Object.entries(variants)) {
    const graph = await CompiledGraph.compile({ out }, { threads });
    const ts: number[] = [];
    let r;
    for (let i = 0; i < iters + 2; i++) {
      const t0 = performance.now();
      r = await graph.run(feeds);
      if (i >= 2) ts.push(performance.now() - t0);
    }
    outs.push(r!.out.data as Float32Array);
    row[`${name}_ms`] = Math.round(median(ts) * 10) / 10;
    await graph.release();
  }
  row.max_abs_diff = outs[0]!.reduce((m, v, i) => Math.max(m, Math.abs(v - outs[1]![i]!)), 0);
  rows.push(row);
}
process.stdout.write(JSON.stringify({ threads, iters, rows, load_average: os.loadavg() }, null, 2) + "\n");
