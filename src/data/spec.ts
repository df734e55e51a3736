/** @file The dataset SPEC grammar shared by every `--data` flag: parse, resolve against the file system, explain. */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../errors.js";
import { expandBraces, expandWildcard, hasWildcard } from "./braces.js";
import { MAX_NEGATIVES } from "./synth/scene.js";

/** The grammar in one block, printed by `--help` of every command that takes `--data`. */
export const DATA_SPEC_HELP = `Dataset SPEC (for --data and --from):
  PATH.tar | PATH.tar.gz | PATH.tgz   WebDataset shards; braces and * expand:
                                      data/train-{000000..000005}.tar, data/*.tar
  https://HOST/train-{0..9}.tar       shards over http(s) (streamed; Range requests to resume)
  DIR                                 a folder of shards (+ classnames.txt, sizes.json, as CLIP_benchmark)
  wds:PATTERN[?classnames=FILE]       shards, explicitly
  csv:FILE[?image=COL&caption=COL[,COL]&label=COL&sep=,|tab&root=DIR]
  tsv:FILE[?...]                      a table of image paths (or URLs) and captions; FILE.csv / FILE.tsv also work
  folder:DIR                          images with same-name .txt (one caption per line) or .json captions
  imagefolder:DIR                     one sub-folder per class (classification)
  synth:[?n=10000&seed=0&size=64&split=train|val|heldout|all&task=none|shape|color|count&group=1&captions=full|partial&mono=0&negatives=0]
                                      the procedural captioned world, rendered on the fly
  A::B                                several shard sources, concatenated`;

export type ResolvedSpec = ShardSpec | CsvSpec | FolderSpec | ImageFolderSpec | SynthSpec;

export interface ShardSpec {
  layout: "webdataset";
  /** Local paths or http(s) URLs, in order. */
  shards: string[];
  classnames?: string[];
  templates?: string[];
  /** Samples per shard from sizes.json, when every shard is listed there. */
  sizes?: number[];
  /** http(s) folders to probe for classnames.txt / sizes.json in `ready()`. */
  remoteDirs: string[];
}

export interface CsvSpec {
  layout: "csv";
  file: string;
  sep: string;
  image?: string;
  caption?: string[];
  label?: string;
  root: string;
}

export interface FolderSpec {
  layout: "folder";
  dir: string;
}

export interface ImageFolderSpec {
  layout: "imagefolder";
  dir: string;
}

export interface SynthSpec {
  layout: "synth";
  n: number;
  seed: number;
  size: number;
  split: "train" | "val" | "heldout" | "all";
  task: "none" | "shape" | "color" | "count";
  /** Blocks of this many training scenes that differ only in shape (hard negatives); 1: independent scenes. */
  group: number;
  /** The caption mix: "partial" also names count and relation scenes by their shapes alone (SynthOptions.captions). */
  captions: "full" | "partial";
  /** The share of scenes drawn in gray with color-free captions (SynthOptions.mono). */
  mono: number;
  /** Hard-negative captions per caption (SynthOptions.negatives); 0: none. */
  negatives: number;
}

const SCHEMES = ["wds", "csv", "tsv", "folder", "imagefolder", "synth"] as const;
type Scheme = (typeof SCHEMES)[number];
const SHARD_RE = /\.(tar|tar\.gz|tgz)$/i;

/** Resolves a SPEC string; throws a UserError saying what was expected when it points at nothing usable. */
export function resolveSpec(spec: string): ResolvedSpec {
  const trimmed = spec.trim();
  if (!trimmed) throw new UserError(`empty dataset spec\n${DATA_SPEC_HELP}`);
  const parts = splitSources(trimmed);
  if (parts.length > 1) {
    const resolved = parts.map(resolveOne);
    const shards = resolved.filter((r): r is ShardSpec => r.layout === "webdataset");
    if (shards.length !== resolved.length) {
      throw new UserError(`only WebDataset shard sources can be joined with "::" (in ${spec})`);
    }
    return mergeShardSpecs(shards);
  }
  return resolveOne(trimmed);
}

