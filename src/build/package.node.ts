/**
 * @file Bundles the package's entry points (`clip-ts`, `clip-ts/graph`, `clip-ts/search`) into
 * dist/pkg/ with esbuild: ES modules, code splitting (one shared chunk per group of modules, so a
 * class is the same object whichever entry imports it), dependencies left as imports. A fresh
 * `import("clip-ts")` then reads 4 files instead of about 100; Node's ES module loader spends
 * much of a cold import per file.
 *
 * Worker threads are started as `new Worker(new URL("./NAME.js", import.meta.url))`. esbuild leaves
 * that expression as it is, so every such worker becomes an entry named NAME in the same flat
 * folder as the chunks: the relative URL then resolves in the bundle as it does in dist/src/. The
 * build fails if two workers share a name, or if an output refers to a sibling that was not written.
 *
 * Three things keep a fresh `import "clip-ts"` no dearer than the CLI's own start (bench/startup):
 * - the main entry's modules sit in one chunk: every other root that reaches some of them (a lazily
 *   imported module, `clip-ts/search`) imports the main entry first (`anchorToMain`), so esbuild
 *   sees one set of roots for all of them; `clip-ts/graph` and what it loads are left out and keep
 *   their own small chunks. A fresh import reads 4 files (10 before, about 100 unbundled);
 * - a dynamic `import("./x.js")` in a module the main entry loads anyway, of a module it loads
 *   anyway, becomes the namespace already loaded. In dist/src/ such imports keep the CLI's
 *   commands from loading what they never use; in the bundle each one would only split the main
 *   entry's code into more chunk files, and Node spends a cold import per file;
 * - fflate is aliased to build/fflate_lazy.node.ts, which loads it on first call, and node:fs to
 *   build/fs_by_require.node.ts, which skips the ES facade of node:fs.
 *
 * The package's build step runs `node dist/src/build/package.node.js` after tsc; the CLI (bin/clip.js)
 * keeps running dist/src/, and the types stay dist/src/**.d.ts.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Metafile, Plugin } from "esbuild";
import { InternalError, UserError } from "../errors.js";

/** The compiled sources (dist/src/) this file sits in. */
const DIST_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Public entry points: output name -> module under dist/src/ (package.json "exports" maps to these). */
export const PACKAGE_ENTRIES: Record<string, string> = {
  index: "index.js",
  graph: "graph.js",
  search: "index/index.js",
};

/** `new URL("./NAME.js", import.meta.url)`: a worker (or other sibling module) a module starts by URL. */
const SIBLING_URL = /new URL\("\.\/([\w.-]+)\.js", import\.meta\.url\)/g;

/** Packages the bundle leaves as imports: every dependency of package.json (and its subpaths). */
function externals(distSrc: string): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(distSrc, "..", "..", "package.json"), "utf8")) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  return Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).flatMap((n) => [n, `${n}/*`]);
}

/** `import("./x.js")` or `import("../a/x.js")` in compiled JavaScript: a dynamic import of one of our modules. */
const DYNAMIC_IMPORT = /\bimport\(("\.{1,2}\/[^"]+\.js")\)/g;

/**
 * The absolute paths of the modules a fresh import of `entry` loads: its closure over static
 * imports in a build's metafile (whose paths are relative to `cwd`).
 */
export function staticClosure(meta: Metafile, entry: string, cwd: string): Set<string> {
  const loaded = new Set<string>();
  const todo = [path.resolve(entry)];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (loaded.has(file)) continue;
    loaded.add(file);
    const input = meta.inputs[path.relative(cwd, file)];
    if (!input) throw new InternalError(`${file} is not among the bundle's inputs`);
    for (const i of input.imports) if (i.kind === "import-statement" && !i.external) todo.push(path.resolve(cwd, i.path));
  }
  return loaded;
}

/**
 * Rewrites `import("./x.js")` in `source` (the module at `file`) as `Promise.resolve(ns)` of a
 * static namespace import, when x is in `loaded`; other dynamic imports stay. Returns the new source
 * and how many it rewrote.
 */
