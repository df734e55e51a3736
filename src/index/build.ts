/**
 * @file `indexSources`: incremental indexing. An unchanged file is not read (size + mtime), a file
 * whose bytes did not change is not embedded (content hash), identical content under several
 * paths is embedded once, changed files are replaced and files gone from a folder are removed.
 * Rows are committed a chunk at a time, so a killed run loses at most the chunk in flight and a
 * rerun finishes the job without duplicates.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { ClipModel } from "../clip/model.js";
import { modelIdentity } from "./identity.js";
import { SkipLog, type SkipSummary } from "../data/index.js";
import { exifFields } from "./exif.js";
import { contentHash, headerSize, resolveIndexSource, sidecarCaption, type IndexSource, type Part } from "./sources.js";
import { sqlString, type ClipIndex } from "./store.js";
import type { ImageMeta, ImageRow } from "./schema.js";

/** Options of `indexSources`. */
export interface IndexRunOptions {
  /** "error" (`--strict`): the first input that cannot be used is a UserError instead of a skip. */
  onBad?: "skip" | "error";
  /** Only this share of each source (`--part I/N`); rows of other parts are never removed. */
  part?: Part;
  /** Images embedded and committed together (default 256): a kill loses at most one chunk. */
  chunk?: number;
  /** After indexing, build an IVF-PQ index for approximate search. */
  ann?: boolean | { partitions?: number; subVectors?: number };
  /** Called as inputs are dealt with: `done` of `total` inputs (total undefined when a source cannot say). */
  onProgress?: (p: IndexProgress) => void;
}

/** Progress of an indexing run. */
export interface IndexProgress {
  done: number;
  total: number | undefined;
  /** Images run through the model so far. */
  embedded: number;
}

/** What an indexing run did (the `--json` document of `clip index`). */
export interface IndexRunResult {
  /** New paths. */
  added: number;
  /** Paths already indexed whose content changed. */
  updated: number;
  /** Paths whose size and mtime, or content, did not change. */
  unchanged: number;
  /** Paths gone from a folder source (or from a dataset) since the last run. */
  removed: number;
  /** Images run through the model (content already in the index is reused, not embedded). */
  embedded: number;
  skipped: SkipSummary;
  /** Rows in the table after the run. */
  rows: number;
  seconds: number;
  /** Embedded images per second of the whole run. */
  images_per_second: number;
  /** The IVF-PQ index built with --ann. */
  ann?: { partitions: number; subVectors: number };
}

/** A path to (re)write: its metadata and encoded bytes. */
interface Pending {
  meta: ImageMeta;
  bytes: Uint8Array;
  isNew: boolean;
  /** Content unchanged, only size/mtime moved: the stored vector is kept. */
  touch: boolean;
}

/** Stable row id of a path: 16 hex digits of its sha256. */
export function rowId(p: string): string {
  return createHash("sha256").update(p).digest("hex").slice(0, 16);
}

/** Counts and commits of one run. */
class Run {
  readonly r = { added: 0, updated: 0, unchanged: 0, removed: 0, embedded: 0 };
  readonly skips: SkipLog;
  done = 0;
  total: number | undefined = 0;
  private chunk: Pending[] = [];
  private inflight: Promise<void> = Promise.resolve();

  constructor(
    private readonly index: ClipIndex,
    private readonly model: ClipModel,
    private readonly opts: IndexRunOptions,
  ) {
    this.skips = new SkipLog(opts.onBad ?? "skip");
  }

  /** Counts (and names) one input that cannot be used. */
  skip(reason: string, path: string, message: string): void {
    const hash = path.indexOf("#");
    this.skips.add({ reason, source: hash > 0 ? path.slice(0, hash) : path, ...(hash > 0 ? { key: path.slice(hash + 1) } : {}), message });
  }

  progress(): void {
    this.opts.onProgress?.({ done: this.done, total: this.total, embedded: this.r.embedded });
  }

  /** Queues a path; full chunks are written while the next one is being read. */
  async push(p: Pending): Promise<void> {
    this.chunk.push(p);
    if (this.chunk.length >= (this.opts.chunk ?? 256)) await this.flush();
  }

  async flush(): Promise<void> {
    const chunk = this.chunk;
    this.chunk = [];
    await this.inflight;
    this.inflight = chunk.length ? this.write(chunk) : Promise.resolve();
    this.inflight.catch(() => undefined); // reported by the next await
  }

  async finish(): Promise<void> {
    await this.flush();
    await this.inflight;
  }

  /** Embeds what the index does not hold yet (once per content hash) and commits the chunk's rows. */
  private async write(chunk: Pending[]): Promise<void> {
    const vectors = await this.index.vectorsByHash([...new Set(chunk.map((p) => p.meta.hash))]);
    const todo: Pending[] = [];
    const queued = new Set<string>();
    for (const p of chunk) {
      if (!vectors.has(p.meta.hash) && !queued.has(p.meta.hash)) {
        todo.push(p);
        queued.add(p.meta.hash);
      }
    }
    const bad = new Set<string>();
    if (todo.length) {
      const r = await this.model.encodeImagesSkipping(todo.map((p) => p.bytes), { names: todo.map((p) => p.meta.path) });
      const d = r.embeddings.dim;
      let row = 0;
      r.ok.forEach((good, j) => {
        const p = todo[j]!;
        if (good) vectors.set(p.meta.hash, r.embeddings.data.slice(row * d, ++row * d));
        else {
          bad.add(p.meta.hash);
          this.skip("undecodable_image", p.meta.path, r.errors[j] ?? `${p.meta.path}: cannot decode image`);
        }
      });
      this.r.embedded += row;
      this.done += todo.length;
      this.progress();
    }
    const adds: ImageRow[] = [];
    const ups: ImageRow[] = [];
    const stale: string[] = [];
    for (const p of chunk) {
      if (bad.has(p.meta.hash)) {
        if (!todo.includes(p)) {
          this.skip("undecodable_image", p.meta.path, `${p.meta.path}: same content as an image that does not decode`);
          this.done++;
        }
        if (!p.isNew) stale.push(p.meta.id); // its old embedding no longer describes the file
        continue;
      }
      const row: ImageRow = { ...p.meta, vector: vectors.get(p.meta.hash)! };
      (p.isNew ? adds : ups).push(row);
      if (p.touch) this.r.unchanged++;
      else if (p.isNew) this.r.added++;
      else this.r.updated++;
      if (!todo.includes(p)) this.done++;
    }
    await this.index.upsert(ups);
    await this.index.add(adds);
    await this.index.deleteIds(stale);
    this.r.removed += stale.length;
    this.progress();
  }
}

