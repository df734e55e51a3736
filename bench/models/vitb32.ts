/** @file Inference benchmark (issue 3): our ViT-B-32 against PyTorch eager and ONNX Runtime running a
 * torch.onnx.export of the same model and weights, one run, one machine.
 * Run: node dist/bench/models/vitb32.js [--model DIR] [--batch 16] [--threads N] [--rounds 3] */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { OnnxFileSession } from "../../src/runtime/session.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../../..");
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const batch = Number(arg("--batch", "16"));
const threads = Number(arg("--threads", String(os.availableParallelism())));
const iters = Number(arg("--iters", "10"));
const work = fs.mkdtempSync(path.join(os.tmpdir(), "clip-bench-"));
const model = arg("--model", path.join(work, "vitb32"));
const cli = path.join(ROOT, "bin/clip.js");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

if (!fs.existsSync(path.join(model, "open_clip_model.safetensors"))) {
  execFileSync(process.execPath, [cli, "init", "--arch", "ViT-B-32", "--out", model, "--seed", "0"], { stdio: "inherit" });
}
interface Ours {
  images_per_second: number;
  texts_per_second: number;
  peak_rss_mb: number;
}
// ours, in its own process so its peak memory is its own
const oursRun = (): Ours => JSON.parse(execFileSync(process.execPath, [cli, "bench", "--model", model, "--batch", String(batch), "--threads", String(threads), "--seconds", "8", "--json"], { encoding: "utf8" })) as Ours;
const torchOut = execFileSync("/usr/bin/python3", [path.join(ROOT, "bench/models/torch_clip.py"), model, String(batch), String(iters), String(threads), path.join(work, "onnx")], { encoding: "utf8" });
const torch = JSON.parse(torchOut.trim().split("\n").at(-1)!) as { torch_images_per_second: number; torch_texts_per_second: number; image_onnx: string; text_onnx: string; torch: string };

/** The exported model in ORT: with our thread count, or (`defaults`) with ORT's own session options. */
async function exportedRate(file: string, feed: "pixels" | "tokens", defaults = false): Promise<number> {
  const s = await OnnxFileSession.open(file, defaults ? {} : { threads });
  const n = feed === "pixels" ? batch * 3 * 224 * 224 : batch * 77;
  const data = feed === "pixels" ? new Float32Array(n).map((_v, i) => Math.sin(i)) : new BigInt64Array(n).map((_v, i) => BigInt(i % 77 === 0 ? 49406 : i % 77 === 12 ? 49407 : i % 77 > 12 ? 0 : (i * 7919) % 49000));
  const shape = feed === "pixels" ? [batch, 3, 224, 224] : [batch, 77];
  const run = (): Promise<unknown> => s.run({ [feed]: { data, shape } });
  await run();
  await run();
  const ts: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await run();
    ts.push((performance.now() - t0) / 1000);
  }
  await s.release();
  return batch / median(ts);
}

// ours and the export alternate for --rounds rounds, so that a burst of load from other jobs hits
// both sides; medians over rounds are reported
const rounds: { ours: Ours; onnxImg: number; onnxTxt: number; onnxImgDefaults: number; onnxTxtDefaults: number }[] = [];
for (let r = 0; r < Number(arg("--rounds", "3")); r++) {
  const o = oursRun();
  rounds.push({
    ours: o,
    onnxImg: await exportedRate(torch.image_onnx, "pixels"),
    onnxTxt: await exportedRate(torch.text_onnx, "tokens"),
    // what a user gets from InferenceSession.create(file) as is: ORT counts physical cores for its threads
    onnxImgDefaults: await exportedRate(torch.image_onnx, "pixels", true),
    onnxTxtDefaults: await exportedRate(torch.text_onnx, "tokens", true),
  });
  process.stderr.write(`round ${r + 1}: ours ${o.images_per_second.toFixed(1)} img/s ${o.texts_per_second.toFixed(1)} txt/s, export ${rounds.at(-1)!.onnxImg.toFixed(1)} / ${rounds.at(-1)!.onnxTxt.toFixed(1)}\n`);
}
const med = (f: (x: (typeof rounds)[number]) => number): number => median(rounds.map(f));
const ours = { images_per_second: med((x) => x.ours.images_per_second), texts_per_second: med((x) => x.ours.texts_per_second), peak_rss_mb: Math.max(...rounds.map((x) => x.ours.peak_rss_mb)) };
const onnxImg = med((x) => x.onnxImg);
const onnxTxt = med((x) => x.onnxTxt);
const onnxImgDefaults = med((x) => x.onnxImgDefaults);
const onnxTxtDefaults = med((x) => x.onnxTxtDefaults);
// multiply-adds of the image tower per image: patch embedding, then per block qkv, out, MLP, attention
const vc = { width: 768, layers: 12, patch: 32, size: 224 };
const tokens = (vc.size / vc.patch) ** 2 + 1;
const macs = (tokens - 1) * 3 * vc.patch ** 2 * vc.width + vc.layers * (tokens * vc.width * vc.width * 12 + 2 * tokens * tokens * vc.width);
const result = {
  machine: `${os.cpus()[0]?.model ?? "cpu"}, ${os.availableParallelism()} cores`,
  batch,
  threads,
  images_per_second: { ours: ours.images_per_second, torch_eager: torch.torch_images_per_second, torch_onnx_export_in_ort: onnxImg, torch_onnx_export_in_ort_defaults: onnxImgDefaults },
  texts_per_second: { ours: ours.texts_per_second, torch_eager: torch.torch_texts_per_second, torch_onnx_export_in_ort: onnxTxt, torch_onnx_export_in_ort_defaults: onnxTxtDefaults },
  ours_image_gflops_per_second: (ours.images_per_second * 2 * macs) / 1e9,
  ratios: {
    images_vs_torch: ours.images_per_second / torch.torch_images_per_second,
    images_vs_exported_onnx: ours.images_per_second / onnxImg,
    images_vs_exported_onnx_ort_defaults: ours.images_per_second / onnxImgDefaults,
    texts_vs_torch: ours.texts_per_second / torch.torch_texts_per_second,
    texts_vs_exported_onnx: ours.texts_per_second / onnxTxt,
    texts_vs_exported_onnx_ort_defaults: ours.texts_per_second / onnxTxtDefaults,
  },
  ours_peak_rss_mb: ours.peak_rss_mb,
  torch_version: torch.torch,
};
process.stdout.write(JSON.stringify(result, null, 2) + "\n");
fs.rmSync(work, { recursive: true, force: true });
