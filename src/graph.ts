/**
 * @file The graph engine's public API (`import * as G from "clip-ts/graph"`), for people who build
 * other models on it: symbolic tensors over one op enum (`T.matmul`, `T.softmax`, ...), reverse-mode
 * `grad`, composite layers, ONNX emission, a float64 reference interpreter, and `CompiledGraph`,
 * which runs a graph in ONNX Runtime.
 *
 * ```ts
 * import { T, grad, CompiledGraph } from "clip-ts/graph";
 * const x = T.input("x", "float32", ["B", 4]);
 * const w = T.param("w", [4, 2]);
 * const loss = T.reduceMean(T.mul(T.matmul(x, w), T.matmul(x, w)), [0, 1]);
 * const [gw] = grad(loss, [w]);
 * const g = await CompiledGraph.compile({ loss, gw }, { weights: (name) => (name === "w" ? new Float32Array(8).fill(0.5) : undefined) });
 * const out = await g.run({ x: { data: new Float32Array([1, 2, 3, 4]), shape: [1, 4] } });
 * ```
 */
export * as T from "./ir/tensor.js";
export { Tensor } from "./ir/tensor.js";
export type { DType } from "./ir/dtype.js";
export { topoSort } from "./ir/graph.js";
export { interpret, fromHost, type Value } from "./ir/interpret.js";
export { grad, unbroadcast, GradError } from "./autodiff/grad.js";
export * as nn from "./nn/functional.js";
export { quantizePerChannel, dequantizePerChannel, type QuantizedTensor } from "./nn/quantize.js";
export { emitModel, type EmitOptions, type Emitted, type GraphInput } from "./onnx/emit.js";
export { CompiledGraph, OnnxFileSession, availableProviders, type CompileOptions, type ExecutionProvider, type HostTensor, type SessionCache } from "./runtime/session.js";
