/** @file Turns a group of files sharing a key (.jpg/.png/.webp + .txt/.json/.cls) into a Sample, or a counted skip. */
import type { Sample } from "./types.js";

export const IMAGE_EXTS = ["jpg", "jpeg", "png", "webp"] as const;

export interface SampleRules {
  requireImage: boolean;
  requireCaption: boolean;
  requireLabel: boolean;
  /** Captions longer than this many characters are cut to it (kept, counted as truncated), never dropped. */
  maxCaptionChars: number;
  /** Labels must lie in [0, numClasses) when known. */
  numClasses?: number;
}

/** A usable sample (with the captions it lost, if any), or why it was skipped. */
export type Built =
  | { ok: true; sample: Sample; dropped: Record<string, number> }
  | { ok: false; reason: string; message: string; source?: string; key?: string };

const utf8 = new TextDecoder();

/** Splits a member name into the WebDataset key (up to the first dot of the file name) and extension. */
export function splitKey(name: string): [key: string, ext: string] | null {
  const slash = name.lastIndexOf("/");
  const dot = name.indexOf(".", slash + 1);
  if (dot <= slash + 1) return null; // no extension, or a dot file
  return [name.slice(0, dot), name.slice(dot + 1).toLowerCase()];
}

/** Builds a Sample from the files of one key. `members` maps lower-case extension to bytes. */
export function buildSample(key: string, shard: string, members: ReadonlyMap<string, Uint8Array>, rules: SampleRules): Built {
  const where = `${shard}: ${key}`;
  const bad = (reason: string, message: string): Built => ({ ok: false, reason, message, source: shard, key });
  const sample: Sample = { key, shard, captions: [] };
  const dropped: Record<string, number> = {};

  for (const ext of IMAGE_EXTS) {
    const bytes = members.get(ext);
    if (bytes) {
      sample.image = bytes;
      sample.imageExt = ext;
      break;
    }
  }
  if (sample.image) {
    if (sample.image.length === 0) return bad("empty_image", `${where}: empty .${sample.imageExt} file`);
    if (!looksLikeImage(sample.image)) return bad("bad_image", `${where}: .${sample.imageExt} is not an image (unknown file signature)`);
  } else if (rules.requireImage) {
    return bad("missing_image", `${where}: no image (.jpg/.jpeg/.png/.webp) among .${[...members.keys()].join(", .")}`);
  }

  // captions: .json (captions list, a list, or caption/text) wins over .txt (one caption per line)
  let raw: string[] | null = null;
  const json = members.get("json");
  if (json) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(utf8.decode(json));
    } catch (e) {
      return bad("bad_json", `${where}: .json is not valid JSON (${(e as Error).message})`);
    }
    raw = captionsFromJson(parsed);
  }
  const txt = members.get("txt");
  if (raw === null && txt) raw = utf8.decode(txt).split(/\r?\n/);
  if (raw !== null) {
    let empty = 0;
    let long = 0;
    for (const c of raw) {
      const { text, truncated } = cleanCaption(c, rules.maxCaptionChars);
      if (!text) empty++;
      else {
        if (truncated) long++;
        sample.captions.push(text);
      }
    }
    // blank lines between captions in a .txt are layout, not dropped captions
    if (empty && (json || raw.length === 1)) dropped.empty = empty;
    // the one caption policy: a long caption is kept and cut (the tokenizer cuts it again to the
    // context, with a counted warning, as clip.tokenize(truncate=True)); counted, never dropped
    if (long) dropped.truncated = long;
    if (sample.captions.length === 0 && rules.requireCaption) return bad("empty_caption", `${where}: empty caption`);
  } else if (rules.requireCaption) {
    return bad("missing_caption", `${where}: no caption (.txt or .json)`);
  }

  const cls = members.get("cls");
  if (cls) {
    const text = utf8.decode(cls).trim();
    if (!/^\d+$/.test(text)) return bad("bad_label", `${where}: .cls "${text.slice(0, 40)}" is not a class index`);
    const label = parseInt(text, 10);
    if (rules.numClasses !== undefined && label >= rules.numClasses) {
      return bad("bad_label", `${where}: class ${label} out of range (classnames.txt has ${rules.numClasses})`);
    }
    sample.label = label;
  } else if (rules.requireLabel) {
    return bad("missing_label", `${where}: no class label (.cls)`);
  }
  return { ok: true, sample, dropped };
}

/**
 * A caption as samples carry it: whitespace runs made one space, trimmed, and cut to `maxChars`
 * characters (at a code point boundary, so no lone surrogate is left). The cut keeps the start,
 * which is all a context of 77 tokens reads.
 */
export function cleanCaption(raw: string, maxChars: number): { text: string; truncated: boolean } {
  // collapse only a bounded prefix: a 1 MB caption costs no more than a short one
  const bound = 4 * maxChars + 64;
  const head = raw.length > bound ? raw.slice(0, bound) : raw;
  let text = head.replace(/\s+/g, " ").trim();
  if (text.length <= maxChars) {
    // the prefix was all blanks or collapsed below the limit: the rest still counts
    if (head === raw) return { text, truncated: false };
    text = raw.replace(/\s+/g, " ").trim();
    if (text.length <= maxChars) return { text, truncated: false };
  }
  let end = maxChars;
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--; // do not split a surrogate pair
  return { text: text.slice(0, end).trimEnd(), truncated: true };
}

/** Captions from the JSON shapes in use: {"captions":[...]}, [...], {"caption": "..."}, {"text": ...}. */
export function captionsFromJson(v: unknown): string[] | null {
  const strings = (x: unknown): string[] | null =>
    typeof x === "string" ? [x] : Array.isArray(x) ? x.filter((s): s is string => typeof s === "string") : null;
  if (Array.isArray(v)) return strings(v);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    for (const k of ["captions", "caption", "texts", "text"]) {
      const s = strings(o[k]);
      if (s) return s;
    }
  }
  return null;
}

/** A cheap signature check (no decoding): JPEG, PNG, WebP, GIF, BMP, TIFF, AVIF/HEIF. */
export function looksLikeImage(b: Uint8Array): boolean {
  if (b.length < 12) return false;
  const ascii = (o: number, n: number): string => String.fromCharCode(...b.subarray(o, o + n));
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return true;
  if (b[0] === 0x89 && ascii(1, 3) === "PNG") return true;
  if (ascii(0, 4) === "RIFF" && ascii(8, 4) === "WEBP") return true;
  if (ascii(0, 4) === "GIF8" || ascii(0, 2) === "BM") return true;
  if (ascii(0, 4) === "II*\0" || ascii(0, 4) === "MM\0*") return true;
  return ascii(4, 4) === "ftyp";
}
