/**
 * @file On-disk feature store for evaluation: embeddings of whole datasets (and zero-shot
 * classifier weights) cached so several evaluations reuse them.
 *
 * Format of one entry, two files named by the sha256 of the entry's key:
 *   `<hash>.f32`  the embeddings, row-major [n, dim] float32, little-endian, no header;
 *   `<hash>.json` the header, written last (an entry without it is incomplete and ignored):
 *     { "format": "clip-ts-features", "version": 1, "dtype": "float32", "byteOrder": "little",
 *       "n": N, "dim": D, "key": <the key object>, "meta": <anything the writer adds>,
 *       "created": ISO date }
 * The key is any JSON value (model fingerprint, data spec, what was embedded...); it is hashed
 * in canonical form (object keys sorted), and a header whose key differs from the one asked for
 * (a hash collision, or a hand-edited file) is a miss.
 */
import { mkdir, readFile, rename, stat, writeFile, readdir } from "node:fs/promises";
import { endianness } from "node:os";
import path from "node:path";
import { UserError } from "../errors.js";
import type { Embeddings } from "../clip/embedder.js";
import { checkEmbeddings } from "./matrix.js";
import { nodeCrypto } from "../util/builtins.node.js";

export const FEATURES_FORMAT = "clip-ts-features";
export const FEATURES_VERSION = 1;

export interface FeaturesHeader {
  format: typeof FEATURES_FORMAT;
  version: number;
  dtype: "float32";
  byteOrder: "little";
  n: number;
  dim: number;
  key: unknown;
  meta: Record<string, unknown>;
  created: string;
}

export interface FeatureRecord {
  emb: Embeddings;
  meta: Record<string, unknown>;
}

/** JSON with object keys sorted at every level, so equal keys hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
    }
    return v;
  });
}

/** Hex sha256 of the canonical JSON of `key`. */
export function hashKey(key: unknown): string {
  return nodeCrypto().createHash("sha256").update(canonicalJson(key)).digest("hex");
}

const LITTLE = endianness() === "LE";

function toLittleEndianBytes(data: Float32Array): Uint8Array {
  if (LITTLE) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  return out;
}

function fromLittleEndianBytes(bytes: Uint8Array, count: number): Float32Array {
  const out = new Float32Array(count);
  if (LITTLE) {
    new Uint8Array(out.buffer).set(bytes.subarray(0, count * 4));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Writes a file atomically: to a temporary name in the same folder, then renamed. */
async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  await writeFile(tmp, data);
  await rename(tmp, file);
}

/** Writes `<base>.f32` then `<base>.json`. */
export async function writeFeatures(base: string, emb: Embeddings, key: unknown, meta: Record<string, unknown> = {}): Promise<void> {
  checkEmbeddings(emb, "writeFeatures");
  await mkdir(path.dirname(base), { recursive: true });
  await writeAtomic(`${base}.f32`, toLittleEndianBytes(emb.data));
  const header: FeaturesHeader = {
    format: FEATURES_FORMAT,
    version: FEATURES_VERSION,
    dtype: "float32",
    byteOrder: "little",
    n: emb.n,
    dim: emb.dim,
    key,
    meta,
    created: new Date().toISOString(),
  };
  await writeAtomic(`${base}.json`, JSON.stringify(header) + "\n");
}

/** Reads `<base>.json` + `<base>.f32`; undefined when the header is missing. Corrupt entries are a UserError. */
export async function readFeatures(base: string): Promise<(FeatureRecord & { header: FeaturesHeader }) | undefined> {
  let headerText: string;
  try {
    headerText = await readFile(`${base}.json`, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  let header: FeaturesHeader;
  try {
    header = JSON.parse(headerText) as FeaturesHeader;
  } catch {
    throw new UserError(`${base}.json: not valid JSON (delete the cache entry)`);
  }
  if (header.format !== FEATURES_FORMAT || header.version !== FEATURES_VERSION || header.dtype !== "float32") {
    throw new UserError(`${base}.json: not a ${FEATURES_FORMAT} v${FEATURES_VERSION} float32 header`);
  }
  const count = header.n * header.dim;
  const bytes = await readFile(`${base}.f32`);
  if (bytes.length !== count * 4) {
    throw new UserError(`${base}.f32: ${bytes.length} bytes, expected n*dim*4 = ${header.n}*${header.dim}*4 = ${count * 4} (delete the cache entry)`);
  }
  return { emb: { data: fromLittleEndianBytes(bytes, count), n: header.n, dim: header.dim }, meta: header.meta ?? {}, header };
}

/** A folder of feature entries addressed by key objects. */
export class FeatureCache {
  constructor(readonly dir: string) {}

  /** `<dir>/<prefix>-<hash32>`: the prefix only helps people browsing the folder. */
  pathFor(key: unknown, prefix = "features"): string {
    return path.join(this.dir, `${prefix}-${hashKey(key).slice(0, 32)}`);
  }

  async get(key: unknown, prefix?: string): Promise<FeatureRecord | undefined> {
    const rec = await readFeatures(this.pathFor(key, prefix));
    if (!rec) return undefined;
    if (canonicalJson(rec.header.key) !== canonicalJson(key)) return undefined;
    return { emb: rec.emb, meta: rec.meta };
  }

  async put(key: unknown, emb: Embeddings, meta: Record<string, unknown> = {}, prefix?: string): Promise<string> {
    const base = this.pathFor(key, prefix);
    await writeFeatures(base, emb, key, meta);
    return base;
  }

  /** Returns the cached record, or computes, stores and returns it. */
  async getOrCompute(
    key: unknown,
    compute: () => Promise<FeatureRecord>,
    prefix?: string,
  ): Promise<FeatureRecord & { cached: boolean }> {
    const hit = await this.get(key, prefix);
    if (hit) return { ...hit, cached: true };
    const rec = await compute();
    await this.put(key, rec.emb, rec.meta, prefix);
    return { ...rec, cached: false };
  }
}

/**
 * What identifies a checkpoint directory for cache keys: its resolved path plus the size and
 * modification time of every regular file directly in it (rewriting a checkpoint changes the key).
 */
export async function modelFingerprint(dir: string): Promise<Record<string, unknown>> {
  const abs = path.resolve(dir);
  const files: [string, number, number][] = [];
  for (const name of (await readdir(abs)).sort()) {
    const st = await stat(path.join(abs, name));
    if (st.isFile()) files.push([name, st.size, Math.round(st.mtimeMs)]);
  }
  return { dir: abs, files };
}
