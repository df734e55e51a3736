/**
 * @file What `clip index` reads: a folder of image files (walked recursively, with size and mtime
 * so unchanged files are not even read), or any data SPEC (WebDataset shards, csv:, folder:, ...)
 * streamed as samples. Also the header-only image size and the content hash.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { openDataset, type Dataset } from "../data/index.js";
import { readBmpHeader } from "../image/bmp.js";
import { gifSize } from "../image/gif.js";
import { jpegInfo, sniffFormat } from "../image/decode.js";

/** File extensions of every format the project decodes (sharp's plus our BMP and GIF decoders). */
export const INDEX_IMAGE_EXTS = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff", "avif", "heic", "heif"];
const IMAGE_RE = new RegExp(`\\.(${INDEX_IMAGE_EXTS.join("|")})$`, "i");
const SHARD_RE = /\.(tar|tar\.gz|tgz)$/i;

/** A file found in a folder source. */
export interface FolderFile {
  /** Absolute path. */
  abs: string;
  /** Path relative to the folder, with "/" separators. */
  rel: string;
  size: number;
  mtime: number;
}

/** `--part I/N`: this process takes items (files, or shards) whose position % count === index. */
export interface Part {
  /** 0-based. */
  index: number;
  count: number;
}

/** A resolved SOURCE argument. */
export type IndexSource =
  | { kind: "folder"; source: string; root: string; files: FolderFile[] }
  | { kind: "dataset"; source: string; open: (onBad?: "skip" | "error") => Dataset };

/** Image files under dir, recursively, sorted; dot files and folders are skipped. */
export function walkImages(root: string): FolderFile[] {
  const out: FolderFile[] = [];
  const walk = (rel: string): void => {
    const entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      const abs = path.join(root, r);
      if (e.isDirectory()) walk(r);
      else if (IMAGE_RE.test(e.name)) {
        let st: fs.Stats;
        try {
          st = fs.statSync(abs);
        } catch {
          continue; // vanished between readdir and stat
        }
        if (st.isFile()) out.push({ abs, rel: r, size: st.size, mtime: st.mtimeMs });
      }
    }
  };
  walk("");
  return out;
}

function hasShards(dir: string): boolean {
  return fs.readdirSync(dir).some((f) => SHARD_RE.test(f));
}

/**
 * Resolves one SOURCE: a directory of image files is a folder source; a directory of shards, a
 * shard pattern or any data SPEC is a dataset. `part` keeps this process's share.
 */
export function resolveIndexSource(arg: string, part?: Part): IndexSource {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(arg);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) {
    const root = path.resolve(arg);
    const files = walkImages(root);
    if (files.length > 0 || !hasShards(root)) {
      return { kind: "folder", source: root, root, files: part ? files.filter((_f, i) => i % part.count === part.index) : files };
    }
  }
  const spec = st?.isDirectory() ? path.resolve(arg) : arg;
  // the SPEC is resolved now so a typo fails before any work
  openDataset(spec, { worker: part });
  return { kind: "dataset", source: spec, open: (onBad = "skip") => openDataset(spec, { requireImage: true, worker: part, onBad }) };
}

/** sha256 of bytes, hex. */
export function contentHash(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Width and height from the file's header alone ([0, 0] when it cannot tell: the decoder will then say why). */
export async function headerSize(b: Uint8Array): Promise<[number, number]> {
  try {
    switch (sniffFormat(b)) {
      case "jpeg": {
        const j = jpegInfo(b);
        return [j.width, j.height];
      }
      case "png":
        return b.length >= 24 ? [new DataView(b.buffer, b.byteOffset).getUint32(16), new DataView(b.buffer, b.byteOffset).getUint32(20)] : [0, 0];
      case "gif":
        return gifSize(b);
      case "bmp": {
        const h = readBmpHeader(b);
        return [h.width, Math.abs(h.height)];
      }
      case null:
        return [0, 0];
      default: {
        const m = await sharp(b).metadata();
        return [m.width ?? 0, m.height ?? 0];
      }
    }
  } catch {
    return [0, 0];
  }
}

/** The first line of a same-stem .txt next to an image file, as its caption (null when none). */
export function sidecarCaption(abs: string): string | null {
  const stem = abs.slice(0, abs.length - path.extname(abs).length);
  try {
    const line = fs.readFileSync(`${stem}.txt`, "utf8").split(/\r?\n/).find((l) => l.trim() !== "");
    return line ? line.trim() : null;
  } catch {
    return null;
  }
}
