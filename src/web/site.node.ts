/**
 * @file Writes the static site of `clip web`: the page, the bundle (built with esbuild, or the one
 * shipped in the package), onnxruntime-web's WASM files and the checkpoint in the open_clip layout.
 */
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.js";
import { loadCheckpoint, saveCheckpoint } from "../index.js";
import { buildBundle } from "./bundle.node.js";
import { pageHtml } from "./page.js";

/** ORT's WASM glue and binary the page loads (the WASM backend with SIMD and threads). */
export const ORT_FILES = ["ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"];
/** The bundle shipped in the package (built by `npm run build`). */
export const SHIPPED_BUNDLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../web/clip.js");

/** Options of `writeSite`. */
export interface SiteOptions {
  /** Checkpoint directory (any layout `ClipModel.load` reads) copied into model/; none: a page without a model. */
  model?: string;
  /** Build the bundle now with esbuild (default: when esbuild is installed; else the shipped bundle). */
  build?: boolean;
  title?: string;
}

/** The folder of onnxruntime-web's dist files. */
export function ortDistDir(): string {
  const req = createRequire(import.meta.url);
  return path.dirname(req.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm"));
}

/** Writes the site into `out` (created); returns the files written, relative to `out`. */
export async function writeSite(out: string, opts: SiteOptions = {}): Promise<string[]> {
  fs.mkdirSync(path.join(out, "ort"), { recursive: true });
  const written: string[] = [];
  const bundle = path.join(out, "clip.js");
  let built = false;
  if (opts.build !== false) {
    try {
      await buildBundle(bundle);
      built = true;
    } catch (e) {
      if (opts.build === true || !(e instanceof UserError)) throw e;
    }
  }
  if (!built) {
    if (!fs.existsSync(SHIPPED_BUNDLE)) throw new UserError(`the page's bundle ${SHIPPED_BUNDLE} is missing and esbuild is not installed to build it`);
    fs.copyFileSync(SHIPPED_BUNDLE, bundle);
  }
  written.push("clip.js");
  const dist = ortDistDir();
  for (const f of ORT_FILES) {
    fs.copyFileSync(path.join(dist, f), path.join(out, "ort", f));
    written.push(`ort/${f}`);
  }
  if (opts.model) {
    const ck = loadCheckpoint(opts.model);
    if (!ck.tokenizer.bpe) process.stderr.write(`clip: warning: ${opts.model} has no bpe_simple_vocab_16e6.txt.gz: the page embeds images only\n`);
    saveCheckpoint(path.join(out, "model"), ck.config, ck.state, { preprocess: ck.preprocess, tokenizerFiles: ck.tokenizer.bpe ? [ck.tokenizer.bpe] : [] });
    written.push(...fs.readdirSync(path.join(out, "model")).map((f) => `model/${f}`));
  }
  fs.writeFileSync(path.join(out, "index.html"), pageHtml({ model: opts.model ? "model/" : undefined, title: opts.title }));
  written.push("index.html");
  return written;
}
