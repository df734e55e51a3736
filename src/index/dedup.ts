/**
 * @file Near-duplicates: pairs of images within one index whose embeddings are closer than a
 * threshold (grouped), or, for each image of one index, its nearest neighbour in another (the
 * paper's train/test overlap analysis). Every neighbour query runs in LanceDB.
 */
import { UserError } from "../errors.js";
import type { ClipIndex } from "./store.js";
import { META_COLUMNS, metaFromRecord, vectorFromCell, type ImageMeta } from "./schema.js";
import { checkSameModel } from "./identity.js";

/**
 * Default cosine-similarity threshold for "near-duplicate". Chosen from the similarity of planted
 * duplicates (re-encoded, resized, slightly cropped copies) against pairs of distinct images; see
 * README "Semantic image search" and bench/index/dedup_threshold.ts to measure it for a model.
 */
export const DEFAULT_DEDUP_THRESHOLD = 0.95;

/** Two rows and their cosine similarity. */
export interface DuplicatePair {
  a: ImageMeta;
  b: ImageMeta;
  score: number;
}

/** A connected group of near-duplicates (pairs above the threshold, joined transitively). */
export interface DuplicateGroup {
  members: ImageMeta[];
  /** Highest similarity inside the group. */
  best: number;
}

/** Near-duplicates within one index (`findDuplicates`). */
export interface DedupResult {
  threshold: number;
  /** Rows examined. */
  images: number;
  /** Pairs at or above the threshold, most similar first. */
  pairs: DuplicatePair[];
  groups: DuplicateGroup[];
}

/** An image of one index and its nearest neighbour in the other. */
export interface OverlapMatch {
  image: ImageMeta;
  nearest: ImageMeta;
  score: number;
}

/** The overlap of one index with another (`findOverlap`): the paper's train/test analysis. */
export interface OverlapResult {
  threshold: number;
  /** Rows of the first index examined. */
  images: number;
  /** Rows whose nearest neighbour in the other index is at or above the threshold. */
  with_duplicate: number;
  fraction: number;
  /** Those rows and their neighbours, most similar first. */
  matches: OverlapMatch[];
}

/** Options of `findDuplicates` and `findOverlap`. */
export interface DedupOptions {
  threshold?: number;
  /** Neighbours fetched per image (default 10): an image with more duplicates than this keeps the closest. */
  k?: number;
  /** Queries in flight at once (default 8). */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

/** Runs `fn` over every row (id, metadata, vector), `concurrency` at a time. */
async function forEachRow(index: ClipIndex, opts: DedupOptions, fn: (meta: ImageMeta, v: Float32Array) => Promise<void>): Promise<number> {
  const total = await index.count();
  let done = 0;
  let inflight: Promise<void>[] = [];
  for await (const batch of index.table.query().select([...META_COLUMNS, "vector"])) {
    for (const r of batch.toArray()) {
      const rec = r as Record<string, unknown>;
      inflight.push(fn(metaFromRecord(rec), vectorFromCell(rec.vector)).then(() => opts.onProgress?.(++done, total)));
      if (inflight.length >= (opts.concurrency ?? 8)) {
        await Promise.all(inflight);
        inflight = [];
      }
    }
  }
  await Promise.all(inflight);
  return total;
}

/** Nearest rows of `index` to `v` (exact, in LanceDB) with their cosine similarity. */
async function neighbours(index: ClipIndex, v: Float32Array, k: number): Promise<{ meta: ImageMeta; score: number }[]> {
  const rows = (await index.table.query().nearestTo(v).distanceType("dot").bypassVectorIndex().limit(k).select([...META_COLUMNS, "_distance"]).toArray()) as Record<string, unknown>[];
  return rows.map((r) => ({ meta: metaFromRecord(r), score: 1 - Number(r._distance) }));
}

function checkThreshold(t: number): number {
  if (!(t >= -1 && t <= 1)) throw new UserError(`threshold must be a cosine similarity in [-1, 1], got ${t}`);
  return t;
}

/** Near-duplicate pairs and groups within one index. */
export async function findDuplicates(index: ClipIndex, opts: DedupOptions = {}): Promise<DedupResult> {
  const threshold = checkThreshold(opts.threshold ?? DEFAULT_DEDUP_THRESHOLD);
  const k = opts.k ?? 10;
  const pairs = new Map<string, DuplicatePair>();
  const images = await forEachRow(index, opts, async (meta, v) => {
    for (const n of await neighbours(index, v, k + 1)) {
      if (n.meta.id === meta.id || n.score < threshold) continue;
      const [a, b] = meta.id < n.meta.id ? [meta, n.meta] : [n.meta, meta];
      const key = `${a.id}:${b.id}`;
      if (!pairs.has(key)) pairs.set(key, { a, b, score: n.score });
    }
  });
  const sorted = [...pairs.values()].sort((x, y) => y.score - x.score || (x.a.path < y.a.path ? -1 : 1));
  return { threshold, images, pairs: sorted, groups: groupPairs(sorted) };
}

/** Union-find over pairs: connected components, largest first. */
function groupPairs(pairs: DuplicatePair[]): DuplicateGroup[] {
  const parent = new Map<string, string>();
  const metas = new Map<string, ImageMeta>();
  const find = (x: string): string => {
    while (parent.get(x) !== x) {
      parent.set(x, parent.get(parent.get(x)!)!);
      x = parent.get(x)!;
    }
    return x;
  };
  for (const p of pairs) {
    for (const m of [p.a, p.b]) {
      if (!parent.has(m.id)) parent.set(m.id, m.id);
      metas.set(m.id, m);
    }
    parent.set(find(p.a.id), find(p.b.id));
  }
  const groups = new Map<string, DuplicateGroup>();
  for (const id of parent.keys()) {
    const root = find(id);
    const g = groups.get(root) ?? { members: [], best: -Infinity };
    g.members.push(metas.get(id)!);
    groups.set(root, g);
  }
  for (const p of pairs) {
    const g = groups.get(find(p.a.id))!;
    g.best = Math.max(g.best, p.score);
  }
  for (const g of groups.values()) g.members.sort((x, y) => (x.path < y.path ? -1 : 1));
  return [...groups.values()].sort((x, y) => y.members.length - x.members.length || y.best - x.best);
}

/**
 * For each image of `index`, its nearest neighbour in `against` (which must hold embeddings of the
 * same model): how many have a near-duplicate there at the threshold.
 */
export async function findOverlap(index: ClipIndex, against: ClipIndex, opts: DedupOptions = {}): Promise<OverlapResult> {
  const threshold = checkThreshold(opts.threshold ?? DEFAULT_DEDUP_THRESHOLD);
  if (index.identity && against.identity) checkSameModel(index.identity, against.identity, against.uri);
  const matches: OverlapMatch[] = [];
  const images = await forEachRow(index, opts, async (meta, v) => {
    const [n] = await neighbours(against, v, 1);
    if (n && n.score >= threshold) matches.push({ image: meta, nearest: n.meta, score: n.score });
  });
  matches.sort((x, y) => y.score - x.score || (x.image.path < y.image.path ? -1 : 1));
  return { threshold, images, with_duplicate: matches.length, fraction: images ? matches.length / images : 0, matches };
}
