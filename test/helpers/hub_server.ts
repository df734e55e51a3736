/**
 * @file A local Hugging Face hub for tests and benches, written from the protocol the real hub
 * speaks (huggingface_hub's file_download.py is its client):
 *
 * - `HEAD|GET /{repo}/resolve/{revision}/{file}`: X-Repo-Commit on every answer. A small file
 *   answers 200 with `ETag: "<git blob sha1>"`; a large (LFS) file answers 302 with an absolute
 *   `Location` on another origin (the CDN), `X-Linked-Etag: "<sha256>"` and `X-Linked-Size`.
 * - the CDN (`GET /blobs/{sha256}?...` on a second port): the bytes with Range (206, 416), and none
 *   of the hub's metadata headers.
 * - `GET /api/models/{repo}/revision/{revision}`: `{id, sha, siblings: [{rfilename}]}`; `GET
 *   /api/models/{repo}/tree/{revision}`: `[{type, path, oid, size, lfs?}]` (one page).
 * - errors as the hub gives them: 401 + `X-Error-Code: RepoNotFound` for an unknown or private
 *   repository without a token, 404 + RevisionNotFound / EntryNotFound, 403 + GatedRepo.
 * - a renamed repository: 307 with a relative Location to the new name.
 * Faults for tests: cut a CDN transfer after N bytes, corrupt a blob's bytes, answer 500, reset connections.
 */
import crypto from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** A repository's files at one commit. */
export interface HubRepo {
  files: Record<string, Uint8Array>;
  /** Branches and tags -> commit (default: main -> a commit derived from the files). */
  refs?: Record<string, string>;
  /** Needs `Authorization: Bearer <token>`; else 401 RepoNotFound, as the hub does for private repos. */
  token?: string;
  /** Answers 403 GatedRepo unless this token is sent. */
  gated?: string;
}

export interface Faults {
  /** The next N CDN transfers are cut after this many bytes (the socket destroyed). */
  cutAfter?: number;
  cutCount?: number;
  /** The next N CDN transfers send wrong bytes (first byte flipped). */
  corruptCount?: number;
  /** The next N requests of any kind answer 500. */
  errorCount?: number;
  /** Every request has its connection reset. */
  reset?: boolean;
  /** The CDN faults (cut, corrupt) apply to this blob (sha256) only, when set. */
  only?: string;
  /** Milliseconds before the CDN answers (to make transfers overlap). */
  cdnDelayMs?: number;
}

export interface RequestLog {
  method: string;
  url: string;
  host: "hub" | "cdn";
  range?: string;
  authorization?: string;
  status: number;
}

/** Files at least this big are LFS files (the hub's real threshold is 10 MB; tests use small ones). */
export const LFS_THRESHOLD = 1024;

const sha256 = (b: Uint8Array): string => crypto.createHash("sha256").update(b).digest("hex");
/** git's blob id: sha1 of "blob <size>\0" + bytes (the ETag of a small file on the hub). */
const gitBlobId = (b: Uint8Array): string => crypto.createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");

interface Prepared {
  id: string;
  repo: HubRepo;
  commit: string;
  refs: Record<string, string>;
  sha: Map<string, string>;
}

export class HubServer {
  readonly log: RequestLog[] = [];
  /** Body bytes the CDN has sent, by sha256. */
  readonly cdnBytes = new Map<string, number>();
  faults: Faults = {};
  private repos = new Map<string, Prepared>();
  private blobs = new Map<string, Uint8Array>();
  private renames = new Map<string, string>();
  private hub!: http.Server;
  private cdn!: http.Server;
  endpoint = "";
  cdnOrigin = "";

  /** Adds (or replaces) a repository; returns its commit. */
  addRepo(id: string, repo: HubRepo): string {
    const h = crypto.createHash("sha1").update(id);
    for (const [f, b] of Object.entries(repo.files).sort()) h.update(f).update(gitBlobId(b));
    const commit = h.digest("hex");
    const sha = new Map<string, string>();
    for (const [f, b] of Object.entries(repo.files)) {
      if (b.length >= LFS_THRESHOLD) {
        const s = sha256(b);
        sha.set(f, s);
        this.blobs.set(s, b);
      }
    }
    this.repos.set(id, { id, repo, commit, refs: { main: commit, ...(repo.refs ?? {}) }, sha });
    return commit;
  }

  /** `old` answers 307 to `now`, as a renamed repository does. */
  rename(old: string, now: string): void {
    this.renames.set(old, now);
  }

