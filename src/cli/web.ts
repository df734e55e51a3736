/** @file `clip web`: writes the static site that runs CLIP in the browser, and optionally serves it. */
import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { SUMMARIES } from "./summaries.js";
import { UserError } from "../errors.js";
import { writeSite } from "../web/site.node.js";
import { serveStatic } from "../web/serve.node.js";
import { intArg } from "./options.js";
import { printJson } from "./output.js";
import { modelDir } from "./model.js";

interface WebFlags {
  model: string;
  out: string;
  serve?: boolean;
  port: number;
  host: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("web")
    .summary(SUMMARIES.web)
    .description(
      "Write a static site (page, JavaScript bundle, onnxruntime-web's WASM files, the checkpoint) that embeds, zero-shot classifies and searches dropped images " +
        "entirely in the browser. Serve it over HTTP with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp " +
        "(--serve does), or WASM threads are off; file:// cannot load it.",
    )
    .requiredOption("--model <dir>", "checkpoint directory (open_clip, Hugging Face or PyTorch layout)")
    .requiredOption("--out <dir>", "folder to write the site into")
    .option("--serve", "serve the site on loopback until interrupted")
    .option("--port <n>", "port for --serve (0: any free one)", intArg("--port", 0), 8080)
    .option("--host <host>", "address for --serve", "127.0.0.1")
    .option("--json", "print {out, files, url?} as one JSON document")
    .action(async (o: WebFlags) => {
      if (o.port > 65535) throw new UserError(`--port ${o.port}: at most 65535`);
      if (fs.existsSync(o.out) && !fs.statSync(o.out).isDirectory()) throw new UserError(`--out ${o.out}: exists and is not a directory`);
      const files = await writeSite(o.out, { model: modelDir(o.model) });
      let url: string | undefined;
      if (o.serve) {
        let server;
        try {
          server = await serveStatic(o.out, { host: o.host, port: o.port });
        } catch (e) {
          throw new UserError(`--serve: cannot listen on ${o.host}:${o.port} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
        url = server.url;
      }
      if (o.json) printJson({ out: path.resolve(o.out), files, ...(url ? { url } : {}) });
      else {
        process.stdout.write(`wrote ${files.length} files to ${o.out}\n`);
        if (url) process.stdout.write(`serving ${url} (cross-origin isolated; Ctrl-C to stop)\n`);
        else process.stdout.write(`serve it with: clip web --model ${o.model} --out ${o.out} --serve (or any server sending COOP/COEP headers)\n`);
      }
    });
}
