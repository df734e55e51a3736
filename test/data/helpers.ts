/** @file Test helpers for the data layer: temporary folders, small shards written entry by entry, collecting keys. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TarWriter } from "../../src/data/tar.js";
import { encodePng } from "../../src/data/synth/png.js";
import type { Sample } from "../../src/data/index.js";

const made: string[] = [];
process.on("exit", () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new temporary folder, removed when the test process exits. */
export function tmpDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `clip-data-${name}-`));
  made.push(dir);
  return dir;
}

/** A tiny valid PNG whose pixels encode n (so images can be told apart). */
export function png(n: number): Uint8Array {
  const rgb = new Uint8Array(4 * 4 * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (n * 7 + i) & 255;
  return encodePng(rgb, 4, 4);
}

export type Entry = [name: string, data: Uint8Array | string];

/** Writes a tar with exactly these entries, in order. */
export function writeTar(file: string, entries: Entry[]): string {
  const w = new TarWriter(file);
  for (const [name, data] of entries) w.add(name, typeof data === "string" ? new TextEncoder().encode(data) : data);
  w.close();
  return file;
}

/** Entries of a well-formed sample: image + caption (+ label). */
export function sampleEntries(key: string, caption: string, label?: number): Entry[] {
  const n = [...key].reduce((a, c) => a + c.charCodeAt(0), 0);
  const e: Entry[] = [[`${key}.png`, png(n)], [`${key}.txt`, caption]];
  if (label !== undefined) e.push([`${key}.cls`, String(label)]);
  return e;
}

/** `count` shards of `per` samples each, keys s{shard}k{index}, captions "caption of KEY". */
export function writeShardSet(dir: string, count: number, per: number): string[] {
  const files: string[] = [];
  for (let s = 0; s < count; s++) {
    const entries: Entry[] = [];
    for (let i = 0; i < per; i++) entries.push(...sampleEntries(`s${s}k${i}`, `caption of s${s}k${i}`, i % 3));
    files.push(writeTar(path.join(dir, `part-${String(s).padStart(6, "0")}.tar`), entries));
  }
  return files;
}

export async function keys(ds: AsyncIterable<Sample>, limit = Infinity): Promise<string[]> {
  const out: string[] = [];
  if (limit <= 0) return out;
  for await (const s of ds) {
    out.push(s.key);
    if (out.length >= limit) break;
  }
  return out;
}
