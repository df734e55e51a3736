/** @file Training throughput (issue 7): `clip train` against a PyTorch training loop on the same model,
 * initial weights, batch and Flickr8k data, one run, one machine.
 * Run: node dist/bench/train/train.js [--batch 128] [--steps 12] [--threads N] [--config recipes/X.json]
 * (default recipes/flickr8k-small.json, the ViT; recipes/flickr8k-rn64w32.json is the ModifiedResNet recipe) */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openDataset } from "../../src/data/index.js";
import { parseOpenClipConfig } from "../../src/models/clip/config.js";
import { initState } from "../../src/models/clip/init.js";
import { ClipTokenizer } from "../../src/tokenizer/index.js";
import { saveCheckpoint } from "../../src/weights/checkpoint.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../../..");
const SHARED = path.resolve(ROOT, "../shared");
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const batch = Number(arg("--batch", "128"));
const steps = Number(arg("--steps", "12"));
const threads = Number(arg("--threads", String(os.availableParallelism())));
const recipe = arg("--config", path.join(ROOT, "recipes/flickr8k-small.json"));
const data = path.join(SHARED, "datasets/flickr8k/train-000000.tar");
const vocab = path.join(SHARED, "vocab/bpe_simple_vocab_16e6.txt.gz");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "clip-train-bench-"));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// one initial checkpoint for both sides (OpenAI's vocabulary, so both tokenize identically)
const parsed = parseOpenClipConfig(JSON.parse(fs.readFileSync(recipe, "utf8")));
const config = { ...parsed.config, text_cfg: { ...parsed.config.text_cfg, vocab_size: 49408 } };
const init = path.join(work, "init");
saveCheckpoint(init, config, initState(config, { seed: 0 }), { preprocess: parsed.preprocess, tokenizerFiles: [vocab] });

// the same pairs for PyTorch: JPEG files and every caption's token ids
const tok = await ClipTokenizer.fromFile(vocab, { contextLength: config.text_cfg.context_length });
const items: { jpg: string; tokens: number[][] }[] = [];
fs.mkdirSync(path.join(work, "jpg"));
for await (const s of openDataset(data, { requireCaption: true })) {
  const jpg = path.join(work, "jpg", `${s.key}.jpg`);
  fs.writeFileSync(jpg, s.image!);
  items.push({ jpg, tokens: tok.tokenize(s.captions, { truncate: "silent" }).map((r) => r.slice(0, r.indexOf(tok.eotToken) + 1)) });
}
fs.writeFileSync(path.join(work, "samples.json"), JSON.stringify(items));

const save = path.join(work, "run");
execFileSync(
  process.execPath,
  [path.join(ROOT, "bin/clip.js"), "train", "--init", init, "--data", data, "--batch-size", String(batch), "--steps", String(steps), "--warmup", "0", "--threads", String(threads), "--save", save, "--save-every", String(steps)],
  { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, CLIP_NO_PROGRESS: "1" } },
);
const ours = fs
  .readFileSync(path.join(save, "metrics.jsonl"), "utf8")
  .trim()
  .split("\n")
  .map((l) => JSON.parse(l) as { samples_per_second?: number })
  .filter((m) => m.samples_per_second !== undefined)
  .slice(3)
  .map((m) => m.samples_per_second!);
const torchOut = execFileSync("/usr/bin/python3", [path.join(ROOT, "bench/train/torch_train.py"), init, path.join(work, "samples.json"), String(batch), String(steps), String(threads)], { encoding: "utf8" });
const torch = JSON.parse(torchOut.trim().split("\n").at(-1)!) as { samples_per_second: number; torch: string };
const oursSps = median(ours);
process.stdout.write(
  JSON.stringify(
    {
      machine: `${os.cpus()[0]?.model ?? "cpu"}, ${os.availableParallelism()} cores`,
      model: path.relative(ROOT, recipe),
      batch,
      steps,
      threads,
      samples_per_second: { ours: oursSps, torch: torch.samples_per_second },
      speedup_vs_torch: oursSps / torch.samples_per_second,
      torch_version: torch.torch,
    },
    null,
    2,
  ) + "\n",
);
fs.rmSync(work, { recursive: true, force: true });
