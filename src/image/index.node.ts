/** @file The image API with its Node parts: everything of index.ts plus file reading, sharp decoding and the worker pool. */
export * from "./index.js";
export { decodeImage, preprocessImage, probeImage, readImageFile, type ImageProbe } from "./decode.node.js";
export { ImagePool, type ImagePoolOptions, type BatchOptions, type BatchResult } from "./pool.node.js";
