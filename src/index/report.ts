/** @file The dedup report: a Markdown summary and a contact sheet (PNG) of the most similar pairs. */
import fs from "node:fs";
import path from "node:path";
import sharp, { type OverlayOptions } from "sharp";
import type { DedupResult, OverlapResult } from "./dedup.js";
import type { ImageMeta } from "./schema.js";

const THUMB = 160;
const LABEL = 20;

/** A pair to show: two images and their similarity. */
interface ShownPair {
  a: ImageMeta;
  b: ImageMeta;
  score: number;
}

const escapeMd = (s: string): string => s.replace(/\|/g, "\\|");
const escapeXml = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A THUMB x THUMB tile of an image file; grey when it is no file (a shard sample) or cannot be read. */
async function tile(m: ImageMeta): Promise<Buffer> {
  try {
    if (!m.path.includes("#") && fs.existsSync(m.path)) {
      return await sharp(m.path).resize(THUMB, THUMB, { fit: "contain", background: "#202020" }).removeAlpha().png().toBuffer();
    }
  } catch {
    // fall through to the placeholder
  }
  return sharp({ create: { width: THUMB, height: THUMB, channels: 3, background: "#808080" } }).png().toBuffer();
}

/** Writes a contact sheet of pairs (rows of two thumbnails and the score) to `file`. */
export async function contactSheet(pairs: ShownPair[], file: string): Promise<void> {
  const rowH = THUMB + LABEL;
  const width = 2 * THUMB + 10;
  const height = Math.max(1, pairs.length) * rowH;
  const layers: OverlayOptions[] = [];
  for (const [i, p] of pairs.entries()) {
    const top = i * rowH;
    layers.push({ input: await tile(p.a), left: 0, top });
    layers.push({ input: await tile(p.b), left: THUMB + 10, top });
    const label = `<svg width="${width}" height="${LABEL}"><text x="4" y="15" font-size="13" font-family="sans-serif" fill="white">${escapeXml(`${p.score.toFixed(4)}  ${path.basename(p.a.path)} / ${path.basename(p.b.path)}`)}</text></svg>`;
    layers.push({ input: Buffer.from(label), left: 0, top: top + THUMB });
  }
  await sharp({ create: { width, height, channels: 3, background: "#000000" } }).composite(layers).png().toFile(file);
}

/** Markdown of a dedup run within one index. */
export function dedupMarkdown(r: DedupResult, db: string, top = 50): string {
  const lines = [
    `# Near-duplicates in ${db}`,
    "",
    `${r.images} images, threshold ${r.threshold} (cosine similarity): ${r.pairs.length} pairs in ${r.groups.length} groups.`,
    "",
    "| score | image A | image B |",
    "| --- | --- | --- |",
    ...r.pairs.slice(0, top).map((p) => `| ${p.score.toFixed(4)} | ${escapeMd(p.a.path)} | ${escapeMd(p.b.path)} |`),
  ];
  if (r.groups.length) {
    lines.push("", "## Groups", "");
    r.groups.slice(0, top).forEach((g, i) => lines.push(`${i + 1}. (${g.members.length} images, best ${g.best.toFixed(4)}) ${g.members.map((m) => escapeMd(m.path)).join(", ")}`));
  }
  return lines.join("\n") + "\n";
}

/** Markdown of an overlap run between two indexes. */
export function overlapMarkdown(r: OverlapResult, db: string, against: string, top = 50): string {
  return [
    `# Overlap of ${db} with ${against}`,
    "",
    `${(100 * r.fraction).toFixed(2)} % of the ${r.images} images of ${db} (${r.with_duplicate}) have a near-duplicate in ${against} at threshold ${r.threshold}.`,
    "",
    "| score | image | nearest in the other index |",
    "| --- | --- | --- |",
    ...r.matches.slice(0, top).map((m) => `| ${m.score.toFixed(4)} | ${escapeMd(m.image.path)} | ${escapeMd(m.nearest.path)} |`),
  ].join("\n") + "\n";
}

/** Writes `report.md` and `contact.png` (top pairs) into `dir`; returns their paths. */
export async function writeDedupReport(r: DedupResult | OverlapResult, dir: string, names: { db: string; against?: string }, topPairs = 20): Promise<{ markdown: string; contactSheet: string }> {
  fs.mkdirSync(dir, { recursive: true });
  const markdown = path.join(dir, "report.md");
  const sheet = path.join(dir, "contact.png");
  const isOverlap = "matches" in r;
  fs.writeFileSync(markdown, isOverlap ? overlapMarkdown(r, names.db, names.against ?? "") : dedupMarkdown(r, names.db));
  const pairs: ShownPair[] = isOverlap ? r.matches.map((m) => ({ a: m.image, b: m.nearest, score: m.score })) : r.pairs;
  await contactSheet(pairs.slice(0, topPairs), sheet);
  return { markdown, contactSheet: sheet };
}
