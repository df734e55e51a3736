/**
 * @file The onnxruntime-web adapter (browser-safe): sessions on ORT's WASM backend (SIMD, threads
 * when the page is cross-origin isolated) from our emitted ONNX bytes. The page serves ORT's
 * `ort-wasm-simd-threaded.{mjs,wasm}` and names their folder with `configureWebRuntime`.
 */
import * as ort from "onnxruntime-web/wasm";
import type { DType, HostArray } from "../ir/dtype.js";
import type { Tensor } from "../ir/tensor.js";
import { emitModel } from "../onnx/emit.js";
import { type Backend, type CompileOptions, CompiledGraph, type OrtSessionLike, sessionError, usesFloat64 } from "./core.js";

/** Where ORT's WASM files are and how many threads its kernels use. */
export interface WebRuntimeOptions {
  /** URL of the folder holding ort-wasm-simd-threaded.mjs and .wasm (ending in "/"). */
  wasmBase: string;
  /** WASM threads (default: all logical cores when cross-origin isolated, else 1). */
  threads?: number;
}

/** Points ORT at its WASM files and sets its thread count; call before the first compile. */
export function configureWebRuntime(o: WebRuntimeOptions): void {
  ort.env.wasm.wasmPaths = { mjs: `${o.wasmBase}ort-wasm-simd-threaded.mjs`, wasm: `${o.wasmBase}ort-wasm-simd-threaded.wasm` };
  const g = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  ort.env.wasm.numThreads = o.threads ?? (g.crossOriginIsolated ? (g.navigator?.hardwareConcurrency ?? 1) : 1);
}

/** ORT's WASM thread count in effect. */
export function webThreads(): number {
  return ort.env.wasm.numThreads ?? 1;
}

const makeTensor = (type: DType, data: HostArray, dims: number[]): ort.Tensor => new ort.Tensor(type, data as never, dims);

/** Compiles graphs with onnxruntime-web's WASM backend (weights inline in the model bytes); the page's entry makes it the default. */
export const webBackend: Backend = {
  name: "onnxruntime-web",
  async compile(outputs: Record<string, Tensor>, opts: CompileOptions): Promise<CompiledGraph> {
    const w = opts.weights;
    const emitted = emitModel(outputs, { weights: w instanceof Map ? (n: string) => w.get(n) : w });
    opts.onWeightsCopied?.();
    const providers = [opts.executionProvider === "webgpu" ? "webgpu" : "wasm"];
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(emitted.bytes, {
        executionProviders: providers,
        graphOptimizationLevel: opts.optimization ?? (usesFloat64(emitted) ? "basic" : "all"),
      });
    } catch (e) {
      throw sessionError(e, providers);
    }
    return new CompiledGraph(session as unknown as OrtSessionLike, emitted.inputs, emitted.outputs, makeTensor);
  },
};
