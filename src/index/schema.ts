/** @file The table's layout: one row per indexed image, and its Arrow schema with the model recorded in the metadata. */
import { Field, FixedSizeList, Float32, Float64, Int32, Int64, Schema, Utf8 } from "apache-arrow";
import type { ModelIdentity } from "./identity.js";

/** The LanceDB table name inside an index database. */
export const TABLE = "images";
/** Schema metadata key holding the ModelIdentity as JSON. */
export const MODEL_KEY = "clip.model";

/** What the index keeps about one image (everything but the embedding). */
export interface ImageMeta {
  /** Stable row id: 16 hex digits of sha256(path). */
  id: string;
  /** Absolute file path, or `SHARD#KEY` for a sample of a dataset. */
  path: string;
  /** The SOURCE it was indexed from (absolute folder, or the dataset SPEC). */
  source: string;
  /** Folder relative to the source ("" at its root; the shard's file name for datasets). */
  folder: string;
  /** sha256 of the encoded bytes (hex). */
  hash: string;
  /** Bytes of the encoded image. */
  size: number;
  /** Modification time in ms since the epoch (the shard's, for dataset samples). */
  mtime: number;
  /** Pixels, as the file's header says (0 when it does not say). */
  width: number;
  height: number;
  /** The first caption the source has for it, else null. */
  caption: string | null;
  /** EXIF camera ("Make Model"), else null. */
  camera: string | null;
  /** EXIF date taken, "YYYY-MM-DD HH:MM:SS" (compares as text), else null. */
  taken: string | null;
}

/** A full row: the metadata plus the L2-normalized embedding. */
export interface ImageRow extends ImageMeta {
  vector: Float32Array;
}

/** Columns other than the vector, for queries that need no embeddings. */
export const META_COLUMNS = ["id", "path", "source", "folder", "hash", "size", "mtime", "width", "height", "caption", "camera", "taken"] as const;

/** The Arrow schema of an index table for `dim`-wide embeddings of the model `identity`. */
export function tableSchema(dim: number, identity: ModelIdentity): Schema {
  return new Schema(
    [
      new Field("id", new Utf8(), false),
      new Field("path", new Utf8(), false),
      new Field("source", new Utf8(), false),
      new Field("folder", new Utf8(), false),
      new Field("hash", new Utf8(), false),
      new Field("size", new Int64(), false),
      new Field("mtime", new Float64(), false),
      new Field("width", new Int32(), false),
      new Field("height", new Int32(), false),
      new Field("caption", new Utf8(), true),
      new Field("camera", new Utf8(), true),
      new Field("taken", new Utf8(), true),
      new Field("vector", new FixedSizeList(dim, new Field("item", new Float32(), true)), false),
    ],
    new Map([[MODEL_KEY, JSON.stringify(identity)]]),
  );
}

/** A row as LanceDB returns it (int64 as bigint, the vector as an Arrow vector) -> ImageMeta. */
export function metaFromRecord(r: Record<string, unknown>): ImageMeta {
  return {
    id: String(r.id),
    path: String(r.path),
    source: String(r.source),
    folder: String(r.folder),
    hash: String(r.hash),
    size: Number(r.size),
    mtime: Number(r.mtime),
    width: Number(r.width),
    height: Number(r.height),
    caption: r.caption == null ? null : String(r.caption),
    camera: r.camera == null ? null : String(r.camera),
    taken: r.taken == null ? null : String(r.taken),
  };
}

/** An Arrow FixedSizeList cell (or plain array) -> a Float32Array copy. */
export function vectorFromCell(v: unknown): Float32Array {
  if (v instanceof Float32Array) return Float32Array.from(v);
  const a = v as { toArray?: () => ArrayLike<number> } & ArrayLike<number>;
  return Float32Array.from(a.toArray ? a.toArray() : a);
}
