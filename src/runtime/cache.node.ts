/**
 * @file The on-disk cache of ONNX Runtime's optimized models (Node only). An entry is a directory
 * named by the hash of its key, holding ORT's optimized model (`model.onnx`), its weights
 * (`model.weights`, external data ORT maps) and `manifest.json` (the graph's inputs and outputs,
 * the files' sizes). Entries are written under a temporary name and renamed into place, so a
 * reader sees a whole entry or none; one that fails its checks or ORT's load is removed and rebuilt.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { DType } from "../ir/dtype.js";
import type { Dim } from "../ir/shape.js";
import type { GraphInput } from "../onnx/emit.js";
import type { SessionCache } from "./core.js";
import { nodeCrypto } from "../util/builtins.node.js";

/** ORT's optimized model, as named inside an entry. */
export const MODEL_FILE = "model.onnx";
/** The optimized model's weights (external data ORT maps), as named inside an entry. */
export const WEIGHTS_FILE = "model.weights";
const MANIFEST_FILE = "manifest.json";
const FORMAT = "clip-ts session cache v1";

/** What an entry records besides ORT's files. */
interface Manifest {
  format: string;
  key: string;
  group?: string;
  inputs: GraphInput[];
  outputs: { name: string; dtype: DType; shape: readonly Dim[] }[];
  /** Size of each file of the entry, checked before ORT opens it (a truncated entry is rebuilt). */
  sizes: Record<string, number>;
}

/** An entry found in the cache: the model to open and the graph's inputs and outputs. */
export interface CacheHit {
  model: string;
  inputs: GraphInput[];
  outputs: Manifest["outputs"];
}

/**
 * The full key of a session: the caller's key, the graph's structure (its ONNX bytes with the
 * weights left out), the session options, the ORT version and the CPU (an optimized model at
 * level "all" holds kernels chosen for this CPU).
 */
export function sessionKey(cache: SessionCache, graphBytes: Uint8Array, options: Record<string, unknown>, ortVersion: string): string {
  const graph = nodeCrypto().createHash("sha256").update(graphBytes).digest("hex");
  const cpu = `${os.arch()} ${os.cpus()[0]?.model ?? "unknown cpu"}`;
  return JSON.stringify({ key: cache.key, graph, options, ort: ortVersion, cpu, platform: process.platform });
}

/** The directory of the entry with this full key. */
export function entryDir(cache: SessionCache, fullKey: string): string {
  return path.join(cache.dir, nodeCrypto().createHash("sha256").update(fullKey).digest("hex").slice(0, 40));
}

/** The entry at `dir` when it is whole and was written for `fullKey`; a damaged one is removed. */
export function lookup(dir: string, fullKey: string): CacheHit | undefined {
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), "utf8")) as Manifest;
  } catch {
    // no entry, or one without a readable manifest (a removal cut short): entries appear only by
    // rename, whole, so a directory without a manifest is debris
    removeEntry(dir);
    return undefined;
  }
  const whole =
    m.format === FORMAT &&
    m.key === fullKey &&
    Array.isArray(m.inputs) &&
    Array.isArray(m.outputs) &&
    Object.entries(m.sizes ?? {}).every(([f, n]) => fileSize(path.join(dir, f)) === n) &&
    MODEL_FILE in (m.sizes ?? {});
  if (!whole) {
    removeEntry(dir);
    return undefined;
  }
  return { model: path.join(dir, MODEL_FILE), inputs: m.inputs, outputs: m.outputs };
}

function fileSize(file: string): number | undefined {
  try {
    return fs.statSync(file).size;
  } catch {
    return undefined;
  }
}

/** A fresh directory beside the entry's final place for ORT to write into; undefined when the cache directory is not writable. */
export function beginEntry(dir: string): string | undefined {
  const tmp = `${dir}.tmp-${process.pid}-${nodeCrypto().randomBytes(4).toString("hex")}`;
  try {
    fs.mkdirSync(tmp, { recursive: true });
    return tmp;
  } catch {
    return undefined;
  }
}

/**
 * Moves a written entry into place: its manifest first, then one rename of the directory. When
 * another process put the same entry there first, ours is dropped. Removes the group's entries
 * of other keys. Never throws: a cache that cannot be written only costs the next run its time.
 */
export function commitEntry(tmp: string, dir: string, m: Omit<Manifest, "format" | "sizes">): void {
  try {
    const sizes: Record<string, number> = {};
    for (const f of fs.readdirSync(tmp)) sizes[f] = fs.statSync(path.join(tmp, f)).size;
    if (!(MODEL_FILE in sizes)) return removeEntry(tmp);
    const manifest: Manifest = { format: FORMAT, ...m, sizes };
    fs.writeFileSync(path.join(tmp, MANIFEST_FILE), JSON.stringify(manifest));
    try {
      fs.renameSync(tmp, dir);
    } catch {
      removeEntry(tmp); // another process committed this entry first
      return;
    }
    if (m.group !== undefined) removeGroup(path.dirname(dir), m.group, dir);
  } catch {
    removeEntry(tmp);
  }
}

/** Removes the entries of `group` other than `keep` (a checkpoint rewritten in place leaves its old entries behind otherwise). */
function removeGroup(cacheDir: string, group: string, keep: string): void {
  for (const name of fs.readdirSync(cacheDir)) {
    const dir = path.join(cacheDir, name);
    if (dir === keep || name.includes(".tmp-")) continue;
    try {
      const m = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), "utf8")) as Manifest;
      if (m.group === group) removeEntry(dir);
    } catch {
      // not an entry, or one being removed by another process
    }
  }
}

/** Removes an entry (or a temporary one); a failure leaves it for the next reader to remove. */
export function removeEntry(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // another process may be removing it too
  }
}
