/**
 * @file The Hugging Face hub protocol as huggingface_hub speaks it: HEAD on `resolve` without
 * following the redirect (only that answer carries X-Repo-Commit, X-Linked-Etag, X-Linked-Size),
 * the revision API for the file list, GET with Range to resume, retries with backoff on 5xx and
 * dropped connections, and one clear error per failure. Node only (node:http, node:https).
 */
import type crypto from "node:crypto";
import fs from "node:fs";
import type http from "node:http";
import { nodeCrypto, nodeHttp, nodeHttps } from "../../util/builtins.node.js";
import { UserError } from "../../errors.js";

/** Where and how to talk to the hub. */
export interface HubClient {
  /** e.g. https://huggingface.co (no trailing slash) */
  endpoint: string;
  token?: string;
  /** Attempts per request (default 5). */
  attempts?: number;
  /** First wait before a retry, doubled each time up to 8 s (default $CLIP_HUB_BACKOFF_MS or 1000). */
  backoffMs?: number;
  /** Seconds without a byte before a connection counts as dropped (default $HF_HUB_DOWNLOAD_TIMEOUT or 10). */
  timeoutS?: number;
  /** Told about each retry (for a warning line). */
  onRetry?: (message: string) => void;
}

/** What the HEAD of a file says. */
export interface FileMeta {
  /** X-Repo-Commit: the commit the revision resolved to. */
  commit?: string;
  /** X-Linked-Etag (sha256 of an LFS file) or ETag (git blob id of a small file), without quotes. */
  etag: string;
  /** X-Linked-Size, else Content-Length. */
  size: number;
  /** Where the bytes are: the CDN's absolute URL for large files, the resolve URL for small ones. */
  location: string;
}

/** The hub answered: no such repository, revision or file (or no access to it). */
export class HubNotFound extends UserError {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** The hub could not be reached or kept failing (no network, refused, 5xx to the last try): the cache may still serve. */
export class HubUnreachable extends UserError {}

/** A failure worth another try: 5xx, 429, a dropped or timed-out connection. */
class Retryable extends Error {}

const enc = (s: string): string => s.split("/").map(encodeURIComponent).join("/");

/** The resolve URL of one file. */
export function resolveUrl(client: HubClient, repo: string, revision: string, file: string): string {
  return `${client.endpoint}/${enc(repo)}/resolve/${encodeURIComponent(revision)}/${enc(file)}`;
}

/** The revision API URL (file list and commit). */
export function revisionUrl(client: HubClient, repo: string, revision: string): string {
  return `${client.endpoint}/api/models/${enc(repo)}/revision/${encodeURIComponent(revision)}`;
}

const NETWORK_DOWN = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH"]);

function timeoutMs(client: HubClient): number {
  const env = Number(process.env.HF_HUB_DOWNLOAD_TIMEOUT);
  return 1000 * (client.timeoutS ?? (env > 0 ? env : 10));
}

/** One request, no redirect followed; the response body is left unread. */
function send(client: HubClient, url: string, method: "HEAD" | "GET", headers: Record<string, string>, what: string): Promise<http.IncomingMessage> {
  const u = new URL(url);
  const mod = u.protocol === "https:" ? nodeHttps() : u.protocol === "http:" ? nodeHttp() : undefined;
  if (!mod) throw new UserError(`${what}: unsupported URL ${url} (HF_ENDPOINT must be http or https)`);
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method, headers: { "user-agent": "clip-ts; hf_hub-protocol", "accept-encoding": "identity", ...headers } }, resolve);
    req.setTimeout(timeoutMs(client), () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code && NETWORK_DOWN.has(e.code)) {
        reject(new HubUnreachable(`${what}: cannot reach ${u.origin} (${e.code}): no network? HF_HUB_OFFLINE=1 uses the cache only`));
      } else reject(new Retryable(`${what}: connection to ${u.origin} failed (${e.code ?? e.message})`));
    });
    req.end();
  });
}

function header(res: http.IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** huggingface_hub's _normalize_etag: no weak prefix, no quotes. */
export function normalizeEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^W\//, "").replace(/"/g, "") || undefined;
}

