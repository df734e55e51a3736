/** @file Node convenience: decode a file or bytes and preprocess it in one call. */
import type { PreprocessConfig } from "./config.js";
import { decodeImage, type DecodeOptions } from "./decode.js";
import { preprocessRGB } from "./transform.js";

/** Decodes `input` (path or bytes) and returns its [3, N, N] tensor, as clip's preprocess would. */
export async function preprocessImage(
  input: string | Uint8Array,
  cfg: PreprocessConfig,
  opts: DecodeOptions = {},
): Promise<Float32Array> {
  return preprocessRGB(await decodeImage(input, opts), cfg);
}
