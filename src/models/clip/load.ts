/** @file Loading a model for the workflows (eval, index, server): the Embedder with a close(). */
import { ClipModel, type ModelOptions } from "./model.js";

export async function loadEmbedder(dir: string, opts: ModelOptions = {}): Promise<ClipModel> {
  return ClipModel.load(dir, opts);
}