/** The error for a non-2xx answer, with the repo, revision and file it concerns. */
function answerError(res: http.IncomingMessage, repo: string, revision: string, file: string | undefined): Error {
  const status = res.statusCode ?? 0;
  const code = header(res, "x-error-code") ?? "";
  const what = file ? `${repo} file ${file}` : repo;
  if (status >= 500 || status === 429) return new Retryable(`hf-hub:${what} (revision ${revision}): server error HTTP ${status}${code ? ` ${code}` : ""}`);
  if (code === "GatedRepo" || (status === 403 && !code)) {
    return new HubNotFound(`hf-hub:${repo} is gated (HTTP ${status}): accept its conditions on the hub, then set HF_TOKEN`, "GatedRepo");
  }
  if (code === "RepoNotFound" || status === 401 || status === 403) {
    return new HubNotFound(`hf-hub:${repo}: repository not found, or private (HTTP ${status}${code ? ` ${code}` : ""}): check the id, and set HF_TOKEN if it is gated or private`, "RepoNotFound");
  }
  if (code === "RevisionNotFound") return new HubNotFound(`hf-hub:${repo}: revision ${JSON.stringify(revision)} not found (HTTP ${status})`, code);
  if (status === 404) return new HubNotFound(`hf-hub:${repo}: no file ${file ?? "(listing)"} at revision ${revision} (HTTP 404${code ? ` ${code}` : ""})`, code || "EntryNotFound");
  return new UserError(`hf-hub:${what} (revision ${revision}): unexpected answer HTTP ${status}${code ? ` ${code}` : ""}`);
}

function backoff(client: HubClient, attempt: number): number {
  const env = Number(process.env.CLIP_HUB_BACKOFF_MS);
  const base = client.backoffMs ?? (Number.isFinite(env) && env >= 0 ? env : 1000);
  return Math.min(8000, base * 2 ** attempt);
}