export function inlineLoadedImports(source: string, file: string, loaded: Set<string>): { source: string; rewritten: number } {
  const head: string[] = [];
  const body = source.replace(DYNAMIC_IMPORT, (call: string, spec: string) => {
    if (!loaded.has(path.resolve(path.dirname(file), JSON.parse(spec) as string))) return call;
    const name = `__loaded${head.length}`;
    head.push(`import * as ${name} from ${spec};`);
    return `Promise.resolve(${name})`;
  });
  return { source: head.join("") + body, rewritten: head.length };
}

/**
 * The roots esbuild splits chunks by, besides the main entry: the other public entries and every
 * module some input imports dynamically (after `inlineLoadedImports`, so not those in `loaded`),
 * each with the modules of `loaded` it reaches statically. Only roots that reach some are returned.
 */
export function rootsSharingMain(meta: Metafile, loaded: Set<string>, entries: string[], cwd: string): string[] {
  const roots = new Set(entries.map((e) => path.resolve(e)));
  for (const input of Object.values(meta.inputs)) {
    for (const i of input.imports) if (i.kind === "dynamic-import" && !i.external) roots.add(path.resolve(cwd, i.path));
  }
  return [...roots].filter((r) => !loaded.has(r) && [...staticClosure(meta, r, cwd)].some((m) => loaded.has(m)));
}

/**
 * An esbuild plugin adding `import "MAIN"` (the main entry) to each of `roots`. esbuild puts a
 * module in one chunk per set of roots that reach it; when every root that reaches any module the
 * main entry loads reaches them all, the main entry's modules share one set and land in one chunk.
 * The cost: such a root loads the main entry's code with its own, which a module imported lazily
 * from the main entry's code, or `clip-ts/search` (built on ClipModel), loads anyway.
 */
function anchorToMain(main: string, roots: string[]): Plugin {
  const anchored = new Set(roots);
  return {
    name: "anchor-to-main",
    setup(build) {
      build.onLoad({ filter: /\.js$/ }, (args) => {
        if (!anchored.has(args.path)) return undefined;
        const rel = path.relative(path.dirname(args.path), main).split(path.sep).join("/");
        const spec = rel.startsWith("../") ? rel : `./${rel}`;
        return { contents: `import ${JSON.stringify(spec)};\n${fs.readFileSync(args.path, "utf8")}`, loader: "js" };
      });
    },
  };
}

/** An esbuild plugin resolving `node:fs` (exactly: not node:fs/promises) to build/fs_by_require.node.ts. */
function fsByRequire(distSrc: string): Plugin {
  const file = path.join(distSrc, "build", "fs_by_require.node.js");
  return {
    name: "fs-by-require",
    setup(build) {
      build.onResolve({ filter: /^(node:)?fs$/ }, (args) => (args.importer === file ? undefined : { path: file }));
    },
  };
}

/** The esbuild plugin applying `inlineLoadedImports` to every module in `loaded` (see the file's header). */
function inlineLoaded(loaded: Set<string>): Plugin {
  return {
    name: "inline-loaded-imports",
    setup(build) {
      build.onLoad({ filter: /\.js$/ }, (args) => {
        if (!loaded.has(args.path)) return undefined;
        return { contents: inlineLoadedImports(fs.readFileSync(args.path, "utf8"), args.path, loaded).source, loader: "js" };
      });
    },
  };
}

/** Every .js file under `dir`, recursively (relative paths). */
function jsFiles(dir: string, rel = ""): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) return jsFiles(dir, r);
    return e.name.endsWith(".js") ? [r] : [];
  });
}

/**
 * The modules started by URL from the compiled sources of the library layers: name -> file under
 * dist/src/. The CLI, the server and the page are not bundled and are skipped.
 */
export function workerEntries(distSrc = DIST_SRC): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of jsFiles(distSrc)) {
    if (/^(cli|server|web|build)\//.test(rel.split(path.sep).join("/"))) continue;
    const text = fs.readFileSync(path.join(distSrc, rel), "utf8");
    for (const m of text.matchAll(SIBLING_URL)) {
      const name = m[1]!;
      const file = path.join(path.dirname(rel), `${name}.js`);
      if (out[name] && out[name] !== file) {
        throw new InternalError(`two modules started by URL share the name ${name}.js (${out[name]} and ${file}): the flat bundle folder needs unique names`);
      }
      if (!fs.existsSync(path.join(distSrc, file))) throw new InternalError(`${rel} starts ./${name}.js, which does not exist as ${file}`);
      out[name] = file;
    }
  }
  return out;
}