  async start(): Promise<void> {
    this.hub = http.createServer((q, r) => this.handleHub(q, r));
    this.cdn = http.createServer((q, r) => this.handleCdn(q, r));
    for (const s of [this.hub, this.cdn]) {
      s.keepAliveTimeout = 1000;
      await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    }
    this.endpoint = `http://127.0.0.1:${(this.hub.address() as AddressInfo).port}`;
    // another host name for the same machine: a client tells the CDN from the hub by host, as huggingface_hub does
    this.cdnOrigin = `http://localhost:${(this.cdn.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const s of [this.hub, this.cdn]) {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  }

  private record(req: http.IncomingMessage, host: "hub" | "cdn", status: number): void {
    this.log.push({ method: req.method!, url: req.url!, host, range: req.headers.range, authorization: req.headers.authorization, status });
  }

  /** A fault that applies to every request; true when it answered. */
  private fault(req: http.IncomingMessage, res: http.ServerResponse, host: "hub" | "cdn"): boolean {
    if (this.faults.reset) {
      this.record(req, host, 0);
      req.socket.destroy();
      return true;
    }
    if (this.faults.errorCount) {
      this.faults.errorCount--;
      this.record(req, host, 500);
      res.writeHead(500, { "content-type": "text/plain" }).end("Internal Error");
      return true;
    }
    return false;
  }

  private error(req: http.IncomingMessage, res: http.ServerResponse, status: number, code: string, message: string, extra: Record<string, string> = {}): void {
    this.record(req, "hub", status);
    const body = JSON.stringify({ error: message });
    res.writeHead(status, { "x-error-code": code, "x-error-message": message, "content-type": "application/json", "content-length": Buffer.byteLength(body), ...extra });
    res.end(req.method === "HEAD" ? undefined : body);
  }

  /** The repository and access check shared by resolve and the API; undefined once it answered. */
  private access(req: http.IncomingMessage, res: http.ServerResponse, id: string): Prepared | undefined {
    const p = this.repos.get(id);
    const auth = req.headers.authorization;
    if (!p || (p.repo.token && auth !== `Bearer ${p.repo.token}`)) {
      // the hub does not tell private from missing: 401 without a token, 404 with one
      this.error(req, res, auth ? 404 : 401, "RepoNotFound", "Repository not found");
      return undefined;
    }
    if (p.repo.gated && auth !== `Bearer ${p.repo.gated}`) {
      this.error(req, res, 403, "GatedRepo", `Access to model ${id} is restricted. You must be authenticated and accept its conditions.`);
      return undefined;
    }
    return p;
  }

  private handleHub(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.fault(req, res, "hub")) return;
    const url = new URL(req.url!, this.endpoint);
    const parts = url.pathname.split("/").map(decodeURIComponent);
    // /api/models/{org}/{name}/revision/{rev}
    if (parts[1] === "api" && parts[2] === "models" && req.method === "GET") {
      const t = parts.indexOf("tree");
      if (t > 0) return this.tree(req, res, parts.slice(3, t).join("/"), parts[t + 1]);
      const i = parts.indexOf("revision");
      if (i < 0) return this.error(req, res, 404, "EntryNotFound", "Not found");
      const id = parts.slice(3, i).join("/");
      if (this.renames.has(id)) {
        this.record(req, "hub", 307);
        res.writeHead(307, { location: `/api/models/${this.renames.get(id)}/${parts.slice(i).join("/")}`, "content-length": 0 }).end();
        return;
      }
      const p = this.access(req, res, id);
      if (!p) return;
      const commit = p.refs[parts[i + 1]] ?? (parts[i + 1] === p.commit ? p.commit : undefined);
      if (!commit) return this.error(req, res, 404, "RevisionNotFound", `Invalid rev id: ${parts[i + 1]}`);
      const body = JSON.stringify({ id, modelId: id, sha: commit, private: !!p.repo.token, siblings: Object.keys(p.repo.files).sort().map((rfilename) => ({ rfilename })) });
      this.record(req, "hub", 200);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
      return;
    }
    // /{org}/{name}/resolve/{rev}/{file...}
    const r = parts.indexOf("resolve");
    if (r < 2 || (req.method !== "GET" && req.method !== "HEAD")) return this.error(req, res, 404, "EntryNotFound", "Not found");
    const id = parts.slice(1, r).join("/");
    const renamed = this.renames.get(id);
    if (renamed) {
      this.record(req, "hub", 307);
      const rest = url.pathname.split("/").slice(r).join("/");
      res.writeHead(307, { location: `/${renamed}/${rest}`, "content-length": 0 }).end();
      return;
    }
    const p = this.access(req, res, id);
    if (!p) return;
    const rev = parts[r + 1];
    const commit = p.refs[rev] ?? (rev === p.commit ? p.commit : undefined);
    if (!commit) return this.error(req, res, 404, "RevisionNotFound", `Invalid rev id: ${rev}`);
    const file = parts.slice(r + 2).join("/");
    const bytes = p.repo.files[file];
    if (!bytes) return this.error(req, res, 404, "EntryNotFound", `${file} does not exist on "${rev}"`, { "x-repo-commit": commit });
    const lfs = p.sha.get(file);
    if (lfs) {
      this.record(req, "hub", 302);
      res.writeHead(302, {
        location: `${this.cdnOrigin}/blobs/${lfs}?response-content-disposition=attachment&expires=${Date.now() + 3600_000}`,
        "x-repo-commit": commit,
        "x-linked-etag": `"${lfs}"`,
        "x-linked-size": String(bytes.length),
        etag: `"${gitBlobId(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${lfs}\nsize ${bytes.length}\n`))}"`,
        "content-length": 0,
      });
      res.end();
      return;
    }
    serveBytes(req, res, bytes, { "x-repo-commit": commit, etag: `"${gitBlobId(bytes)}"` }, (status) => this.record(req, "hub", status));
  }

  /** The tree API: every file (the listing is flat here: files are given at any depth). */
  private tree(req: http.IncomingMessage, res: http.ServerResponse, id: string, rev: string): void {
    const p = this.access(req, res, id);
    if (!p) return;
    if (!p.refs[rev] && rev !== p.commit) return this.error(req, res, 404, "RevisionNotFound", `Invalid rev id: ${rev}`);
    const entries = Object.entries(p.repo.files)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([f, b]) => {
        const lfs = p.sha.get(f);
        return { type: "file", path: f, oid: gitBlobId(b), size: b.length, ...(lfs ? { lfs: { oid: lfs, size: b.length, pointerSize: 134 } } : {}) };
      });
    const body = JSON.stringify(entries);
    this.record(req, "hub", 200);
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
  }

  private handleCdn(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.fault(req, res, "cdn")) return;
    const m = /^\/blobs\/([0-9a-f]{64})$/.exec(new URL(req.url!, this.cdnOrigin).pathname);
    const blob = m ? this.blobs.get(m[1]) : undefined;
    if (!m || !blob) {
      this.record(req, "cdn", 404);
      res.writeHead(404).end();
      return;
    }
    let bytes = blob;
    const target = !this.faults.only || this.faults.only === m[1];
    if (target && this.faults.corruptCount) {
      this.faults.corruptCount--;
      bytes = Uint8Array.from(blob);
      bytes[0] ^= 0xff;
    }
    let cut: number | undefined;
    if (target && this.faults.cutCount && this.faults.cutAfter !== undefined) {
      this.faults.cutCount--;
      cut = this.faults.cutAfter;
    }
    const go = (): void =>
      serveBytes(req, res, bytes, { etag: `"cdn-${m[1].slice(0, 16)}"` }, (status) => this.record(req, "cdn", status), cut, (n) => this.cdnBytes.set(m[1], (this.cdnBytes.get(m[1]) ?? 0) + n));
    if (this.faults.cdnDelayMs) setTimeout(go, this.faults.cdnDelayMs);
    else go();
  }
}

/** 200 or 206 (Range: bytes=N-) or 416, with Content-Length; `cut` destroys the socket after that many body bytes. */
function serveBytes(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  bytes: Uint8Array,
  headers: Record<string, string>,
  record: (status: number) => void,
  cut?: number,
  counted?: (n: number) => void,
): void {
  const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
  let start = 0;
  let end = bytes.length;
  let status = 200;
  const h: Record<string, string | number> = { ...headers, "accept-ranges": "bytes", "content-type": "application/octet-stream" };
  if (range) {
    start = Number(range[1]);
    if (range[2]) end = Math.min(end, Number(range[2]) + 1);
    if (start >= bytes.length) {
      record(416);
      res.writeHead(416, { ...h, "content-range": `bytes */${bytes.length}`, "content-length": 0 }).end();
      return;
    }
    status = 206;
    h["content-range"] = `bytes ${start}-${end - 1}/${bytes.length}`;
  }
  h["content-length"] = end - start;
  record(status);
  res.writeHead(status, h);
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const body = bytes.subarray(start, end);
  if (cut !== undefined && cut < body.length) {
    counted?.(cut);
    res.write(body.subarray(0, cut), () => setTimeout(() => res.destroy(), 20));
    return;
  }
  counted?.(body.length);
  // in 1 MiB writes with backpressure, as a server streaming from disk does
  let off = 0;
  const pump = (): void => {
    while (off < body.length) {
      const chunk = body.subarray(off, Math.min(off + (1 << 20), body.length));
      off += chunk.length;
      if (!res.write(chunk)) {
        res.once("drain", pump);
        return;
      }
    }
    res.end();
  };
  pump();
}
