/**
 * @file Fetch a checkpoint's files from a Hugging Face-style file server
 * (BASE/<repo>/resolve/<revision>/<file>) into a local cache: resumable (.part files and HTTP
 * Range), atomic (rename when complete), with progress callbacks. Node only.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UserError } from "../errors.js";
import {
  BPE_VOCAB,
  HF_BIN,
  HF_BIN_INDEX,
  HF_CONFIG,
  HF_PREPROCESSOR,
  HF_SAFETENSORS,
  HF_SAFETENSORS_INDEX,
  OPEN_CLIP_BIN,
  OPEN_CLIP_CONFIG,
  OPEN_CLIP_SAFETENSORS,
  shardFiles,
} from "./checkpoint.js";

export const DEFAULT_BASE_URL = "https://huggingface.co";

export interface DownloadProgress {
  file: string;
  /** Bytes on disk so far (a resumed download starts above 0). */
  received: number;
  /** Total bytes, when the server says. */
  total: number | null;
  /** True once the file is complete (also reported for files already cached). */
  done: boolean;
}

export interface DownloadOptions {
  /** Server base; default $CLIP_HF_ENDPOINT, $HF_ENDPOINT or https://huggingface.co. */
  baseUrl?: string;
  revision?: string;
  /** Cache root; default $CLIP_CACHE_DIR or ~/.cache/clip-ts. */
  cacheDir?: string;
  /** Exact files to fetch (all required). Default: the open_clip layout, else the Hugging Face one. */
  files?: string[];
  /** Bearer token for private repositories; default $HF_TOKEN. */
  token?: string;
  onProgress?: (p: DownloadProgress) => void;
  /** Injected fetch (tests); default the global one. */
  fetch?: typeof fetch;
}

class NotFound extends UserError {}

function baseUrl(opts: DownloadOptions): string {
  return (opts.baseUrl ?? process.env.CLIP_HF_ENDPOINT ?? process.env.HF_ENDPOINT ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
}

/** The cache directory a repository's revision is stored in. */
export function cachePath(repo: string, opts: DownloadOptions = {}): string {
  const root = opts.cacheDir ?? process.env.CLIP_CACHE_DIR ?? path.join(os.homedir(), ".cache", "clip-ts");
  return path.join(root, repo.replace(/\//g, "--"), opts.revision ?? "main");
}

/** URL of one file of a repository. */
export function fileUrl(repo: string, file: string, opts: DownloadOptions = {}): string {
  const enc = (s: string): string => s.split("/").map(encodeURIComponent).join("/");
  return `${baseUrl(opts)}/${enc(repo)}/resolve/${encodeURIComponent(opts.revision ?? "main")}/${enc(file)}`;
}

/**
 * Downloads `url` to `dest`: bytes go to `dest.part` (resumed with a Range request if it exists)
 * and are renamed to `dest` once complete, so `dest` is never partial. An existing `dest` is kept.
 */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions & { label?: string } = {}): Promise<void> {
  const label = opts.label ?? path.basename(dest);
  if (fs.existsSync(dest)) {
    const size = fs.statSync(dest).size;
    opts.onProgress?.({ file: label, received: size, total: size, done: true });
    return;
  }
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  let have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  const headers: Record<string, string> = {};
  const token = opts.token ?? process.env.HF_TOKEN;
  if (token) headers.authorization = `Bearer ${token}`;
  if (have > 0) headers.range = `bytes=${have}-`;
  const doFetch = opts.fetch ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url, { headers, redirect: "follow" });
  } catch (e) {
    throw new UserError(`cannot download ${url}: ${(e as Error).message}${(e as { cause?: Error }).cause ? ` (${(e as { cause: Error }).cause.message})` : ""}`);
  }
  if (res.status === 404) throw new NotFound(`not found: ${url}`);
  if (res.status === 401 || res.status === 403) throw new UserError(`${url} needs authorization (HTTP ${res.status}): set HF_TOKEN`);
  if (res.status === 416 && have > 0) {
    // the .part file may already hold the whole file
    const total = Number(/\/(\d+)$/.exec(res.headers.get("content-range") ?? "")?.[1] ?? NaN);
    await res.body?.cancel();
    if (total === have) {
      fs.renameSync(part, dest);
      opts.onProgress?.({ file: label, received: have, total, done: true });
      return;
    }
    fs.rmSync(part, { force: true });
    return downloadFile(url, dest, opts);
  }
  if (res.status !== 200 && res.status !== 206) throw new UserError(`cannot download ${url}: HTTP ${res.status} ${res.statusText}`);
  let total: number | null = null;
  if (res.status === 206) {
    const m = /bytes (\d+)-(\d+)\/(\d+|\*)/.exec(res.headers.get("content-range") ?? "");
    if (!m || Number(m[1]) !== have) {
      // the server resumed somewhere else: start over
      await res.body?.cancel();
      fs.rmSync(part, { force: true });
      return downloadFile(url, dest, opts);
    }
    total = m[3] === "*" ? null : Number(m[3]);
  } else {
    have = 0; // full content: the server ignored the Range
    const len = res.headers.get("content-length");
    total = len !== null && res.headers.get("content-encoding") === null ? Number(len) : null;
  }
  const fd = fs.openSync(part, have > 0 ? "a" : "w");
  try {
    opts.onProgress?.({ file: label, received: have, total, done: false });
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        let off = 0;
        while (off < chunk.byteLength) off += fs.writeSync(fd, chunk, off);
        have += chunk.byteLength;
        opts.onProgress?.({ file: label, received: have, total, done: false });
      }
    }
    fs.fsyncSync(fd);
  } catch (e) {
    throw new UserError(`download of ${url} interrupted at ${have} bytes (run again to resume): ${(e as Error).message}`);
  } finally {
    fs.closeSync(fd);
  }
  if (total !== null && have !== total) {
    throw new UserError(`download of ${url} ended at ${have} of ${total} bytes (run again to resume)`);
  }
  fs.renameSync(part, dest);
  opts.onProgress?.({ file: label, received: have, total: total ?? have, done: true });
}

