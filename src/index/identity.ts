/**
 * @file The identity of the model an index was built with: its config, preprocessing and a hash of
 * its weights files. An index refuses vectors from any other model.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { ClipModel } from "../clip/model.js";
import { UserError } from "../errors.js";
import { type FileStamp, fileStamps } from "../weights/checkpoint.js";

/** A weights file as it was when hashed (size and mtime let a later check skip re-hashing). */
export type WeightsFileStamp = FileStamp;

/** What the table records about its model (JSON in the table's schema metadata). */
export interface ModelIdentity {
  /** sha256 over config, preprocess and the weights' hash: two models match when this matches. */
  fingerprint: string;
  /** sha256 of the weights files' bytes, in order. */
  weights_sha256: string;
  /** The checkpoint directory the index was built with (the default model of `search`). */
  model_path: string;
  files: WeightsFileStamp[];
  config: unknown;
  preprocess: unknown;
  embed_dim: number;
}

/** sha256 of files' bytes in order, streamed (a ViT-B-32 is 600 MB). */
async function hashFiles(files: string[]): Promise<string> {
  const h = createHash("sha256");
  for (const f of files) {
    for await (const chunk of fs.createReadStream(f, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  }
  return h.digest("hex");
}

function fingerprintOf(config: unknown, preprocess: unknown, weightsSha: string): string {
  return createHash("sha256").update(JSON.stringify({ config, preprocess, weights_sha256: weightsSha })).digest("hex");
}

/** What identifies a loaded model: `ClipModel` and `ThreadedClipModel` both have it. */
export type IdentifiedModel = Pick<ClipModel, "weightsFile" | "source" | "config" | "preprocess" | "embedDim">;

/**
 * The identity of a loaded model. `known` is an identity recorded earlier: when the weights files
 * are the same paths with the same sizes and mtimes, its hash is reused instead of reading
 * hundreds of megabytes again.
 */
export async function modelIdentity(model: IdentifiedModel, known?: ModelIdentity): Promise<ModelIdentity> {
  if (!model.weightsFile) throw new UserError(`${model.source}: the model was not loaded from a checkpoint file, so an index cannot record which weights it holds`);
  const files = fileStamps(model.weightsFile);
  const same = known && known.files.length === files.length && known.files.every((f, i) => f.path === files[i]!.path && f.size === files[i]!.size && f.mtimeMs === files[i]!.mtimeMs);
  const weightsSha = same ? known.weights_sha256 : await hashFiles(files.map((f) => f.path));
  return {
    fingerprint: fingerprintOf(model.config, model.preprocess, weightsSha),
    weights_sha256: weightsSha,
    model_path: path.resolve(model.source),
    files,
    config: model.config,
    preprocess: model.preprocess,
    embed_dim: model.embedDim,
  };
}

/** Throws the one-line refusal when `actual` is not the model the index was built with. */
export function checkSameModel(recorded: ModelIdentity, actual: ModelIdentity, db: string): void {
  if (recorded.fingerprint === actual.fingerprint) return;
  const why = recorded.weights_sha256 !== actual.weights_sha256 ? "different weights" : "a different config or preprocessing";
  throw new UserError(
    `${db} was built with the model at ${recorded.model_path} (weights sha256 ${recorded.weights_sha256.slice(0, 12)}); ` +
      `${actual.model_path} has ${why} (weights sha256 ${actual.weights_sha256.slice(0, 12)}): use that model or a new --db`,
  );
}