/** Reads, hashes and sizes one folder file; undefined (counted) when it cannot be read. */
async function readFolderFile(run: Run, abs: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await fs.promises.readFile(abs));
  } catch (e) {
    run.skip("unreadable_image", abs, `${abs}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return undefined;
  }
}

async function indexFolder(run: Run, src: Extract<IndexSource, { kind: "folder" }>, existing: Map<string, ImageMeta>, seen: Set<string>): Promise<void> {
  run.total = (run.total ?? 0) + src.files.length;
  for (const f of src.files) {
    seen.add(f.abs);
    const ex = existing.get(f.abs);
    if (ex && ex.size === f.size && ex.mtime === f.mtime) {
      run.r.unchanged++;
      run.done++;
      continue;
    }
    const bytes = await readFolderFile(run, f.abs);
    if (!bytes) {
      run.done++;
      continue;
    }
    const hash = contentHash(bytes);
    const [width, height] = await headerSize(bytes);
    const folder = path.posix.dirname(f.rel) === "." ? "" : path.posix.dirname(f.rel);
    const meta: ImageMeta = { id: rowId(f.abs), path: f.abs, source: src.source, folder, hash, size: bytes.length, mtime: f.mtime, width, height, caption: sidecarCaption(f.abs), ...(await exifFields(bytes)) };
    await run.push({ meta, bytes, isNew: !ex, touch: ex?.hash === hash });
    run.progress();
  }
}

async function indexDataset(run: Run, src: Extract<IndexSource, { kind: "dataset" }>, existing: Map<string, ImageMeta>, seen: Set<string>): Promise<void> {
  const ds = src.open(run.skips.policy);
  await ds.ready();
  const n = ds.count();
  run.total = run.total === undefined || n === undefined ? undefined : run.total + n;
  const mtimes = new Map<string, number>();
  const mtimeOf = (shard: string): number => {
    if (!mtimes.has(shard)) {
      let t = 0;
      try {
        t = fs.statSync(shard).mtimeMs;
      } catch {
        t = 0; // a URL
      }
      mtimes.set(shard, t);
    }
    return mtimes.get(shard)!;
  };
  for await (const s of ds) {
    const p = `${s.shard}#${s.key}`;
    seen.add(p);
    const bytes = s.image!;
    const hash = contentHash(bytes);
    const ex = existing.get(p);
    if (ex && ex.hash === hash) {
      run.r.unchanged++;
      run.done++;
      continue;
    }
    const [width, height] = await headerSize(bytes);
    const meta: ImageMeta = { id: rowId(p), path: p, source: src.source, folder: path.basename(s.shard), hash, size: bytes.length, mtime: mtimeOf(s.shard), width, height, caption: s.captions[0] ?? null, ...(await exifFields(bytes)) };
    await run.push({ meta, bytes, isNew: !ex, touch: false });
    run.progress();
  }
  const st = ds.stats();
  const reported = Object.values(st.skipped).reduce((a, b) => a + b, 0);
  run.skips.merge({ count: reported, by_reason: st.skipped, examples: st.examples ?? [] });
}

/**
 * Brings the index up to date with `sources` (folders of images, or data SPECs; see
 * `resolveIndexSource`), embedding with `model`. Creates the table on first use; refuses a model
 * other than the one the index was built with. Inputs that cannot be read or decoded are skipped,
 * counted and named in `skipped`, never fatal.
 */
export async function indexSources(index: ClipIndex, model: ClipModel, sources: (string | IndexSource)[], opts: IndexRunOptions = {}): Promise<IndexRunResult> {
  const t0 = performance.now();
  const resolved = sources.map((s) => (typeof s === "string" ? resolveIndexSource(s, opts.part) : s));
  await index.ensureTable(await modelIdentity(model, index.identity));
  const run = new Run(index, model, opts);
  for (const src of resolved) {
    const existing = new Map((await index.metas(`source = ${sqlString(src.source)}`)).map((m) => [m.path, m]));
    const seen = new Set<string>();
    if (src.kind === "folder") await indexFolder(run, src, existing, seen);
    else await indexDataset(run, src, existing, seen);
    await run.finish();
    if (!opts.part) {
      const gone = [...existing.values()].filter((m) => !seen.has(m.path));
      await index.deleteIds(gone.map((m) => m.id));
      run.r.removed += gone.length;
    }
  }
  if (run.r.added + run.r.updated + run.r.removed > 0) await index.optimize();
  let ann: IndexRunResult["ann"];
  if (opts.ann) ann = await index.buildAnn(typeof opts.ann === "object" ? opts.ann : {});
  const seconds = (performance.now() - t0) / 1000;
  return { ...run.r, skipped: run.skips.toJSON(), rows: await index.count(), seconds, images_per_second: run.r.embedded / seconds, ...(ann ? { ann } : {}) };
}
