/**
 * @file `clip pull REPO_ID`: download a checkpoint repository into the Hugging Face cache and
 * print its snapshot directory; plus the download progress (a bar per file on stderr) and the
 * `--pretrained` / `--revision` options every command with `--model` shares.
 */
import fs from "node:fs";
import path from "node:path";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import type { PullProgress } from "../weights/hub/pull.js";
import { HF_HUB_PREFIX, configVocabSize, resolveSnapshot, resolveTokenizerDir } from "../weights/hub/resolve.js";
import { SUMMARIES } from "./summaries.js";
import { printJson, warn } from "./output.js";
import { UserError } from "../errors.js";

const MB = 1024 * 1024;

/**
 * A download reporter for stderr: one bar per file (bytes, rate, ETA) on a terminal; elsewhere one
 * line per file fetched. Files found in the cache are silent.
 */
export function downloadProgress(): { onProgress: (p: PullProgress) => void; stop(): void } {
  const tty = process.stderr.isTTY && !process.env.CLIP_NO_PROGRESS;
  let bar: cliProgress.SingleBar | undefined;
  let started = 0;
  let drawn = 0;
  let current = "";
  return {
    onProgress(p) {
      if (p.cached) return;
      const key = `${p.repo}/${p.file}`;
      if (key !== current) {
        bar?.stop();
        bar = undefined;
        current = key;
        started = performance.now();
        if (tty) {
          bar = new cliProgress.SingleBar(
            { stream: process.stderr, format: `${p.file} [{bar}] {mb}/{totalMb} MB | {rate} MB/s | ETA {eta_formatted}`, hideCursor: true, etaBuffer: 50 },
            cliProgress.Presets.shades_classic,
          );
          bar.start(p.total, p.received, { mb: (p.received / MB).toFixed(1), totalMb: (p.total / MB).toFixed(1), rate: "0" });
        }
      }
      const now = performance.now();
      const secs = (now - started) / 1000;
      // redrawn at most 10 times a second: a bar update per socket chunk slowed the download
      if (bar && (p.done || now - drawn >= 100)) {
        drawn = now;
        bar.update(p.received, { mb: (p.received / MB).toFixed(1), totalMb: (p.total / MB).toFixed(1), rate: secs > 0 ? (p.received / MB / secs).toFixed(1) : "0" });
      }
      if (p.done) {
        bar?.stop();
        bar = undefined;
        current = "";
        if (!tty) process.stderr.write(`clip: hf-hub:${p.repo} ${p.file}: ${(p.total / MB).toFixed(1)} MB in ${secs.toFixed(1)} s\n`);
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

/** Copies a snapshot's files (the blobs, not the links) and another folder's tokenizer files into `out`. */
function copyOut(snapshot: string, files: string[], tokDir: string | undefined, out: string): void {
  const copies: [string, string][] = files.map((f) => [path.join(snapshot, f), path.join(out, f)]);
  if (tokDir && path.resolve(tokDir) !== path.resolve(snapshot)) {
    for (const f of fs.readdirSync(tokDir)) if (!files.includes(f)) copies.push([path.join(tokDir, f), path.join(out, f)]);
  }
  for (const [from, to] of copies) {
    try {
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(from, to);
    } catch (e) {
      throw new UserError(`--out ${out}: cannot copy ${from} to ${to}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
}

/** The hub options of a command's parsed flags, for ClipModel.load. */
export function hubOptions(o: { pretrained?: string; revision?: string }, progress: { onProgress: (p: PullProgress) => void }): {
  pretrained?: string;
  revision?: string;
  onDownload: (p: PullProgress) => void;
} {
  return { pretrained: o.pretrained, revision: o.revision, onDownload: progress.onProgress };
}

/** Adds `--pretrained TAG` and `--revision REV` to a command that takes `--model`. */
export function addHubOptions(cmd: Command): Command {
  return cmd
    .option("--pretrained <tag>", "an open_clip pretrained tag for a model name: --model ViT-B-32 --pretrained laion2b_s34b_b79k")
    .option("--revision <rev>", "branch, tag or commit of a hub repository (default main)");
}

/** The --model help text of every command. */
export const MODEL_HELP = "checkpoint directory, hf-hub:ORG/NAME (or ORG/NAME), or an open_clip model name with --pretrained";

export function register(program: Command): void {
  program
    .command("pull")
    .summary(SUMMARIES.pull)
    .description(
      "Download a checkpoint repository from the Hugging Face hub into its cache ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub, " +
        "shared with Python) and print the snapshot directory. Takes ORG/NAME, hf-hub:ORG/NAME, or an open_clip name with --pretrained. " +
        "Honours HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE=1.",
    )
    .argument("<repo>", "repository id (ORG/NAME or hf-hub:ORG/NAME) or open_clip model name")
    .option("--pretrained <tag>", "open_clip pretrained tag, with an open_clip model name (e.g. ViT-B-32 --pretrained openai)")
    .option("--revision <rev>", "branch, tag or commit", "main")
    .option("--out <dir>", "also copy the checkpoint (and the tokenizer it uses) into DIR, a plain directory (huggingface_hub's local_dir); printed instead of the snapshot")
    .option("--json", 'print {"path", "repo", "commit"} (and "out" with --out)')
    .action(async (ref: string, o: { pretrained?: string; revision: string; out?: string; json?: boolean }) => {
      const progress = downloadProgress();
      // a bare ORG/NAME that also exists as a local folder is still a repository here
      const id = !o.pretrained && !ref.startsWith(HF_HUB_PREFIX) && /^[\w.-]+\/[\w.-]+$/.test(ref) ? `${HF_HUB_PREFIX}${ref}` : ref;
      try {
        const hub = { onProgress: progress.onProgress, onWarning: warn };
        const snap = await resolveSnapshot(id, { ...hub, pretrained: o.pretrained, revision: o.revision });
        if (!("commit" in snap)) {
          process.stdout.write(`${snap.path}\n`);
          return;
        }
        // the tokenizer a checkpoint without one uses (OpenAI's, or text_cfg.hf_tokenizer_name), so that it works offline afterwards
        let tokDir: string | undefined;
        try {
          tokDir = await resolveTokenizerDir(snap.path, { ...hub, fromHub: true, vocabSize: configVocabSize(snap.path) });
        } catch (e) {
          if (!(e instanceof UserError)) throw e;
          warn(`the checkpoint is pulled, but not a tokenizer for it (texts cannot be embedded): ${e.message}`);
        }
        if (o.out) copyOut(snap.path, snap.files, tokDir, o.out);
        if (o.json) printJson({ path: snap.path, repo: snap.repo, commit: snap.commit, ...(o.out ? { out: o.out } : {}) });
        else process.stdout.write(`${o.out ?? snap.path}\n`);
      } finally {
        progress.stop();
      }
    });
}
