/** @file The onnxruntime-node adapter: sessions from emitted bytes or, for large weights, a mapped external-data file. */
import { mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import type * as Ort from "onnxruntime-node";
import type { DType, HostArray } from "../ir/dtype.js";
import { dtypeOfHost } from "../ir/dtype.js";
import { topoSort } from "../ir/graph.js";
import type { OpAttrs } from "../ir/ops.js";
import type { Tensor } from "../ir/tensor.js";
import { type EmitOptions, type Emitted, emitModel } from "../onnx/emit.js";
import { UserError } from "../errors.js";
import { type Backend, type CompileOptions, CompiledGraph, type HostTensor, type OrtSessionLike, plainMemory, sessionError, setDefaultBackend, usesFloat64 } from "./core.js";
import { type CacheHit, MODEL_FILE, WEIGHTS_FILE, beginEntry, commitEntry, entryDir, lookup, removeEntry, sessionKey } from "./cache.node.js";

/** ONNX Runtime's Node binding, loaded on first use so that importing the library stays cheap. */
let ort: typeof Ort;
async function loadOrt(): Promise<typeof Ort> {
  return (ort ??= await import("onnxruntime-node"));
}

const ORT_TYPE: Record<DType, Ort.Tensor.Type> = { float32: "float32", float64: "float64", int64: "int64", int32: "int32", int8: "int8", bool: "bool" };
const makeTensor = (type: DType, data: HostArray, dims: number[]): Ort.Tensor => new ort.Tensor(ORT_TYPE[type], data as never, dims);
const EXTERNAL_THRESHOLD = 1.8e9;
/** Initializer bytes beyond which inference weights are passed to ORT as a mapped file. */
const MAPPED_WEIGHTS_BYTES = 64 * 2 ** 20;

/** Compiles graphs with onnxruntime-node (all cores by default, large weights through a mapped file). */
export const nodeBackend: Backend = {
  name: "onnxruntime-node",
  async compile(outputs: Record<string, Tensor>, opts: CompileOptions): Promise<CompiledGraph> {
    await loadOrt();
    const cache = cacheEntry(outputs, opts);
    if (!cache) return compileFresh(outputs, opts);
    const hit = lookup(cache.dir, cache.key);
    const cached = hit && (await openCached(hit, opts));
    if (cached) return cached;
    if (hit) removeEntry(cache.dir); // ORT could not load it: rebuilt below
    // ORT writes the optimized model into a fresh directory, renamed into the cache once the session exists
    const tmp = beginEntry(cache.dir);
    if (!tmp) return compileFresh(outputs, opts);
    try {
      const g = await compileFresh(outputs, opts, {
        optimizedModelFilePath: path.join(tmp, MODEL_FILE),
        extra: { session: { optimized_model_external_initializers_file_name: WEIGHTS_FILE, optimized_model_external_initializers_min_size_in_bytes: "1024" } },
        logSeverityLevel: 3, // not ORT's warning that an optimized model holds CPU-specific kernels: the key names the CPU
      });
      commitEntry(tmp, cache.dir, { key: cache.key, group: cache.group, inputs: g.inputs, outputs: g.outputs });
      return g;
    } catch (e) {
      removeEntry(tmp);
      throw e;
    }
  },
};
setDefaultBackend(nodeBackend);

/** Emits the graph and builds its session (`extra` adds session options: writing the optimized model). */
async function compileFresh(outputs: Record<string, Tensor>, opts: CompileOptions, extra: Ort.InferenceSession.SessionOptions = {}): Promise<CompiledGraph> {
  const w = opts.weights;
  const weights = w instanceof Map ? (n: string) => w.get(n) : w;
  const emitOpts: EmitOptions = { weights };
  const sessionOptions = (e: Emitted): Ort.InferenceSession.SessionOptions => ({
    executionProviders: [opts.executionProvider ?? "cpu"],
    // ORT's extended fusions (QuickGelu, attention...) exist for float32 only and break float64 graphs
    graphOptimizationLevel: opts.optimization ?? (usesFloat64(e) ? "basic" : "all"),
    // ORT's own default counts physical cores, which on 2-vCPU machines means one thread
    intraOpNumThreads: opts.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    ...(opts.optimizedModelPath ? { optimizedModelFilePath: opts.optimizedModelPath } : {}),
    ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
    ...extra,
  });
  const wrap = (s: Ort.InferenceSession, e: Emitted): CompiledGraph => new CompiledGraph(s as unknown as OrtSessionLike, e.inputs, e.outputs, makeTensor);
  // Large weights go to a file ORT maps into memory: its pages are the only copy ORT keeps besides
  // the pre-packed GEMM panels (inline weights are copied out of the model bytes, then packed).
  if (!opts.externalData && (!weights || weightBytes(outputs, weights) <= MAPPED_WEIGHTS_BYTES)) {
    const emitted = emitModel(outputs, emitOpts);
    if (emitted.bytes.byteLength <= EXTERNAL_THRESHOLD) {
      opts.onWeightsCopied?.();
      return wrap(await createSession(emitted.bytes, sessionOptions(emitted)), emitted);
    }
  }
  let dir: string;
  try {
    dir = mkdtempSync(path.join(tmpdir(), "clip-ts-"));
  } catch (e) {
    throw tmpError(e, tmpdir());
  }
  try {
    let fd: number;
    try {
      fd = openSync(path.join(dir, "weights.bin"), "w");
    } catch (e) {
      throw tmpError(e, dir);
    }
    let emitted: Emitted;
    try {
      const sink = (chunk: Uint8Array): void => {
        for (let off = 0; off < chunk.byteLength; ) off += writeSync(fd, chunk, off);
      };
      emitted = emitModel(outputs, { ...emitOpts, externalData: { location: "weights.bin", sink } });
      writeFileSync(path.join(dir, "model.onnx"), emitted.bytes);
    } catch (e) {
      throw tmpError(e, dir);
    } finally {
      closeSync(fd);
    }
    opts.onWeightsCopied?.();
    // ORT maps the file; the mapping outlives the directory's removal below
    return wrap(await createSession(path.join(dir, "model.onnx"), sessionOptions(emitted)), emitted);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The cache entry of a compile (its directory and full key), or undefined when the graph is not cached. */
function cacheEntry(outputs: Record<string, Tensor>, opts: CompileOptions): { dir: string; key: string; group?: string } | undefined {
  const c = opts.cache;
  // a caller asking for the optimized model at a path of its own gets it written there, uncached
  if (!c || !opts.weights || opts.optimizedModelPath || paramBytes(outputs) < (c.minWeightBytes ?? 0)) return undefined;
  // the graph's structure: its ONNX bytes with every param left as an input (no weights read)
  const structure = emitModel(outputs, {}).bytes;
  const options = { executionProvider: opts.executionProvider ?? "cpu", optimization: opts.optimization ?? "default", threads: opts.threads ?? availableParallelism() };
  const key = sessionKey(c, structure, options, ort.env.versions.common);
  // the group's entries differ in what the caller's key names (e.g. the weights' mtime), in the graph, ORT or the CPU
  return { dir: entryDir(c, key), key, group: c.group === undefined ? undefined : JSON.stringify({ group: c.group, options }) };
}

/** A session from a cache entry (ORT's optimizations already applied), or undefined when ORT cannot load it. */
async function openCached(hit: CacheHit, opts: CompileOptions): Promise<CompiledGraph | undefined> {
  let s: Ort.InferenceSession;
  try {
    s = await ort.InferenceSession.create(hit.model, {
      executionProviders: [opts.executionProvider ?? "cpu"],
      graphOptimizationLevel: "disabled",
      intraOpNumThreads: opts.threads ?? availableParallelism(),
      interOpNumThreads: 1,
      ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
    });
  } catch {
    return undefined;
  }
  opts.onWeightsCopied?.(); // ORT holds the weights: the caller's copy (if it read one) can go
  return new CompiledGraph(s as unknown as OrtSessionLike, hit.inputs, hit.outputs, makeTensor);
}

/** Bytes of the graph's params, from their shapes (no weights read). */
function paramBytes(outputs: Record<string, Tensor>): number {
  const size: Record<DType, number> = { float32: 4, float64: 8, int64: 8, int32: 4, int8: 1, bool: 1 };
  let n = 0;
  for (const t of topoSort(Object.values(outputs))) if (t.op === "param") n += (t.shape as number[]).reduce((a, b) => a * b, 1) * size[t.dtype];
  return n;
}

/** A file-system error while writing the weights file as a user error naming the directory and the fix. */
function tmpError(e: unknown, dir: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (!code || !/^(ENOSPC|EACCES|EPERM|EROFS|EDQUOT|ENOENT|ENOTDIR)$/.test(code)) return e;
  return new UserError(`could not write the model's weights for ONNX Runtime into ${dir} (${code}); point TMPDIR at a writable directory with room for them`);
}

/** Bytes of the weights the graph's params take from `weights`. */
function weightBytes(outputs: Record<string, Tensor>, weights: (name: string) => HostArray | undefined): number {
  let n = 0;
  for (const t of topoSort(Object.values(outputs))) {
    if (t.op === "param") n += weights((t.attrs as OpAttrs["param"]).name)?.byteLength ?? 0;
  }
  return n;
}

async function createSession(model: string | Uint8Array, o: Ort.InferenceSession.SessionOptions): Promise<Ort.InferenceSession> {
  try {
    return typeof model === "string" ? await ort.InferenceSession.create(model, o) : await ort.InferenceSession.create(model, o);
  } catch (e) {
    throw sessionError(e, o.executionProviders as string[] | undefined);
  }
}

/** The execution providers this ORT build ships. */
export async function availableProviders(): Promise<string[]> {
  await loadOrt();
  return ort.listSupportedBackends().filter((b) => b.bundled).map((b) => b.name);
}

/** Runs an existing .onnx file (e.g. a torch.onnx.export, for benchmarks and interop). */
export class OnnxFileSession {
  private constructor(private readonly session: Ort.InferenceSession) {}

  static async open(file: string, opts: Pick<CompileOptions, "threads" | "executionProvider" | "optimization"> = {}): Promise<OnnxFileSession> {
    await loadOrt();
    const s = await ort.InferenceSession.create(file, {
      executionProviders: [opts.executionProvider ?? "cpu"],
      graphOptimizationLevel: opts.optimization ?? "all",
      ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
    });
    return new OnnxFileSession(s);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  async run(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
    const f: Record<string, Ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) f[k] = new ort.Tensor(ORT_TYPE[dtypeOfHost(v.data)], plainMemory(v.data) as never, v.shape);
    const r = await this.session.run(f);
    const out: Record<string, HostTensor> = {};
    for (const [k, t] of Object.entries(r)) out[k] = { data: t.data as HostArray, shape: t.dims.map(Number) };
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
