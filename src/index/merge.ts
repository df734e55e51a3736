/**
 * @file Merging index tables: the step after `clip index --part I/N` ran on N machines (or
 * processes), each into its own table. Rows are upserted by id, so merging twice is harmless.
 */
import { UserError } from "../errors.js";
import type { ClipIndex } from "./store.js";
import { META_COLUMNS, metaFromRecord, vectorFromCell, type ImageRow } from "./schema.js";

/** Copies every row of `parts` into `target` (created with their model when empty); returns rows copied. */
export async function mergeIndexes(target: ClipIndex, parts: ClipIndex[], opts: { batch?: number } = {}): Promise<{ rows: number; copied: number }> {
  let copied = 0;
  for (const part of parts) {
    if (!part.identity) throw new UserError(`${part.uri}: no index to merge (nothing was indexed there)`);
    await target.ensureTable(part.identity);
    let rows: ImageRow[] = [];
    for await (const batch of part.table.query().select([...META_COLUMNS, "vector"])) {
      for (const r of batch.toArray()) {
        const rec = r as Record<string, unknown>;
        rows.push({ ...metaFromRecord(rec), vector: vectorFromCell(rec.vector) });
        if (rows.length >= (opts.batch ?? 2048)) {
          await target.upsert(rows);
          copied += rows.length;
          rows = [];
        }
      }
    }
    await target.upsert(rows);
    copied += rows.length;
  }
  await target.optimize();
  return { rows: await target.count(), copied };
}