/** Checks that every `new URL("./NAME.js", import.meta.url)` in the bundle names a file written beside it. */
export function checkSiblings(outDir: string): void {
  for (const f of fs.readdirSync(outDir).filter((n) => n.endsWith(".js"))) {
    for (const m of fs.readFileSync(path.join(outDir, f), "utf8").matchAll(SIBLING_URL)) {
      if (!fs.existsSync(path.join(outDir, `${m[1]}.js`))) throw new InternalError(`${path.join(outDir, f)} starts ./${m[1]}.js, which the bundle did not write`);
    }
  }
}

/** Writes the package bundle to `outDir` (emptied first). Needs esbuild, a development dependency. */
export async function buildPackage(outDir: string, distSrc = DIST_SRC): Promise<string[]> {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch {
    throw new UserError("bundling the package needs esbuild (a development dependency of clip-ts): npm install esbuild");
  }
  fs.rmSync(outDir, { recursive: true, force: true });
  const cwd = process.cwd();
  const common = {
    absWorkingDir: cwd,
    outdir: outDir,
    entryNames: "[name]",
    chunkNames: "chunk-[hash]",
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // dependencies stay imports
    external: externals(distSrc),
    // fflate loads on first call (see the header)
    alias: { fflate: path.join(distSrc, "build", "fflate_lazy.node.js") },
    // whitespace and syntax only; keepNames: a class or function keeps its source name (`.name`,
    // stack traces, console.log) where esbuild renames it (classes with static members become
    // `_ClipModel`, names two modules share get a suffix), at the cost of a call per function at import
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    metafile: true,
    logLevel: "silent",
  } as const;
  const at = (map: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(map).map(([name, file]) => [name, path.join(distSrc, file)]));
  // The public entries share chunks (one class object whichever entry imports it); each worker is a
  // bundle of its own (a worker thread shares no objects with its parent), so workers add no chunks
  // and a fresh import of the main entry reads fewer files.
  const outputs: string[] = [];
  // a first pass (nothing written) finds what the main entry loads statically
  const fsPlugin = fsByRequire(distSrc);
  const graph = await esbuild.build({ ...common, entryPoints: at(PACKAGE_ENTRIES), splitting: true, write: false, plugins: [fsPlugin] });
  const mainEntry = path.join(distSrc, PACKAGE_ENTRIES.index!);
  const loaded = staticClosure(graph.metafile, mainEntry, cwd);
  // clip-ts/graph stays light: no root it loads is anchored (the modules it shares with the main
  // entry stay a chunk of their own)
  const light = staticClosure(graph.metafile, path.join(distSrc, PACKAGE_ENTRIES.graph!), cwd);
  const roots = rootsSharingMain(graph.metafile, loaded, Object.values(at(PACKAGE_ENTRIES)), cwd).filter((r) => !light.has(r));
  const main = await esbuild.build({ ...common, entryPoints: at(PACKAGE_ENTRIES), splitting: true, plugins: [fsPlugin, inlineLoaded(loaded), anchorToMain(mainEntry, roots)] });
  outputs.push(...Object.keys(main.metafile.outputs));
  for (const [name, file] of Object.entries(workerEntries(distSrc))) {
    const w = await esbuild.build({ ...common, entryPoints: at({ [name]: file }), splitting: false, plugins: [fsPlugin] });
    outputs.push(...Object.keys(w.metafile.outputs));
  }
  checkSiblings(outDir);
  return outputs;
}

// `node dist/src/build/package.node.js [DIR]`: the package's build step (DIR defaults to dist/pkg)
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = path.resolve(process.argv[2] ?? path.join(DIST_SRC, "..", "pkg"));
  const files = await buildPackage(out);
  process.stdout.write(`bundled the package: ${files.length} files in ${path.relative(process.cwd(), out) || "."}\n`);
}