/** Splits on "::" outside of [...] (so http://[::1]:8080/ survives). */
function splitSources(spec: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (let i = 0; i < spec.length; i++) {
    const ch = spec[i]!;
    if (ch === "[") depth++;
    if (ch === "]") depth--;
    if (depth === 0 && ch === ":" && spec[i + 1] === ":") {
      out.push(cur);
      cur = "";
      i++;
    } else cur += ch;
  }
  out.push(cur);
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

function resolveOne(spec: string): ResolvedSpec {
  const m = /^([a-z]+):(?!\/\/)(.*)$/i.exec(spec);
  const scheme = m && (SCHEMES as readonly string[]).includes(m[1]!.toLowerCase()) ? (m[1]!.toLowerCase() as Scheme) : null;
  if (scheme) {
    const body = m![2]!;
    if (scheme === "wds" && /^https?:\/\//i.test(body)) return resolveShards(body, new URLSearchParams(), spec); // a URL keeps its query
    const [location, opts] = splitOptions(body);
    switch (scheme) {
      case "wds":
        return resolveShards(location, opts, spec);
      case "csv":
      case "tsv":
        return resolveCsv(location, opts, scheme === "tsv" ? "\t" : undefined);
      case "folder":
        checkOptions(opts, [], spec);
        return { layout: "folder", dir: requireDir(location, "folder:DIR (images with same-name .txt captions)") };
      case "imagefolder":
        checkOptions(opts, [], spec);
        return { layout: "imagefolder", dir: requireDir(location, "imagefolder:DIR (one sub-folder per class)") };
      case "synth":
        return resolveSynth(location, opts, spec);
    }
  }
  if (/^https?:\/\//i.test(spec)) return resolveShards(spec, new URLSearchParams(), spec);
  const [location, opts] = splitOptions(spec);
  if (/\.(csv|tsv)$/i.test(location)) return resolveCsv(location, opts, /\.tsv$/i.test(location) ? "\t" : undefined);
  if (SHARD_RE.test(location) || /[{*]/.test(location)) return resolveShards(location, opts, spec);
  let st: fs.Stats;
  try {
    st = fs.statSync(location);
  } catch {
    throw new UserError(`dataset not found: ${location} (expected shards PATH.tar, a directory, csv:FILE, folder:DIR, imagefolder:DIR, or synth:)`);
  }
  if (st.isDirectory()) return resolveShards(location, opts, spec);
  throw new UserError(
    `don't know how to read ${location}: expected .tar/.tar.gz shards, a .csv/.tsv table, or a directory ` +
      `(use csv:FILE, folder:DIR or imagefolder:DIR to say which layout)`,
  );
}

/** Splits "LOCATION?k=v&k=v" (only when what follows "?" looks like options). */
function splitOptions(body: string): [string, URLSearchParams] {
  const m = /^(.*?)\?((?:[a-z_]+=[^&]*)(?:&[a-z_]+=[^&]*)*)?$/i.exec(body);
  if (!m) return [body, new URLSearchParams()];
  return [m[1]!, new URLSearchParams(m[2] ?? "")];
}

function checkOptions(opts: URLSearchParams, allowed: string[], spec: string): void {
  for (const k of opts.keys()) {
    if (!allowed.includes(k)) {
      throw new UserError(`unknown option "${k}" in dataset spec ${spec}` + (allowed.length ? ` (allowed: ${allowed.join(", ")})` : " (this layout takes no options)"));
    }
  }
}

function requireDir(dir: string, expected: string): string {
  if (!dir) throw new UserError(`missing directory: expected ${expected}`);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new UserError(`no such directory: ${dir} (expected ${expected})`);
  }
  if (!st.isDirectory()) throw new UserError(`not a directory: ${dir} (expected ${expected})`);
  return dir;
}

function resolveShards(location: string, opts: URLSearchParams, spec: string): ShardSpec {
  const isUrl = /^https?:\/\//i.test(location);
  if (!isUrl) checkOptions(opts, ["classnames", "templates"], spec);
  let shards: string[];
  let metaDirs: string[];
  if (isUrl) {
    shards = expandBraces(location);
    return { layout: "webdataset", shards, remoteDirs: remoteMetaDirs(shards[0]!) };
  }
  let dirMode = false;
  if (!/[{*]/.test(location) && !SHARD_RE.test(location) && isDir(location)) {
    dirMode = true;
    shards = listShardDir(location);
  } else {
    shards = expandBraces(location).flatMap((p) => (hasWildcard(p) ? expandWildcard(p) : [p]));
    if (shards.length === 0) throw new UserError(`no shards match ${location}`);
    const missing = shards.filter((p) => !isFile(p));
    if (missing.length) {
      const more = missing.length > 1 ? ` (and ${missing.length - 1} more of ${shards.length})` : "";
      throw new UserError(`shard not found: ${missing[0]}${more}`);
    }
  }
  const dirs = [...new Set(shards.map((s) => path.dirname(s)))];
  metaDirs = dirs.length === 1 ? [dirs[0]!, path.dirname(dirs[0]!)] : [];
  if (dirMode) metaDirs = [location, path.dirname(path.resolve(location))];
  const result: ShardSpec = { layout: "webdataset", shards, remoteDirs: [] };
  const cn = opts.get("classnames") ?? findFile(metaDirs, "classnames.txt");
  if (cn) result.classnames = readLines(cn, "classnames");
  const tp = opts.get("templates") ?? findFile(metaDirs, "zeroshot_classification_templates.txt");
  if (tp) result.templates = readLines(tp, "templates");
  if (dirs.length === 1) {
    const sizes = readSizes(path.join(dirs[0]!, "sizes.json"), shards);
    if (sizes) result.sizes = sizes;
  }
  return result;
}

function listShardDir(dir: string): string[] {
  const names = fs.readdirSync(dir).sort();
  const shards = names.filter((n) => SHARD_RE.test(n)).map((n) => path.join(dir, n));
  if (shards.length) return shards;
  const splits = names.filter((n) => isDir(path.join(dir, n)) && fs.readdirSync(path.join(dir, n)).some((f) => SHARD_RE.test(f)));
  if (splits.length) {
    throw new UserError(`directory ${dir} has no .tar shards itself, but its sub-folders ${splits.map((s) => s + "/").join(", ")} do: use ${path.join(dir, splits[0]!)}`);
  }
  const images = names.filter((n) => /\.(jpe?g|png|webp)$/i.test(n)).length;
  const hint = images ? ` (it holds images: use folder:${dir} for images with .txt captions)` : names.some((n) => isDir(path.join(dir, n))) ? ` (for one sub-folder per class use imagefolder:${dir})` : "";
  throw new UserError(`directory ${dir} contains no .tar/.tar.gz shards${hint}`);
}

/** The http(s) folder of a shard URL and its parent, for classnames.txt and sizes.json. */
function remoteMetaDirs(url: string): string[] {
  const u = new URL(url);
  u.search = "";
  const dir = new URL(".", u).toString();
  const parent = new URL("..", u).toString();
  return dir === parent ? [dir] : [dir, parent];
}

function mergeShardSpecs(specs: ShardSpec[]): ShardSpec {
  const out: ShardSpec = { layout: "webdataset", shards: specs.flatMap((s) => s.shards), remoteDirs: [] };
  const first = specs[0]!;
  if (first.classnames) out.classnames = first.classnames;
  if (first.templates) out.templates = first.templates;
  if (specs.every((s) => s.sizes)) out.sizes = specs.flatMap((s) => s.sizes!);
  out.remoteDirs = first.remoteDirs;
  return out;
}

function resolveCsv(file: string, opts: URLSearchParams, sepDefault: string | undefined): CsvSpec {
  checkOptions(opts, ["image", "caption", "label", "sep", "root"], `csv:${file}`);
  if (!isFile(file)) throw new UserError(`no such table: ${file} (expected csv:FILE with a header row)`);
  const sepName = opts.get("sep");
  const seps: Record<string, string> = { tab: "\t", "\\t": "\t", comma: ",", ",": ",", ";": ";", "|": "|", "\t": "\t" };
  let sep = sepDefault ?? ",";
  if (sepName !== null) {
    const s = seps[sepName];
    if (!s) throw new UserError(`unknown separator "${sepName}" for ${file} (use sep=, sep=tab, sep=; or sep=|)`);
    sep = s;
  } else if (!sepDefault && /\.tsv$/i.test(file)) sep = "\t";
  const out: CsvSpec = { layout: "csv", file, sep, root: opts.get("root") ?? path.dirname(file) };
  const image = opts.get("image");
  if (image) out.image = image;
  const caption = opts.get("caption");
  if (caption) out.caption = caption.split(",").filter((c) => c.length > 0);
  const label = opts.get("label");
  if (label) out.label = label;
  return out;
}

function resolveSynth(location: string, opts: URLSearchParams, spec: string): SynthSpec {
  checkOptions(opts, ["n", "seed", "size", "split", "task", "group", "captions", "mono", "negatives"], spec);
  if (location) throw new UserError(`synth: takes options only, as in synth:?n=1000&seed=0 (got "${location}")`);
  const int = (k: string, dflt: number, min: number, max: number): number => {
    const v = opts.get(k);
    if (v === null) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new UserError(`synth option ${k}=${v}: expected an integer in [${min}, ${max}]`);
    return n;
  };
  const oneOf = <T extends string>(k: string, dflt: T, values: readonly T[]): T => {
    const v = opts.get(k);
    if (v === null) return dflt;
    if (!(values as readonly string[]).includes(v)) throw new UserError(`synth option ${k}=${v}: expected one of ${values.join(", ")}`);
    return v as T;
  };
  const share = (k: string): number => {
    const v = opts.get(k);
    if (v === null) return 0;
    const x = Number(v);
    if (v.trim() === "" || !Number.isFinite(x) || x < 0 || x > 1) throw new UserError(`synth option ${k}=${v}: expected a share in [0, 1]`);
    return x;
  };
  return {
    layout: "synth",
    n: int("n", 10000, 1, 1e9),
    seed: int("seed", 0, 0, 2 ** 31 - 1),
    size: int("size", 64, 16, 1024),
    split: oneOf("split", "train", ["train", "val", "heldout", "all"] as const),
    task: oneOf("task", "none", ["none", "shape", "color", "count"] as const),
    group: int("group", 1, 1, 8),
    captions: oneOf("captions", "full", ["full", "partial"] as const),
    mono: share("mono"),
    negatives: int("negatives", 0, 0, MAX_NEGATIVES),
  };
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function findFile(dirs: string[], name: string): string | undefined {
  for (const d of dirs) {
    const p = path.join(d, name);
    if (isFile(p)) return p;
  }
  return undefined;
}

/** Non-empty lines of a text file (class names, templates). */
export function readLines(file: string, what: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new UserError(`cannot read ${what} file ${file}`);
  }
  return parseLines(text);
}

export function parseLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** sizes.json (open_clip's convention: {"shard-000000.tar": 1000, ...}) as counts per shard, if complete. */
function readSizes(file: string, shards: string[]): number[] | undefined {
  if (!isFile(file)) return undefined;
  return parseSizes(fs.readFileSync(file, "utf8"), shards);
}

export function parseSizes(text: string, shards: string[]): number[] | undefined {
  let table: unknown;
  try {
    table = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!table || typeof table !== "object") return undefined;
  const t = table as Record<string, unknown>;
  const out: number[] = [];
  for (const s of shards) {
    const name = s.replace(/[?#].*$/, "").split("/").pop()!;
    const v = t[name];
    if (typeof v !== "number") return undefined;
    out.push(v);
  }
  return out;
}
