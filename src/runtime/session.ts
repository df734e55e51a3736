/**
 * @file The runtime in Node: the shared CompiledGraph contract (core.ts) with the onnxruntime-node
 * adapter (ort.node.ts) loaded as its default. Browsers use ort.web.ts instead.
 */
export { CompiledGraph, type Backend, type CompileOptions, type ExecutionProvider, type HostTensor, type SessionCache } from "./core.js";
export { OnnxFileSession, availableProviders, nodeBackend } from "./ort.node.js";
