/** @file Builds the page's JavaScript bundle from src/web/browser/main.ts with esbuild (browser platform: a Node import fails the build). */
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
