/** @file CSV/TSV tables of image paths (or URLs) and captions, as open_clip's --csv-img-key/--csv-caption-key read them. */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";
import type { ItemSource } from "./indexed.js";
import { buildSample, IMAGE_EXTS, type Built, type SampleRules } from "./sample.js";
import type { CsvSpec } from "./spec.js";

const IMAGE_COLUMNS = ["filepath", "image", "image_path", "img", "file", "filename", "path", "url", "image_url"];
const CAPTION_COLUMNS = ["caption", "title", "text", "captions", "description"];

/** Parses CSV text (RFC 4180 quoting; `sep` may be a tab) into rows of cells. */
export function parseCsv(text: string, sep: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // byte-order mark
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += ch;
    } else if (ch === '"' && cell === "") quoted = true;
    else if (ch === sep) {
      row.push(cell);
      cell = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      cell = "";
      if (row.length > 1 || row[0] !== "") rows.push(row);
      row = [];
    } else cell += ch;
  }
  if (cell !== "" || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

export function csvSource(spec: CsvSpec, rules: SampleRules): ItemSource {
  const rows = parseCsv(fs.readFileSync(spec.file, "utf8"), spec.sep);
  if (rows.length === 0) throw new UserError(`${spec.file} is empty (expected a header row naming the image and caption columns)`);
  const header = rows[0]!.map((h) => h.trim());
  const body = rows.slice(1);
  const col = (name: string, what: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new UserError(`${spec.file} has no ${what} column "${name}" (columns: ${header.join(", ")}); name it with csv:${spec.file}?${what}=COLUMN`);
    return i;
  };
  const find = (names: string[], what: string): number => {
    const i = header.findIndex((h) => names.includes(h.toLowerCase()));
    if (i < 0) throw new UserError(`${spec.file}: no ${what} column among ${header.join(", ")} (looked for ${names.join(", ")}); name it with ?${what}=COLUMN`);
    return i;
  };
  const imageCol = spec.image ? col(spec.image, "image") : find(IMAGE_COLUMNS, "image");
  const captionCols = spec.caption ? spec.caption.map((c) => col(c, "caption")) : optionalCaption(header);
  const labelCol = spec.label ? col(spec.label, "label") : -1;
  const seps = spec.sep === "\t" ? "tab" : spec.sep;

  async function load(i: number): Promise<Built> {
    const row = body[i]!;
    const key = `row${i + 2}`; // the line number in the file (header is line 1)
    const where = `${spec.file}: ${key}`;
    if (row.length !== header.length) {
      return { ok: false, reason: "bad_row", message: `${where}: ${row.length} cells, header has ${header.length} (separator ${seps})`, source: spec.file, key };
    }
    const members = new Map<string, Uint8Array>();
    const ref = row[imageCol]!.trim();
    if (ref) {
      const got = await readImage(ref, spec.root);
      if (!got.ok) return { ok: false, reason: got.reason, message: `${where}: ${got.message}`, source: spec.file, key };
      members.set(got.ext, got.bytes);
    }
    if (captionCols.length) members.set("json", new TextEncoder().encode(JSON.stringify({ captions: captionCols.map((c) => row[c]!) })));
    if (labelCol >= 0) members.set("cls", new TextEncoder().encode(row[labelCol]!));
    const built = buildSample(key, spec.file, members, rules);
    return built;
  }

  return {
    layout: "csv",
    names: [spec.file, ...header],
    size: body.length,
    load: (i) => load(i).catch((e: Error) => ({ ok: false, reason: "unreadable_image", message: `${spec.file}: row${i + 2}: ${e.message}`, source: spec.file, key: `row${i + 2}` })),
    prefetch: 16,
  };
}

function optionalCaption(header: string[]): number[] {
  const i = header.findIndex((h) => CAPTION_COLUMNS.includes(h.toLowerCase()));
  return i < 0 ? [] : [i];
}

type Read = { ok: true; bytes: Uint8Array; ext: string } | { ok: false; reason: string; message: string };

/** Reads an image by path (relative to `root`) or http(s) URL; the extension comes from the name or the bytes. */
export async function readImage(ref: string, root: string): Promise<Read> {
  let bytes: Uint8Array;
  if (/^https?:\/\//i.test(ref)) {
    try {
      const res = await fetch(ref, { signal: AbortSignal.timeout(30000) });
      if (!res.ok) return { ok: false, reason: "image_fetch_failed", message: `${ref}: HTTP ${res.status}` };
      bytes = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      return { ok: false, reason: "image_fetch_failed", message: `${ref}: ${(e as Error).message}` };
    }
  } else {
    const file = path.resolve(root, ref);
    try {
      bytes = new Uint8Array(await fs.promises.readFile(file));
    } catch {
      return { ok: false, reason: "missing_image", message: `image file not found: ${file}` };
    }
  }
  const ext = path.extname(ref.replace(/[?#].*$/, "")).slice(1).toLowerCase();
  return { ok: true, bytes, ext: (IMAGE_EXTS as readonly string[]).includes(ext) ? ext : sniffExt(bytes) };
}

/** jpg/png/webp from the file signature (default jpg; the sample builder rejects non-images). */
export function sniffExt(b: Uint8Array): string {
  if (b[0] === 0x89 && b[1] === 0x50) return "png";
  if (b[0] === 0x52 && b[1] === 0x49 && b[8] === 0x57) return "webp";
  return "jpg";
}
