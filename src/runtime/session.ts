/** @file The runtime boundary: the only file that imports onnxruntime. Compiles graphs to sessions and runs them. */
import { mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import type * as Ort from "onnxruntime-node";
import type { DType, HostArray } from "../ir/dtype.js";
import { dtypeOfHost } from "../ir/dtype.js";
import { type Dim, fmtShape } from "../ir/shape.js";
import { topoSort } from "../ir/graph.js";
import type { OpAttrs } from "../ir/ops.js";
import type { Tensor } from "../ir/tensor.js";
import { type EmitOptions, type Emitted, emitModel, type GraphInput } from "../onnx/emit.js";
import { UserError, InternalError } from "../errors.js";

/** A host tensor: data plus concrete shape. */
export interface HostTensor {
  data: HostArray;
  shape: number[];
}

/** The ONNX Runtime execution providers a graph can run on. */
export type ExecutionProvider = "cpu" | "webgpu";

/** Options of `CompiledGraph.compile`: weights, threads, execution provider, optimization level. */
export interface CompileOptions {
  /** Param values: those given become initializers (inference); the rest are fed each run (training). */
  weights?: Map<string, HostArray> | ((name: string) => HostArray | undefined);
  /** Intra-op threads (default: all logical cores). */
  threads?: number;
  executionProvider?: ExecutionProvider;
  /** ORT graph optimization level (default "all"). */
  optimization?: "disabled" | "basic" | "extended" | "all";
  /** Force external data (automatic beyond 64 MiB of weights, and for graphs beyond 1.8 GB). */
  externalData?: boolean;
  /**
   * Called once the weights have been copied out (into the model bytes or the mapped file) and
   * before ORT builds the session: the caller may drop its copy to lower peak memory.
   */
  onWeightsCopied?: () => void;
  /** Where ORT writes its optimized model, for inspection. */
  optimizedModelPath?: string;
}

/** ONNX Runtime's Node binding, loaded on first use so that importing the library stays cheap. */
let ort: typeof Ort;
async function loadOrt(): Promise<typeof Ort> {
  return (ort ??= await import("onnxruntime-node"));
}

const ORT_TYPE: Record<DType, Ort.Tensor.Type> = { float32: "float32", float64: "float64", int64: "int64", int32: "int32", bool: "bool" };
const EXTERNAL_THRESHOLD = 1.8e9;
/** Initializer bytes beyond which inference weights are passed to ORT as a mapped file. */
const MAPPED_WEIGHTS_BYTES = 64 * 2 ** 20;

/** A graph compiled into an ORT session; run it with feeds by input name. */
export class CompiledGraph {
  private released = false;
  /** Reused plain-memory copies of shared-memory feeds, by input name (runs of one graph are awaited in turn). */
  private readonly staging = new Map<string, HostArray>();
  private running = 0;
  private constructor(
    private readonly session: Ort.InferenceSession,
    readonly inputs: GraphInput[],
    readonly outputs: Emitted["outputs"],
  ) {}

  static async compile(outputs: Record<string, Tensor>, opts: CompileOptions = {}): Promise<CompiledGraph> {
    await loadOrt();
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
    });
    // Large weights go to a file ORT maps into memory: its pages are the only copy ORT keeps besides
    // the pre-packed GEMM panels (inline weights are copied out of the model bytes, then packed).
    if (!opts.externalData && (!weights || weightBytes(outputs, weights) <= MAPPED_WEIGHTS_BYTES)) {
      const emitted = emitModel(outputs, emitOpts);
      if (emitted.bytes.byteLength <= EXTERNAL_THRESHOLD) {
        opts.onWeightsCopied?.();
        return new CompiledGraph(await createSession(emitted.bytes, sessionOptions(emitted)), emitted.inputs, emitted.outputs);
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
      const session = await createSession(path.join(dir, "model.onnx"), sessionOptions(emitted));
      return new CompiledGraph(session, emitted.inputs, emitted.outputs);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Runs with feeds for every non-initializer input; returns the requested outputs (all by default). */
  async run(feeds: Record<string, HostTensor>, fetch?: string[]): Promise<Record<string, HostTensor>> {
    if (this.released) throw new Error("run: this graph was released");
    const ortFeeds: Record<string, Ort.Tensor> = {};
    const sizes = new Map<string, number>();
    for (const inp of this.inputs) {
      const f = feeds[inp.name];
      if (!f) throw new UserError(`run: missing feed for ${inp.kind} '${inp.name}' ${inp.dtype}${fmtShape(inp.shape)} (made at ${inp.where})`);
      checkFeed(inp, f, sizes);
      ortFeeds[inp.name] = new ort.Tensor(ORT_TYPE[inp.dtype], this.plain(inp.name, f.data) as never, f.shape);
    }
    for (const k of Object.keys(feeds)) {
      if (!this.inputs.some((i) => i.name === k)) {
        throw new UserError(`run: unknown feed '${k}'; the graph takes ${this.inputs.map((i) => i.name).join(", ") || "no inputs"}`);
      }
    }
    const names = fetch ?? this.outputs.map((o) => o.name);
    this.running++;
    let res: Ort.InferenceSession.OnnxValueMapType;
    try {
      res = await this.session.run(ortFeeds, names);
    } finally {
      this.running--;
    }
    const out: Record<string, HostTensor> = {};
    for (const n of names) {
      const t = res[n];
      out[n] = { data: t.data as HostArray, shape: t.dims.map(Number) };
    }
    return out;
  }

  /** A feed in plain memory: shared-memory arrays (worker output) are copied into a reused buffer. */
  private plain(name: string, a: HostArray): HostArray {
    if (a.buffer instanceof ArrayBuffer) return a;
    if (this.running > 0) return plainMemory(a); // a concurrent run may still read the staging buffer
    let buf = this.staging.get(name);
    if (!buf || buf.length < a.length || buf.constructor !== a.constructor) {
      buf = a.slice() as HostArray;
      this.staging.set(name, buf);
      return buf;
    }
    const view = buf.subarray(0, a.length) as HostArray;
    (view as Float32Array).set(a as Float32Array);
    return view;
  }

  async release(): Promise<void> {
    if (!this.released) {
      this.released = true;
      await this.session.release();
    }
  }
}

/** ORT's Node binding cannot read SharedArrayBuffer memory (worker outputs): copy those. */
function plainMemory(a: HostArray): HostArray {
  return a.buffer instanceof ArrayBuffer ? a : (a.slice() as HostArray);
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

function usesFloat64(e: Emitted): boolean {
  return e.inputs.some((i) => i.dtype === "float64") || e.outputs.some((o) => o.dtype === "float64");
}

async function createSession(model: string | Uint8Array, o: Ort.InferenceSession.SessionOptions): Promise<Ort.InferenceSession> {
  try {
    return typeof model === "string" ? await ort.InferenceSession.create(model, o) : await ort.InferenceSession.create(model, o);
  } catch (e) {
    const msg = (e as Error).message;
    if (o.executionProviders?.some((p) => p !== "cpu") && /provider|backend|webgpu/i.test(msg)) {
      throw new UserError(`execution provider ${JSON.stringify(o.executionProviders)} is not available here (${msg}); use the executionProvider "cpu"`);
    }
    throw new InternalError(`ONNX Runtime rejected a generated graph: ${msg}`);
  }
}

function checkFeed(inp: GraphInput, f: HostTensor, sizes: Map<string, number>): void {
  const got = dtypeOfHost(f.data);
  const ok = got === inp.dtype || (inp.dtype === "bool" && f.data instanceof Uint8Array);
  if (!ok) throw new UserError(`run: feed '${inp.name}' is ${got}, expected ${inp.dtype}${fmtShape(inp.shape)} (made at ${inp.where})`);
  if (f.shape.length !== inp.shape.length) {
    throw new UserError(`run: feed '${inp.name}' has shape ${fmtShape(f.shape)}, expected ${fmtShape(inp.shape)} (made at ${inp.where})`);
  }
  const n = f.shape.reduce((a, b) => a * b, 1);
  if (n !== f.data.length) throw new UserError(`run: feed '${inp.name}' has ${f.data.length} values for shape ${fmtShape(f.shape)}`);
  inp.shape.forEach((d: Dim, i) => {
    if (typeof d === "number") {
      if (f.shape[i] !== d) throw new UserError(`run: feed '${inp.name}' has shape ${fmtShape(f.shape)}, expected ${fmtShape(inp.shape)} (made at ${inp.where})`);
    } else {
      const prev = sizes.get(d);
      if (prev !== undefined && prev !== f.shape[i]) {
        throw new UserError(`run: dim '${d}' is ${prev} in one feed and ${f.shape[i]} in '${inp.name}' ${fmtShape(f.shape)}`);
      }
      sizes.set(d, f.shape[i]);
    }
  });
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