/** Runs `fn` again after a backoff while it fails with a Retryable; the last failure becomes a UserError. */
async function retrying<T>(client: HubClient, fn: () => Promise<T>): Promise<T> {
  const attempts = client.attempts ?? 5;
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof Retryable)) throw e;
      if (i + 1 >= attempts) throw new HubUnreachable(`${e.message} (gave up after ${attempts} tries)`);
      const wait = backoff(client, i);
      client.onRetry?.(`${e.message}; retrying in ${(wait / 1000).toFixed(1)} s (${i + 1}/${attempts - 1})`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

function authHeaders(client: HubClient): Record<string, string> {
  return client.token ? { authorization: `Bearer ${client.token}` } : {};
}

/** huggingface_hub's rule for a HEAD's redirect: followed on the same host (a renamed repository), not to another (the CDN). */
function sameHost(url: string, target: string): boolean {
  const host = new URL(target).hostname.toLowerCase();
  return host === new URL(url).hostname.toLowerCase() || host === "huggingface.co" || host === "hf.co";
}

/**
 * HEAD of `resolve/{revision}/{file}`. A redirect on the same host (a renamed repository answers
 * 307 with a relative Location) is followed; one to another host (302 to the CDN) is not: its
 * Location is where the bytes are, and only this answer carries the metadata.
 */
export function headFile(client: HubClient, repo: string, revision: string, file: string): Promise<FileMeta> {
  return retrying(client, async () => {
    let url = resolveUrl(client, repo, revision, file);
    for (let hop = 0; hop < 5; hop++) {
      const res = await send(client, url, "HEAD", authHeaders(client), `hf-hub:${repo} file ${file}`);
      res.resume();
      const status = res.statusCode ?? 0;
      const location = header(res, "location");
      if (status >= 300 && status < 400 && location && sameHost(url, new URL(location, url).toString())) {
        url = new URL(location, url).toString();
        continue;
      }
      if (status >= 400 || status < 200) throw answerError(res, repo, revision, file);
      const etag = normalizeEtag(header(res, "x-linked-etag") ?? header(res, "etag"));
      const size = Number(header(res, "x-linked-size") ?? header(res, "content-length"));
      if (!etag) throw new UserError(`hf-hub:${repo} file ${file}: the server sent no ETag (is HF_ENDPOINT=${client.endpoint} a Hugging Face hub?)`);
      if (!Number.isSafeInteger(size) || size < 0) throw new UserError(`hf-hub:${repo} file ${file}: the server sent no size (X-Linked-Size or Content-Length)`);
      const commit = header(res, "x-repo-commit");
      return { commit, etag, size, location: status >= 300 && location ? location : url };
    }
    throw new UserError(`hf-hub:${repo} file ${file}: too many redirects`);
  });
}

/** GET of a JSON document of the hub API (redirects followed). */
export function getJson(client: HubClient, url: string, repo: string, revision: string): Promise<unknown> {
  return retrying(client, async () => {
    let u = url;
    for (let hop = 0; hop < 5; hop++) {
      const res = await send(client, u, "GET", authHeaders(client), `hf-hub:${repo}`);
      const status = res.statusCode ?? 0;
      const location = header(res, "location");
      if (status >= 300 && status < 400 && location) {
        res.resume();
        u = new URL(location, u).toString();
        continue;
      }
      if (status < 200 || status >= 300) {
        res.resume();
        throw answerError(res, repo, revision, undefined);
      }
      const chunks: Buffer[] = [];
      try {
        for await (const c of res) chunks.push(c as Buffer);
      } catch (e) {
        throw new Retryable(`hf-hub:${repo}: connection dropped reading ${u} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      try {
        return JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        throw new UserError(`hf-hub:${repo}: ${u} did not answer JSON (is HF_ENDPOINT=${client.endpoint} a Hugging Face hub?)`);
      }
    }
    throw new UserError(`hf-hub:${repo}: too many redirects from ${url}`);
  });
}

/** What a download reports as bytes arrive. */
export type BytesCallback = (received: number) => void;

export interface DownloadTarget {
  repo: string;
  revision: string;
  file: string;
  meta: FileMeta;
  /** The partial file: appended to, and resumed from with Range when it already holds bytes. */
  incomplete: string;
  onBytes?: BytesCallback;
}

/** Hashes the first `length` bytes of `file` (a resumed transfer's bytes). */
function hashFilePrefix(hash: crypto.Hash, file: string, length: number): void {
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    for (let pos = 0; pos < length; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, length - pos), pos);
      if (n <= 0) break;
      hash.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

function writeAll(fd: number, chunk: Buffer, target: DownloadTarget): void {
  try {
    for (let off = 0; off < chunk.length; ) off += fs.writeSync(fd, chunk, off);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOSPC" || code === "EDQUOT") throw new UserError(`hf-hub:${target.repo} file ${target.file}: disk full writing ${target.incomplete} (${target.meta.size} bytes needed; free space or set HF_HUB_CACHE)`);
    throw new UserError(`hf-hub:${target.repo} file ${target.file}: cannot write ${target.incomplete}: ${code ?? (e as Error).message}`);
  }
}

/**
 * Fetches a file's bytes into `target.incomplete`, resuming from the bytes already there (Range),
 * retrying dropped connections and 5xx from where they stopped. Returns the sha256 of the whole
 * file. The Authorization header goes to the hub only, never to a CDN on another host.
 */
export function download(client: HubClient, target: DownloadTarget): Promise<string> {
  const { meta } = target;
  const hubOrigin = new URL(client.endpoint).origin;
  return retrying(client, async () => {
    let have = fs.existsSync(target.incomplete) ? fs.statSync(target.incomplete).size : 0;
    if (have > meta.size) {
      fs.rmSync(target.incomplete, { force: true });
      have = 0;
    }
    let url = meta.location;
    let res: http.IncomingMessage | undefined;
    for (let hop = 0; hop < 5 && !res; hop++) {
      const headers = new URL(url).origin === hubOrigin ? authHeaders(client) : {};
      if (have > 0) headers.range = `bytes=${have}-`;
      const r = await send(client, url, "GET", headers, `hf-hub:${target.repo} file ${target.file}`);
      const location = header(r, "location");
      if ((r.statusCode ?? 0) >= 300 && (r.statusCode ?? 0) < 400 && location) {
        r.resume();
        url = new URL(location, url).toString();
      } else res = r;
    }
    if (!res) throw new UserError(`hf-hub:${target.repo} file ${target.file}: too many redirects`);
    const status = res.statusCode ?? 0;
    // hashed as the bytes arrive; a resumed transfer first hashes what is already on disk
    return receive(res, status, have, nodeCrypto().createHash("sha256"));
  });

  async function receive(res: http.IncomingMessage, status: number, have: number, hash: crypto.Hash): Promise<string> {
    if (status === 416 && have === meta.size) {
      hashFilePrefix(hash, target.incomplete, have);
      res.resume(); // the partial file is already whole
    } else if (status === 200 || status === 206) {
      if (status === 206) {
        const m = /^bytes (\d+)-/.exec(header(res, "content-range") ?? "");
        if (!m || Number(m[1]) !== have) {
          res.resume();
          fs.rmSync(target.incomplete, { force: true });
          throw new Retryable(`hf-hub:${target.repo} file ${target.file}: the server resumed at ${m?.[1] ?? "?"} instead of ${have}`);
        }
      } else have = 0; // the whole file: the server ignored Range (or there was none)
      if (have > 0) hashFilePrefix(hash, target.incomplete, have);
      const fd = fs.openSync(target.incomplete, have > 0 ? "a" : "w");
      try {
        target.onBytes?.(have);
        // each socket chunk written and hashed as it is, on this thread: measured on the 2-core
        // machine, a hashing worker (or 256 KiB-4 MiB write batches) cost more CPU and no wall time
        for await (const chunk of res as AsyncIterable<Buffer>) {
          writeAll(fd, chunk, target);
          hash.update(chunk);
          have += chunk.length;
          target.onBytes?.(have);
        }
      } catch (e) {
        if (e instanceof UserError) throw e;
        throw new Retryable(`hf-hub:${target.repo} file ${target.file}: connection dropped at byte ${have} of ${meta.size} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      } finally {
        fs.closeSync(fd);
      }
    } else {
      res.resume();
      throw answerError(res, target.repo, target.revision, target.file);
    }
    if (have !== meta.size) throw new Retryable(`hf-hub:${target.repo} file ${target.file}: transfer ended at byte ${have} of ${meta.size}`);
    return hash.digest("hex");
  }
}
