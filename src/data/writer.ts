/** @file Writing samples as WebDataset shards (+ sizes.json, classnames.txt), as open_clip and CLIP_benchmark read them. */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";
import { TarWriter } from "./tar.js";
import type { Sample } from "./types.js";

export interface WriteShardsOptions {
  /** Shard file names are PREFIX-000000.tar, ... Default "shard". */
  prefix?: string;
  /** Written as classnames.txt next to the shards. */
  classnames?: string[];
  /** Written as zeroshot_classification_templates.txt. */
  templates?: string[];
  /** Called after each sample is written, with the running count. */
  onSample?: (count: number) => void;
}

export interface WriteShardsResult {
  shards: string[];
  count: number;
  /** Samples per shard file name (also written as sizes.json). */
  sizes: Record<string, number>;
}

const enc = new TextEncoder();

/**
 * Writes samples into numbered tar shards of `shardSize` samples each: KEY.EXT (the image),
 * KEY.txt (the first caption, as open_clip reads it), KEY.json ({"captions": [...all], ...meta})
 * when there are several captions or metadata, and KEY.cls (the label).
 */
export async function writeShards(
  samples: Iterable<Sample> | AsyncIterable<Sample>,
  outDir: string,
  shardSize: number,
  opts: WriteShardsOptions = {},
): Promise<WriteShardsResult> {
  if (!Number.isInteger(shardSize) || shardSize < 1) throw new UserError(`shard size must be a positive integer (got ${shardSize})`);
  const prefix = opts.prefix ?? "shard";
  if (!/^[\w-]+$/.test(prefix)) throw new UserError(`shard prefix "${prefix}" may hold letters, digits, _ and - only`);
  fs.mkdirSync(outDir, { recursive: true });
  const shards: string[] = [];
  const sizes: Record<string, number> = {};
  let writer: TarWriter | null = null;
  let inShard = 0;
  let count = 0;
  let lastKey = "";
  const seen = new Map<string, number>();
  try {
    for await (const s of samples) {
      if (!writer || inShard === shardSize) {
        writer?.close();
        const name = `${prefix}-${String(shards.length).padStart(6, "0")}.tar`;
        writer = new TarWriter(path.join(outDir, name));
        shards.push(writer.file);
        sizes[name] = 0;
        inShard = 0;
      }
      // a key is the name up to the first dot, so dots must go; equal neighbours would merge into one sample
      let key = s.key.replace(/\./g, "_").replace(/\\/g, "/").replace(/^\/+/, "") || `sample${count}`;
      if (key === lastKey || seen.has(key)) {
        const n = (seen.get(key) ?? 0) + 1;
        seen.set(key, n);
        key = `${key}_${n}`;
      }
      if (seen.size < 100000) seen.set(key, seen.get(key) ?? 0);
      lastKey = key;
      addSample(writer, key, s);
      inShard++;
      count++;
      sizes[path.basename(writer.file)]!++;
      opts.onSample?.(count);
    }
  } finally {
    writer?.close();
  }
  writeSidecars(outDir, sizes, opts);
  return { shards, count, sizes };
}

/** The files of one sample under `key` (already safe: no dots). */
export function addSample(writer: TarWriter, key: string, s: Sample): void {
  if (s.image) writer.add(`${key}.${s.imageExt ?? "jpg"}`, s.image);
  if (s.captions.length) writer.add(`${key}.txt`, enc.encode(s.captions[0]!));
  if (s.captions.length > 1 || s.meta) writer.add(`${key}.json`, enc.encode(JSON.stringify({ captions: s.captions, ...(s.meta ?? {}) })));
  if (s.label !== undefined) writer.add(`${key}.cls`, enc.encode(String(s.label)));
}

/** sizes.json, and classnames.txt / zeroshot_classification_templates.txt when given. */
export function writeSidecars(outDir: string, sizes: Record<string, number>, opts: Pick<WriteShardsOptions, "classnames" | "templates">): void {
  fs.writeFileSync(path.join(outDir, "sizes.json"), JSON.stringify(sizes, null, 1) + "\n");
  if (opts.classnames?.length) fs.writeFileSync(path.join(outDir, "classnames.txt"), opts.classnames.join("\n") + "\n");
  if (opts.templates?.length) fs.writeFileSync(path.join(outDir, "zeroshot_classification_templates.txt"), opts.templates.join("\n") + "\n");
}
