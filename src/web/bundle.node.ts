/**
 * @file Builds the page's assets: the JavaScript bundle of src/web/browser/main.ts (esbuild, browser
 * platform: a Node import fails the build) and onnxruntime-web's WASM files beside it. The package's
 * build step writes them to dist/web/ so an installed clip-ts needs neither esbuild nor onnxruntime-web.
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.js";

/** The bundle entry, as TypeScript source (the repository) or compiled JavaScript (dist/, the package). */
export function bundleEntry(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.join(here, "browser", "main.js");
}

/**
 * The core reaches Node-only modules (*.node.js) only through dynamic import() on Node-only paths
 * (DESIGN.md: tokenizer.fromDir reads files): those stay out of the bundle. A static import of one
 * fails the build, as does any node: builtin.
 */
const nodeOnlyOnDemand: import("esbuild").Plugin = {
  name: "node-only-on-demand",
  setup(b) {
    b.onResolve({ filter: /\.node\.js$/ }, (args) => {
      if (args.kind === "dynamic-import") return { path: args.path, external: true };
      return { errors: [{ text: `${args.importer} imports the Node-only module ${args.path} statically: the browser bundle cannot include it` }] };
    });
  },
};

/** Bundles the browser entry into `outFile` (ES module, minified unless `minify` is false). */
export async function buildBundle(outFile: string, opts: { minify?: boolean } = {}): Promise<void> {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch {
    throw new UserError("building the page's bundle needs esbuild (a development dependency of clip-ts): npm install esbuild");
  }
  await esbuild.build({
    entryPoints: [bundleEntry()],
    outfile: outFile,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    // onnxruntime-web's build that loads its WASM glue (ort-wasm-simd-threaded.mjs) from the page's ort/ folder
    conditions: ["onnxruntime-web-use-extern-wasm"],
    minify: opts.minify ?? true,
    plugins: [nodeOnlyOnDemand],
    logLevel: "silent",
  });
}

/** ORT's WASM glue and binary the page loads (the WASM backend with SIMD and threads). */
export const ORT_FILES = ["ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"];
/** The assets shipped in the package: dist/web/ (clip.js, ort/). */
export const SHIPPED_ASSETS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../web");

/** The folder of onnxruntime-web's dist files; null when it is not installed (an installed clip-ts). */
export function ortDistDir(): string | null {
  try {
    return path.dirname(createRequire(import.meta.url).resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm"));
  } catch {
    return null;
  }
}

/** Writes clip.js and ort/ORT_FILES into `dir` (needs esbuild and onnxruntime-web: a development install). */
export async function buildWebAssets(dir: string): Promise<void> {
  const dist = ortDistDir();
  if (!dist) throw new UserError("building the page's assets needs onnxruntime-web (a development dependency of clip-ts)");
  fs.mkdirSync(path.join(dir, "ort"), { recursive: true });
  await buildBundle(path.join(dir, "clip.js"));
  for (const f of ORT_FILES) fs.copyFileSync(path.join(dist, f), path.join(dir, "ort", f));
}

// `node dist/src/web/bundle.node.js DIR`: the package's build step writes the shipped assets
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write("usage: node bundle.node.js DIR\n");
    process.exitCode = 2;
  } else await buildWebAssets(out);
}
