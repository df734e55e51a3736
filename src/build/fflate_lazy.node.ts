/**
 * @file fflate for the Node package bundle, loaded on first call. fflate's module builds its
 * Huffman tables at import, a cost every `import "clip-ts"` would pay though most processes never
 * inflate anything; the package build aliases `fflate` to this file, which loads fflate's browser
 * build (the same synchronous code, without the Node build's node:worker_threads) the first time
 * a function below runs. Only what the library calls is re-exported: a new import from fflate
 * fails the package build until it is added here.
 */
import { createRequire } from "node:module";

type Fflate = typeof import("fflate");
let lib: Fflate | undefined;
const fflate = (): Fflate => (lib ??= createRequire(import.meta.url)("fflate/browser") as Fflate);

/** fflate's `inflateSync` (raw DEFLATE). */
export const inflateSync = ((...args: Parameters<Fflate["inflateSync"]>) => fflate().inflateSync(...args)) as Fflate["inflateSync"];
/** fflate's `unzlibSync` (zlib-wrapped DEFLATE). */
export const unzlibSync = ((...args: Parameters<Fflate["unzlibSync"]>) => fflate().unzlibSync(...args)) as Fflate["unzlibSync"];
