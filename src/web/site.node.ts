/**
 * @file Writes the static site of `clip web`: the page, the bundle (built with esbuild, or the one
 * shipped in the package), onnxruntime-web's WASM files (installed, or shipped) and the checkpoint
 * in the open_clip layout.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";
import { loadCheckpoint, saveCheckpoint } from "../index.js";
import { ORT_FILES, SHIPPED_ASSETS, buildBundle, ortDistDir } from "./bundle.node.js";
import { demoPageHtml, pageHtml } from "./page.js";
import { staticDir } from "../server/static.js";

/** Options of `writeSite`. */
export interface SiteOptions {
  /** Checkpoint directory (any layout `ClipModel.load` reads) copied into model/; none: a page without a model. */
  model?: string;
  /** Build the bundle now with esbuild (default: when esbuild is installed; else the package's dist/web/clip.js). */
  build?: boolean;
  title?: string;
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
    const shipped = path.join(SHIPPED_ASSETS, "clip.js");
    if (!fs.existsSync(shipped)) throw new UserError(`the page's bundle ${shipped} is missing and esbuild is not installed to build it`);
    fs.copyFileSync(shipped, bundle);
  }
  written.push("clip.js");
  const dist = ortDistDir() ?? path.join(SHIPPED_ASSETS, "ort");
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
  // the look of clip serve's page: its stylesheet as it is
  fs.copyFileSync(path.join(staticDir(), "style.css"), path.join(out, "style.css"));
  written.push("style.css");
  fs.writeFileSync(path.join(out, "index.html"), pageHtml({ model: opts.model ? "model/" : undefined, title: opts.title }));
  fs.writeFileSync(path.join(out, "demo.html"), demoPageHtml());
  written.push("index.html", "demo.html");
  return written;
}
