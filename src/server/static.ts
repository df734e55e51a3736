/**
 * @file The page's files (src/web/static, shipped in the package as they are: no build step),
 * read once at start into a fixed table: a URL either names one of them or is not served.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { InternalError } from "../errors.js";

/** One file of the page. */
export interface StaticFile {
  body: Buffer;
  contentType: string;
}

const FILES: Record<string, [string, string]> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/app.js": ["app.js", "text/javascript; charset=utf-8"],
  "/style.css": ["style.css", "text/css; charset=utf-8"],
};

/** src/web/static of this package, found from this module (src/server or dist/src/server). */
export function staticDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const cand = path.join(dir, "src", "web", "static");
    if (fs.existsSync(path.join(cand, "index.html"))) return cand;
    dir = path.dirname(dir);
  }
  throw new InternalError("the page's files (src/web/static) are missing from the package");
}

/** URL path -> file, for every file of the page. */
export function loadStaticFiles(dir = staticDir()): Map<string, StaticFile> {
  const out = new Map<string, StaticFile>();
  for (const [url, [file, contentType]] of Object.entries(FILES)) out.set(url, { body: fs.readFileSync(path.join(dir, file)), contentType });
  return out;
}
