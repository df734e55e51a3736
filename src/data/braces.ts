/** @file Shell-style brace expansion (`train-{000000..000005}.tar`, `{a,b}`) and `*` wildcards for shard lists. */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";

const MAX_EXPANSION = 1_000_000;

/** Expands every `{lo..hi}` (zero padding kept) and `{x,y,z}` group, left to right; nesting allowed. */
export function expandBraces(pattern: string): string[] {
  const open = findGroup(pattern);
  if (!open) return [pattern];
  const [start, end] = open;
  const head = pattern.slice(0, start);
  const body = pattern.slice(start + 1, end);
  const tails = expandBraces(pattern.slice(end + 1));
  const out: string[] = [];
  for (const alt of alternatives(body)) {
    for (const a of expandBraces(alt)) {
      for (const t of tails) {
        out.push(head + a + t);
        if (out.length > MAX_EXPANSION) throw new UserError(`brace pattern ${pattern} expands to more than ${MAX_EXPANSION} names`);
      }
    }
  }
  return out;
}

/** The first top-level `{...}` that is a range or a list; null when there is none. */
function findGroup(s: string): [number, number] | null {
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== "{") continue;
    let depth = 0;
    for (let j = i; j < s.length; j++) {
      if (s[j] === "{") depth++;
      else if (s[j] === "}" && --depth === 0) {
        const body = s.slice(i + 1, j);
        if (/^-?\d+\.\.-?\d+$/.test(body) || /^[a-zA-Z]\.\.[a-zA-Z]$/.test(body) || splitTopLevel(body).length > 1) return [i, j];
        break; // a literal brace pair: keep looking after it
      }
    }
  }
  return null;
}

function alternatives(body: string): string[] {
  const num = /^(-?\d+)\.\.(-?\d+)$/.exec(body);
  if (num) {
    const [a, b] = [num[1]!, num[2]!];
    const lo = parseInt(a, 10);
    const hi = parseInt(b, 10);
    const padded = /^-?0\d/.test(a) || /^-?0\d/.test(b);
    const width = padded ? Math.max(a.replace("-", "").length, b.replace("-", "").length) : 0;
    if (Math.abs(hi - lo) + 1 > MAX_EXPANSION) throw new UserError(`brace range {${body}} has more than ${MAX_EXPANSION} values`);
    const step = lo <= hi ? 1 : -1;
    const out: string[] = [];
    for (let v = lo; step > 0 ? v <= hi : v >= hi; v += step) {
      const digits = String(Math.abs(v)).padStart(width, "0");
      out.push(v < 0 ? `-${digits}` : digits);
    }
    return out;
  }
  const chr = /^([a-zA-Z])\.\.([a-zA-Z])$/.exec(body);
  if (chr) {
    const lo = chr[1]!.charCodeAt(0);
    const hi = chr[2]!.charCodeAt(0);
    const out: string[] = [];
    for (let c = lo; lo <= hi ? c <= hi : c >= hi; c += lo <= hi ? 1 : -1) out.push(String.fromCharCode(c));
    return out;
  }
  return splitTopLevel(body);
}

function splitTopLevel(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of body) {
    if (ch === "{") depth++;
    if (ch === "}") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

/** True when the file-name part of a local path has `*` or `?` wildcards. */
export function hasWildcard(p: string): boolean {
  return /[*?]/.test(path.basename(p));
}

/** Local files matching a `*`/`?` wildcard in the file name (directories must be literal), sorted. */
export function expandWildcard(p: string): string[] {
  const dir = path.dirname(p);
  const re = new RegExp(
    "^" +
      path
        .basename(p)
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".") +
      "$",
  );
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    throw new UserError(`no such directory ${dir} (in pattern ${p})`);
  }
  return names
    .filter((n) => re.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}
