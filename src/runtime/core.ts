/**
 * @file The runtime contract shared by every ONNX Runtime adapter (browser-safe): `CompiledGraph`
 * (feeds checked against the graph's inputs, runs, outputs as host tensors) over the small part of
 * ORT's API both packages share. The adapters (ort.node.ts, ort.web.ts) create the sessions.
 */
import type { DType, HostArray } from "../ir/dtype.js";
import { dtypeOfHost } from "../ir/dtype.js";
import { type Dim, fmtShape } from "../ir/shape.js";
import type { Tensor } from "../ir/tensor.js";
import type { Emitted, GraphInput } from "../onnx/emit.js";
import { UserError, InternalError } from "../errors.js";

/** Where and under which key `CompiledGraph.compile` keeps a session's optimized model (Node only; runtime/cache.node.ts). */
export interface SessionCache {
  /** The cache directory (created when missing). */
  dir: string;
  /** What determines the weights, e.g. a checkpoint file's path, size and mtime, the tower and precision. */
  key: string;
  /**
   * Entries of the same group and session options with another key are removed when a new one is
   * written (e.g. group: a checkpoint's path and tower; key: also the file's size and mtime).
   */
  group?: string;
  /** Graphs whose params hold fewer bytes are not cached (default 0: all). */
  minWeightBytes?: number;
}

/** A host tensor: data plus concrete shape. */
export interface HostTensor {
  data: HostArray;
  shape: number[];
}

/** The ONNX Runtime execution providers a graph can run on ("wasm" in browsers). */
export type ExecutionProvider = "cpu" | "webgpu" | "wasm";

/** Options of `CompiledGraph.compile`: weights, threads, execution provider, optimization level. */
export interface CompileOptions {
  /** Param values: those given become initializers (inference); the rest are fed each run (training). */
  weights?: Map<string, HostArray> | ((name: string) => HostArray | undefined);
  /** Intra-op threads (default: all logical cores; in browsers the adapter's thread setting). */
  threads?: number;
  executionProvider?: ExecutionProvider;
  /** ORT graph optimization level (default "all"). */
  optimization?: "disabled" | "basic" | "extended" | "all";
  /** Force external data (automatic beyond 64 MiB of weights, and for graphs beyond 1.8 GB; Node only). */
  externalData?: boolean;
  /**
   * Called once the weights have been copied out (into the model bytes or the mapped file) and
   * before ORT builds the session: the caller may drop its copy to lower peak memory.
   */
  onWeightsCopied?: () => void;
  /** Where ORT writes its optimized model, for inspection (Node only). */
  optimizedModelPath?: string;
  /**
   * Keep ORT's optimized model on disk between processes (Node only, inference weights): a later
   * compile of the same graph with the same key and session options builds its session from that
   * file, without emitting the graph or asking `weights` for anything.
   */
  cache?: SessionCache;
  /** Profile every run: ORT writes a Chrome-trace JSON file named with this prefix at `endProfiling()` (Node only). */
  profilePrefix?: string;
  /** The ONNX Runtime adapter that builds the session (default: the one loaded last, Node's or the browser's). */
  backend?: Backend;
}

/** An ONNX Runtime adapter: compiles graphs into sessions of one ORT package. */
export interface Backend {
  readonly name: string;
  compile(outputs: Record<string, Tensor>, opts: CompileOptions): Promise<CompiledGraph>;
}

/** The part of an ORT tensor we read. */
export interface OrtTensorLike {
  data: unknown;
  dims: readonly number[];
}

/** The part of an ORT InferenceSession we use (identical in onnxruntime-node and onnxruntime-web). */
export interface OrtSessionLike {
  run(feeds: Record<string, never>, fetches: string[]): Promise<Record<string, OrtTensorLike>>;
  release(): Promise<void>;
  endProfiling?(): void;
}

/** Makes an ORT tensor of the adapter's package. */
export type MakeTensor = (type: DType, data: HostArray, dims: number[]) => unknown;

