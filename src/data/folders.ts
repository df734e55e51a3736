/** @file Folder layouts: images with same-name caption files, and ImageFolder (one sub-folder per class). */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";
import type { ItemSource } from "./indexed.js";
import { buildSample, IMAGE_EXTS, type Built, type SampleRules } from "./sample.js";

const IMAGE_RE = new RegExp(`\\.(${IMAGE_EXTS.join("|")})$`, "i");

/** Image files under dir (recursive, sorted by relative path; dot files and folders skipped). */
export function listImages(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.name.startsWith(".")) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (IMAGE_RE.test(e.name)) out.push(r);
    }
  };
  walk("");
  return out;
}

async function readOptional(file: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await fs.promises.readFile(file));
  } catch {
    return undefined;
  }
}

/** Members of one image file: the image plus same-stem .txt/.json/.cls sidecars. */
async function members(dir: string, rel: string): Promise<Map<string, Uint8Array>> {
  const m = new Map<string, Uint8Array>();
  const file = path.join(dir, rel);
  const ext = path.extname(rel).slice(1).toLowerCase();
  m.set(ext === "jpeg" ? "jpeg" : ext, new Uint8Array(await fs.promises.readFile(file)));
  const stem = file.slice(0, file.length - ext.length - 1);
  for (const side of ["txt", "json", "cls"]) {
    const b = await readOptional(`${stem}.${side}`);
    if (b) m.set(side, b);
  }
  return m;
}

function stemOf(rel: string): string {
  return rel.slice(0, rel.length - path.extname(rel).length);
}

export function folderSource(dir: string, rules: SampleRules): ItemSource {
  const files = listImages(dir);
  if (files.length === 0) throw new UserError(`folder:${dir} holds no images (.jpg/.jpeg/.png/.webp)`);
  const load = async (i: number): Promise<Built> => {
    const rel = files[i]!;
    try {
      return buildSample(stemOf(rel), dir, await members(dir, rel), rules);
    } catch (e) {
      return { ok: false, reason: "unreadable_image", message: `${dir}: ${rel}: ${(e as Error).message}`, source: dir, key: stemOf(rel) };
    }
  };
  return { layout: "folder", names: files, size: files.length, load, prefetch: 16 };
}

export function imageFolderSource(dir: string, rules: SampleRules): ItemSource {
  const classes = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith("."))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (classes.length === 0) throw new UserError(`imagefolder:${dir} has no class sub-folders (expected DIR/CLASS/IMAGE.jpg)`);
  const items: { rel: string; label: number }[] = [];
  classes.forEach((c, label) => {
    for (const f of listImages(path.join(dir, c))) items.push({ rel: `${c}/${f}`, label });
  });
  if (items.length === 0) throw new UserError(`imagefolder:${dir} has class folders but no images (.jpg/.jpeg/.png/.webp)`);
  const enc = new TextEncoder();
  const classRules = { ...rules, numClasses: rules.numClasses ?? classes.length };
  const load = async (i: number): Promise<Built> => {
    const { rel, label } = items[i]!;
    try {
      const m = await members(dir, rel);
      m.set("cls", enc.encode(String(label))); // the folder is the label
      return buildSample(stemOf(rel), dir, m, classRules);
    } catch (e) {
      return { ok: false, reason: "unreadable_image", message: `${dir}: ${rel}: ${(e as Error).message}`, source: dir, key: stemOf(rel) };
    }
  };
  return { layout: "imagefolder", names: items.map((x) => x.rel), size: items.length, classnames: classes, load, prefetch: 16 };
}
