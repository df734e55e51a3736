/**
 * @file ClipIndex: a LanceDB database holding one table of image embeddings, with the model it was
 * built with recorded in the table's metadata. Node-only (LanceDB is a native module).
 */
import fs from "node:fs";
import path from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { UserError } from "../errors.js";
import { checkSameModel, type ModelIdentity } from "./identity.js";
import { MODEL_KEY, META_COLUMNS, TABLE, metaFromRecord, tableSchema, vectorFromCell, type ImageMeta, type ImageRow } from "./schema.js";

/** Options of `openIndex`. */
export interface OpenIndexOptions {
  /** Object-store settings passed to LanceDB for `s3://`, `gs://`, `az://` URIs (region, endpoint, keys...). */
  storageOptions?: Record<string, string>;
}

/** Quotes a string for a LanceDB SQL filter. */
export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

const isRemote = (uri: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(uri);

/**
 * An opened index database. The table is created by the first `ensureTable` (at the first
 * `clip index`); until then `identity` is undefined and the index is empty.
 */
export class ClipIndex {
  private constructor(
    /** The database URI as given (a folder, or `s3://bucket/prefix`). */
    readonly uri: string,
    private readonly conn: lancedb.Connection,
    private tbl: lancedb.Table | undefined,
    private ident: ModelIdentity | undefined,
  ) {}

  /** Opens (without creating anything) the database at `uri`; a missing local folder is created on first write. */
  static async open(uri: string, opts: OpenIndexOptions = {}): Promise<ClipIndex> {
    const conn = await lancedb.connect(isRemote(uri) ? uri : path.resolve(uri), opts.storageOptions ? { storageOptions: opts.storageOptions } : {});
    const names = await conn.tableNames();
    if (!names.includes(TABLE)) return new ClipIndex(uri, conn, undefined, undefined);
    const tbl = await conn.openTable(TABLE);
    const schema = await tbl.schema();
    const json = schema.metadata.get(MODEL_KEY);
    if (!json) throw new UserError(`${uri}: table "${TABLE}" has no recorded model (${MODEL_KEY} metadata): not an index written by clip index`);
    return new ClipIndex(uri, conn, tbl, JSON.parse(json) as ModelIdentity);
  }

  /** The model the index was built with; undefined while the index is empty and has no table. */
  get identity(): ModelIdentity | undefined {
    return this.ident;
  }

  /** The LanceDB table (throws a UserError when nothing was indexed yet). */
  get table(): lancedb.Table {
    if (!this.tbl) throw new UserError(`${this.uri}: no index here yet (run clip index --db ${this.uri} ... first)`);
    return this.tbl;
  }

  /** Whether the table exists. */
  get exists(): boolean {
    return this.tbl !== undefined;
  }

  /** Refuses a model other than the recorded one; creates the table for it when there is none. */
  async ensureTable(identity: ModelIdentity): Promise<void> {
    if (this.ident) {
      checkSameModel(this.ident, identity, this.uri);
      return;
    }
    if (!isRemote(this.uri)) fs.mkdirSync(path.resolve(this.uri), { recursive: true });
    this.tbl = await this.conn.createEmptyTable(TABLE, tableSchema(identity.embed_dim, identity), { existOk: true });
    const json = (await this.tbl.schema()).metadata.get(MODEL_KEY);
    this.ident = json ? (JSON.parse(json) as ModelIdentity) : identity;
    checkSameModel(this.ident, identity, this.uri); // another process may have created it first
  }

  /** Rows in the table (0 when there is none). */
  async count(filter?: string): Promise<number> {
    return this.tbl ? this.tbl.countRows(filter) : 0;
  }

  /** Metadata of every row matching `where` (all rows when omitted), without the vectors. */
  async metas(where?: string): Promise<ImageMeta[]> {
    if (!this.tbl) return [];
    let q = this.tbl.query().select([...META_COLUMNS]);
    if (where) q = q.where(where);
    const out: ImageMeta[] = [];
    for await (const batch of q) for (const r of batch.toArray()) out.push(metaFromRecord(r as Record<string, unknown>));
    return out;
  }

  /** Full rows (with vectors) matching a filter. */
  async rows(where?: string, limit?: number): Promise<ImageRow[]> {
    if (!this.tbl) return [];
    let q = this.tbl.query().select([...META_COLUMNS, "vector"]);
    if (where) q = q.where(where);
    if (limit !== undefined) q = q.limit(limit);
    const out: ImageRow[] = [];
    for await (const batch of q) {
      for (const r of batch.toArray()) {
        const rec = r as Record<string, unknown>;
        out.push({ ...metaFromRecord(rec), vector: vectorFromCell(rec.vector) });
      }
    }
    return out;
  }

  /** Stored vectors of rows with these content hashes (one per hash), for content indexed before. */
  async vectorsByHash(hashes: string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (let i = 0; i < hashes.length; i += 500) {
      const part = hashes.slice(i, i + 500);
      if (!part.length || !this.tbl) continue;
      for (const r of await this.rows(`hash IN (${part.map(sqlString).join(", ")})`)) out.set(r.hash, r.vector);
    }
    return out;
  }

  /** The row whose id or path is `ref` (a path is resolved against the working directory too). */
  async find(ref: string): Promise<ImageRow | undefined> {
    const cands = [ref, path.resolve(ref)];
    const rows = await this.rows(`id = ${sqlString(ref)} OR path IN (${cands.map(sqlString).join(", ")})`, 1);
    return rows[0];
  }

  /** Appends rows (one atomic commit). */
  async add(rows: ImageRow[]): Promise<void> {
    if (rows.length) await this.table.add(rows.map(toRecord));
  }

  /** Replaces rows with the same id, inserting the others (one atomic commit). */
  async upsert(rows: ImageRow[]): Promise<void> {
    if (rows.length) await this.table.mergeInsert("id").whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(rows.map(toRecord));
  }

  /** Deletes rows by id. */
  async deleteIds(ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const part = ids.slice(i, i + 500);
      if (part.length) await this.table.delete(`id IN (${part.map(sqlString).join(", ")})`);
    }
  }

  /** Whether the vector column has an ANN index (IVF-PQ), which searches then use unless told to be exact. */
  async annIndex(): Promise<string | undefined> {
    if (!this.tbl) return undefined;
    const idx = (await this.tbl.listIndices()).find((i) => i.columns.includes("vector"));
    return idx?.indexType;
  }

  /**
   * Builds (or rebuilds) an IVF-PQ index on the vectors for cosine distance (its k-means recalls
   * better here than with dot). Defaults: sqrt(rows) partitions; dim / 16 sub-vectors (LanceDB's default) from 512 dimensions up, dim / 8 below.
   */
  async buildAnn(opts: { partitions?: number; subVectors?: number } = {}): Promise<{ partitions: number; subVectors: number }> {
    const n = await this.count();
    const dim = this.identity!.embed_dim;
    if (n < 256) throw new UserError(`--ann: IVF-PQ needs at least 256 images to train on, the index holds ${n}`);
    const partitions = opts.partitions ?? Math.max(1, Math.round(Math.sqrt(n)));
    const subVectors = opts.subVectors ?? (dim >= 512 && dim % 16 === 0 ? dim / 16 : dim % 8 === 0 ? dim / 8 : 1);
    await this.table.createIndex("vector", { config: lancedb.Index.ivfPq({ numPartitions: partitions, numSubVectors: subVectors, distanceType: "cosine" }), replace: true });
    return { partitions, subVectors };
  }

  /**
   * Compacts small appends into larger files and deletes the files of older table versions (after
   * an indexing run; otherwise every chunk's commit would keep its own copy on disk).
   */
  async optimize(): Promise<void> {
    if (this.tbl) await this.tbl.optimize({ cleanupOlderThan: new Date() });
  }

  /** Closes the table and connection. */
  close(): void {
    this.tbl?.close();
    this.conn.close();
  }
}

function toRecord(r: ImageRow): Record<string, unknown> {
  return { ...r, vector: Array.from(r.vector) };
}

/** Opens the index database at `uri` (a folder, or an object-store URI such as `s3://bucket/prefix`). */
export function openIndex(uri: string, opts: OpenIndexOptions = {}): Promise<ClipIndex> {
  return ClipIndex.open(uri, opts);
}
