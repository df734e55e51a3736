/** @file Test helpers for the index: folders of real photos (Flickr8k dev images) with hostile files, written to a temp dir. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDataset } from "../../src/data/index.js";
import { DATASETS, REFERENCE } from "../helpers/shared.js";

export const VIT_TINY = path.join(REFERENCE, "vit-tiny");
export const RN_TINY = path.join(REFERENCE, "rn-tiny");

/** The first n distinct images of the Flickr8k dev shard (encoded JPEG bytes). */
export async function flickrImages(n: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const s of openDataset(path.join(DATASETS, "flickr8k/dev-000000.tar"))) {
    out.push(s.image!);
    if (out.length >= n) break;
  }
  return out;
}

/** A fresh temporary directory (removed by the caller with `fs.rmSync(dir, { recursive: true })`). */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `clip-index-${prefix}-`));
}

/**
 * Writes `n` photos as `photo-NN.jpg` (every third one under `sub/`), two fixture PNGs (RGBA and
 * palette) and three hostile files (a 7-byte "image", a truncated JPEG, an empty PNG). Returns the
 * paths of the good images and of the bad ones.
 */
export async function photoFolder(dir: string, n: number): Promise<{ good: string[]; bad: string[] }> {
  const photos = await flickrImages(n);
  fs.mkdirSync(path.join(dir, "sub"), { recursive: true });
  const good: string[] = [];
  photos.forEach((b, i) => {
    const p = path.join(dir, i % 3 === 2 ? "sub" : "", `photo-${String(i).padStart(2, "0")}.jpg`);
    fs.writeFileSync(p, b);
    good.push(p);
  });
  for (const f of ["img5_257x256_RGBA.png", "img7_400x300_P.png"]) {
    const p = path.join(dir, f);
    fs.copyFileSync(path.join(REFERENCE, "images", f), p);
    good.push(p);
  }
  const bad = [path.join(dir, "seven.jpg"), path.join(dir, "sub", "truncated.jpg"), path.join(dir, "empty.png")];
  fs.writeFileSync(bad[0]!, "notajpg");
  fs.writeFileSync(bad[1]!, photos[0]!.subarray(0, 2000));
  fs.writeFileSync(bad[2]!, new Uint8Array(0));
  fs.writeFileSync(path.join(dir, "notes.txt"), "not an image, ignored");
  return { good: good.sort(), bad: bad.sort() };
}
