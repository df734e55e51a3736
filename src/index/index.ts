/**
 * @file The image index's public API (Node-only: LanceDB is a native module): open an index,
 * bring it up to date with folders or datasets, search it, find near-duplicates, merge parts.
 *
 * ```ts
 * const index = await openIndex("photos.lance");
 * const model = await ClipModel.load("path/to/checkpoint");
 * await indexSources(index, model, ["~/Pictures"]);
 * const { results } = await search(index, model, { text: "a dog on a beach", k: 5 });
 * ```
 */
export { ClipIndex, openIndex, sqlString, type OpenIndexOptions } from "./store.js";
export { indexSources, rowId, type IndexRunOptions, type IndexRunResult, type IndexProgress } from "./build.js";
export { search, searchVector, queryVector, checkModel, type SearchQuery, type SearchHit, type SearchResponse } from "./search.js";
export {
  findDuplicates,
  findOverlap,
  DEFAULT_DEDUP_THRESHOLD,
  type DedupOptions,
  type DedupResult,
  type DuplicatePair,
  type DuplicateGroup,
  type OverlapResult,
  type OverlapMatch,
} from "./dedup.js";
export { writeDedupReport, dedupMarkdown, overlapMarkdown, contactSheet } from "./report.js";
export { mergeIndexes } from "./merge.js";
export { modelIdentity, checkSameModel, type ModelIdentity } from "./identity.js";
export { resolveIndexSource, walkImages, INDEX_IMAGE_EXTS, type IndexSource, type Part } from "./sources.js";
export { TABLE, type ImageMeta, type ImageRow } from "./schema.js";
export type { SkipSummary } from "../data/index.js";
