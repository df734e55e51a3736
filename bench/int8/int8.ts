/** @file int8 inference benchmark (issue 16): `clip bench --precision int8` against `--precision fp32`
 * and PyTorch eager (fp32) on the same ViT-B-32 weights, alternating in one run; medians over rounds.
 * Run: node dist/bench/int8/int8.js [--model DIR] [--batch 16] [--threads N] [--rounds 3] [--seconds 8] [--torch-iters 5] [--no-torch] */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../../..");
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const batch = Number(arg("--batch", "16"));
const threads = Number(arg("--threads", String(os.availableParallelism())));
const rounds = Number(arg("--rounds", "3"));
const seconds = arg("--seconds", "8");
const withTorch = !process.argv.includes("--no-torch");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "clip-bench-int8-"));
const model = arg("--model", path.join(work, "vitb32"));
const cli = path.join(ROOT, "bin/clip.js");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

if (!fs.existsSync(path.join(model, "open_clip_model.safetensors"))) {
  execFileSync(process.execPath, [cli, "init", "--arch", "ViT-B-32", "--out", model, "--seed", "0"], { stdio: "inherit" });
}

interface Rates {
  images_per_second: number;
  texts_per_second: number;
  peak_rss_mb?: number;
}
/** One `clip bench` in its own process, so its peak memory is its own. */
const ours = (precision: "fp32" | "int8"): Rates =>
  JSON.parse(execFileSync(process.execPath, [cli, "bench", "--model", model, "--batch", String(batch), "--threads", String(threads), "--seconds", seconds, "--precision", precision, "--json"], { encoding: "utf8" })) as Rates;
/**
 * PyTorch eager on the same checkpoint: bench/models/torch_clip.py without its ONNX export. Its texts
 * run at the full context, as openai/CLIP always does, and also at the TEXT_POSITIONS that
 * `clip bench`'s synthetic batch needs (our text tower stops at the batch's last end token), so the
 * text ratio is given for equal work too.
 */
const TEXT_POSITIONS = 20; // clip bench: texts of 8-19 tokens, the end token at 19 at the latest
const torch = (): Rates & { torch: string; texts_per_second_equal_work: number } => {
  const out = execFileSync("/usr/bin/python3", [path.join(ROOT, "bench/models/torch_clip.py"), model, String(batch), arg("--torch-iters", "5"), String(threads)], {
    encoding: "utf8",
    env: { ...process.env, TORCH_TEXT_POSITIONS: String(TEXT_POSITIONS) },
  });
  const r = JSON.parse(out.trim().split("\n").at(-1)!) as { torch_images_per_second: number; torch_texts_per_second: number; torch_texts_per_second_at_positions: number; torch: string };
  return { images_per_second: r.torch_images_per_second, texts_per_second: r.torch_texts_per_second, texts_per_second_equal_work: r.torch_texts_per_second_at_positions, torch: r.torch };
};

const loadavg = (): string => os.loadavg().map((x) => x.toFixed(1)).join(" ");
const runs: { fp32: Rates; int8: Rates; torch?: Rates & { torch: string; texts_per_second_equal_work: number }; load: string }[] = [];
for (let r = 0; r < rounds; r++) {
  // the order alternates between rounds so a burst of load from other jobs hits both sides
  const [a, b] = r % 2 === 0 ? (["fp32", "int8"] as const) : (["int8", "fp32"] as const);
  const first = ours(a);
  const second = ours(b);
  const row = { fp32: a === "fp32" ? first : second, int8: a === "int8" ? first : second, torch: withTorch ? torch() : undefined, load: loadavg() };
  runs.push(row);
  process.stderr.write(
    `round ${r + 1}: fp32 ${row.fp32.images_per_second.toFixed(1)} img/s ${row.fp32.texts_per_second.toFixed(1)} txt/s; int8 ${row.int8.images_per_second.toFixed(1)} / ${row.int8.texts_per_second.toFixed(1)}` +
      `${row.torch ? `; torch ${row.torch.images_per_second.toFixed(1)} / ${row.torch.texts_per_second.toFixed(1)} (texts at ${TEXT_POSITIONS} positions ${row.torch.texts_per_second_equal_work.toFixed(1)})` : ""} (load ${row.load})\n`,
  );
}
const med = (f: (x: (typeof runs)[number]) => number): number => median(runs.map(f));
const fp32 = { images_per_second: med((x) => x.fp32.images_per_second), texts_per_second: med((x) => x.fp32.texts_per_second), peak_rss_mb: Math.max(...runs.map((x) => x.fp32.peak_rss_mb ?? 0)) };
const int8 = { images_per_second: med((x) => x.int8.images_per_second), texts_per_second: med((x) => x.int8.texts_per_second), peak_rss_mb: Math.max(...runs.map((x) => x.int8.peak_rss_mb ?? 0)) };
const t = withTorch
  ? {
      images_per_second: med((x) => x.torch!.images_per_second),
      texts_per_second: med((x) => x.torch!.texts_per_second),
      texts_per_second_equal_work: med((x) => x.torch!.texts_per_second_equal_work),
      text_positions_equal_work: TEXT_POSITIONS,
      version: runs[0].torch!.torch,
    }
  : undefined;
const result = {
  machine: `${os.cpus()[0]?.model ?? "cpu"}, ${os.availableParallelism()} cores`,
  batch,
  threads,
  rounds,
  fp32,
  int8,
  torch_eager_fp32: t,
  ratios: {
    int8_vs_fp32_images: int8.images_per_second / fp32.images_per_second,
    int8_vs_fp32_texts: int8.texts_per_second / fp32.texts_per_second,
    // the same ratios per round (both sides of one round ran back to back)
    per_round_images: runs.map((x) => x.int8.images_per_second / x.fp32.images_per_second),
    per_round_texts: runs.map((x) => x.int8.texts_per_second / x.fp32.texts_per_second),
    ...(t ? { int8_vs_torch_images: int8.images_per_second / t.images_per_second, int8_vs_torch_texts: int8.texts_per_second / t.texts_per_second, int8_vs_torch_texts_equal_work: int8.texts_per_second / t.texts_per_second_equal_work } : {}),
  },
  load_average_after_each_round: runs.map((x) => x.load),
};
process.stdout.write(JSON.stringify(result, null, 2) + "\n");
fs.rmSync(work, { recursive: true, force: true });