let defaultBackend: Backend | undefined;

/** Makes `b` the adapter `CompiledGraph.compile` uses when the options name none (each adapter calls it when loaded). */
export function setDefaultBackend(b: Backend): void {
  defaultBackend = b;
}

/** A graph compiled into an ORT session; run it with feeds by input name. */
export class CompiledGraph {
  private released = false;
  /** Reused plain-memory copies of shared-memory feeds, by input name (runs of one graph are awaited in turn). */
  private readonly staging = new Map<string, HostArray>();
  private running = 0;

  /** Wraps a session an adapter created from `emitted` (adapters only; users call `compile`). */
  constructor(
    private readonly session: OrtSessionLike,
    readonly inputs: GraphInput[],
    readonly outputs: Emitted["outputs"],
    private readonly makeTensor: MakeTensor,
  ) {}

  /** Emits `outputs` as ONNX and builds a session with the options' adapter (default: the loaded one). */
  static async compile(outputs: Record<string, Tensor>, opts: CompileOptions = {}): Promise<CompiledGraph> {
    const b = opts.backend ?? defaultBackend;
    if (!b) throw new InternalError("no ONNX Runtime adapter is loaded (import runtime/session.js in Node or runtime/ort.web.js in a browser)");
    return b.compile(outputs, opts);
  }

  /** Runs with feeds for every non-initializer input; returns the requested outputs (all by default). */
  async run(feeds: Record<string, HostTensor>, fetch?: string[]): Promise<Record<string, HostTensor>> {
    if (this.released) throw new Error("run: this graph was released");
    const ortFeeds: Record<string, never> = {};
    const sizes = new Map<string, number>();
    for (const inp of this.inputs) {
      const f = feeds[inp.name];
      if (!f) throw new UserError(`run: missing feed for ${inp.kind} '${inp.name}' ${inp.dtype}${fmtShape(inp.shape)} (made at ${inp.where})`);
      checkFeed(inp, f, sizes);
      ortFeeds[inp.name] = this.makeTensor(inp.dtype, this.plain(inp.name, f.data), f.shape) as never;
    }
    for (const k of Object.keys(feeds)) {
      if (!this.inputs.some((i) => i.name === k)) {
        throw new UserError(`run: unknown feed '${k}'; the graph takes ${this.inputs.map((i) => i.name).join(", ") || "no inputs"}`);
      }
    }
    const names = fetch ?? this.outputs.map((o) => o.name);
    this.running++;
    let res: Record<string, OrtTensorLike>;
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

  /** Ends profiling (compiled with `profilePrefix`): ORT writes its trace file `<prefix>_<time>.json`. */
  endProfiling(): void {
    this.session.endProfiling?.();
  }

  async release(): Promise<void> {
    if (!this.released) {
      this.released = true;
      await this.session.release();
    }
  }
}

/** ORT cannot read SharedArrayBuffer memory (worker outputs): copy those. */
export function plainMemory(a: HostArray): HostArray {
  return a.buffer instanceof ArrayBuffer ? a : (a.slice() as HostArray);
}

/** Whether the emitted graph takes or gives float64 (ORT's extended fusions would break it). */
export function usesFloat64(e: Emitted): boolean {
  return e.inputs.some((i) => i.dtype === "float64") || e.outputs.some((o) => o.dtype === "float64");
}

/** An ORT session-creation failure as a user error (provider missing) or an internal one (graph rejected). */
export function sessionError(e: unknown, providers: readonly string[] | undefined): Error {
  const msg = (e as Error).message;
  if (providers?.some((p) => p !== "cpu" && p !== "wasm") && /provider|backend|webgpu/i.test(msg)) {
    return new UserError(`execution provider ${JSON.stringify(providers)} is not available here (${msg}); use the executionProvider "cpu"`);
  }
  return new InternalError(`ONNX Runtime rejected a generated graph: ${msg}`);
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
