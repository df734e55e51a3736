/**
 * @file Node builtins loaded on first use. `import "clip-ts"` should cost no more than the CLI's own
 * start, and a static import of node:crypto, node:http, node:https, node:zlib, node:worker_threads or node:v8
 * is paid by every fresh process even when no call ever needs it. Each getter loads its module
 * once (Node's require cache) the first time a call needs it; types stay those of the static module.
 */
import { createRequire } from "node:module";

// process.getBuiltinModule (Node >= 20.16) where there is one: createRequire costs a fresh import
// more, so the fallback's require is made on first use too
let nodeRequire: NodeJS.Require | undefined;
const load = <T>(id: string): T => (process.getBuiltinModule?.(id) ?? (nodeRequire ??= createRequire(import.meta.url))(id)) as T;

/** node:fs, for the package bundle (build/fs_by_require.node.ts) */
export const nodeFs = (): typeof import("node:fs") => load("node:fs");
/** node:crypto (the costliest to load of the builtins we use) */
export const nodeCrypto = (): typeof import("node:crypto") => load("node:crypto");
/** node:http */
export const nodeHttp = (): typeof import("node:http") => load("node:http");
/** node:https */
export const nodeHttps = (): typeof import("node:https") => load("node:https");
/** node:zlib */
export const nodeZlib = (): typeof import("node:zlib") => load("node:zlib");
/** node:stream */
export const nodeStream = (): typeof import("node:stream") => load("node:stream");
/** node:worker_threads */
export const nodeWorkerThreads = (): typeof import("node:worker_threads") => load("node:worker_threads");
/** node:v8 */
export const nodeV8 = (): typeof import("node:v8") => load("node:v8");
/** node:vm */
export const nodeVm = (): typeof import("node:vm") => load("node:vm");

/**
 * Starts a worker thread from a module URL. A worker inherits `process.execArgv`, and Node refuses
 * `--input-type` outside `-e`/`--eval`: a program run as `node --input-type=module -e ...` would get
 * workers that fail before their first line. That flag is dropped; every other flag is kept.
 */
export function startWorker(url: URL, options: import("node:worker_threads").WorkerOptions = {}): import("node:worker_threads").Worker {
  const execArgv = process.execArgv.filter((a) => !a.startsWith("--input-type"));
  return new (nodeWorkerThreads().Worker)(url, { execArgv, ...options });
}
