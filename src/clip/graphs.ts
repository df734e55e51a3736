/**
 * @file The graphs ClipModel compiles: its image and text towers over graph inputs. ClipModel
 * imports this file when it first compiles a tower, so `import "clip-ts"` does not load the graph
 * IR and the towers' builders.
 */
import * as T from "../ir/tensor.js";
import type { ClipConfig } from "../models/clip/config.js";
import { encodeImage, encodeText, paramLeaves } from "../models/clip/towers.js";

/** The image tower: pixels [B, 3, S, S] -> features [B, embed_dim]. `int8` names the weights that run in int8. */
export function imageTowerGraph(config: ClipConfig, imageSize: number, int8: Set<string>): T.Tensor {
  const pixels = T.input("pixels", "float32", ["B", 3, imageSize, imageSize]);
  return encodeImage(config, pixels, paramLeaves(config, int8));
}

/**
 * The text tower: tokens [B, L] and positions [L] -> features [B, embed_dim]. One graph serves
 * every length: each batch runs only up to its last end-of-text token.
 */
export function textTowerGraph(config: ClipConfig, int8: Set<string>): T.Tensor {
  const tokens = T.input("tokens", "int64", ["B", "L"]);
  const positions = T.input("positions", "int64", ["L"]);
  return encodeText(config, tokens, paramLeaves(config, int8), positions);
}