async function tryFile(repo: string, file: string, dir: string, opts: DownloadOptions): Promise<boolean> {
  try {
    await downloadFile(fileUrl(repo, file, opts), path.join(dir, file), { ...opts, label: file });
    return true;
  } catch (e) {
    if (e instanceof NotFound) return false;
    throw e;
  }
}

async function firstOf(repo: string, files: string[], dir: string, opts: DownloadOptions): Promise<string | null> {
  for (const f of files) {
    if (fs.existsSync(path.join(dir, f))) return f;
    if (await tryFile(repo, f, dir, opts)) return f;
  }
  return null;
}

/**
 * Downloads a checkpoint repository (e.g. "timm/vit_base_patch32_clip_224.openai") into the
 * cache and returns its directory, ready for loadCheckpoint. Files already cached are not fetched.
 * Default files: open_clip_config.json + open_clip_model.safetensors (or open_clip_pytorch_model.bin),
 * else config.json + model.safetensors (or pytorch_model.bin); tokenizer files when the repository has them.
 */
export async function downloadCheckpoint(repo: string, opts: DownloadOptions = {}): Promise<string> {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repo)) throw new UserError(`invalid repository name ${JSON.stringify(repo)} (expected owner/name)`);
  const dir = cachePath(repo, opts);
  if (opts.files) {
    for (const f of opts.files) {
      if (!(await tryFile(repo, f, dir, opts))) throw new UserError(`${repo} has no file ${f} (${fileUrl(repo, f, opts)})`);
    }
    return dir;
  }
  const optional = [BPE_VOCAB, "vocab.json", "merges.txt"];
  if (await firstOf(repo, [OPEN_CLIP_CONFIG], dir, opts)) {
    if (!(await firstOf(repo, [OPEN_CLIP_SAFETENSORS, OPEN_CLIP_BIN], dir, opts))) {
      throw new UserError(`${repo} has ${OPEN_CLIP_CONFIG} but neither ${OPEN_CLIP_SAFETENSORS} nor ${OPEN_CLIP_BIN}`);
    }
  } else if (await firstOf(repo, [HF_CONFIG], dir, opts)) {
    const weights = await firstOf(repo, [HF_SAFETENSORS, HF_SAFETENSORS_INDEX, HF_BIN, HF_BIN_INDEX], dir, opts);
    if (!weights) throw new UserError(`${repo} has ${HF_CONFIG} but neither ${HF_SAFETENSORS} nor ${HF_BIN} (nor their sharded indexes)`);
    if (weights.endsWith(".index.json")) {
      for (const shard of shardFiles(path.join(dir, weights))) {
        if (!(await tryFile(repo, shard, dir, opts))) throw new UserError(`${repo}: shard ${shard} listed in ${weights} is missing`);
      }
    }
    optional.push(HF_PREPROCESSOR);
  } else {
    throw new UserError(`${repo} is not a CLIP checkpoint repository: neither ${OPEN_CLIP_CONFIG} nor ${HF_CONFIG} found at ${baseUrl(opts)}`);
  }
  for (const f of optional) if (!fs.existsSync(path.join(dir, f))) await tryFile(repo, f, dir, opts);
  return dir;
}
