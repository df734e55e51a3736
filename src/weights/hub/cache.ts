/**
 * @file The huggingface_hub cache layout and environment, so Python and this project share one
 * cache. Node only.
 *
 * ```text
 * $HF_HUB_CACHE (else $HF_HOME/hub, else ~/.cache/huggingface/hub)
 *   models--ORG--NAME/
 *     blobs/<etag>                      file contents, named by ETag (sha256 for LFS files)
 *     blobs/<etag>.incomplete           a transfer in progress (resumed with Range)
 *     refs/<revision>                   the commit a branch or tag pointed to (no newline)
 *     snapshots/<commit>/<file>         relative symlink -> ../../blobs/<etag>
 *   .locks/models--ORG--NAME/<etag>.lock
 * ```
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UserError } from "../../errors.js";

/** The cache root: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (huggingface_hub's order). */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  return explicit ? expandHome(explicit) : path.join(hfHome(env), "hub");
}

/** $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
function hfHome(env: NodeJS.ProcessEnv): string {
  if (env.HF_HOME) return expandHome(env.HF_HOME);
  return path.join(env.XDG_CACHE_HOME ? expandHome(env.XDG_CACHE_HOME) : path.join(os.homedir(), ".cache"), "huggingface");
}

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}

/** The hub's base URL: $HF_ENDPOINT or https://huggingface.co, without a trailing slash. */
export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return (env.HF_ENDPOINT || "https://huggingface.co").replace(/\/+$/, "");
}

/** The access token for gated and private repositories: $HF_TOKEN, else the file `huggingface-cli login` writes. */
export function hubToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.HF_TOKEN) return env.HF_TOKEN.trim();
  const file = env.HF_TOKEN_PATH ? expandHome(env.HF_TOKEN_PATH) : path.join(hfHome(env), "token");
  try {
    return fs.readFileSync(file, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** True when HF_HUB_OFFLINE asks for the cache only (1, true, yes, on: huggingface_hub's truthy values). */
export function isOffline(env: NodeJS.ProcessEnv = process.env): boolean {
  return ["1", "ON", "YES", "TRUE"].includes((env.HF_HUB_OFFLINE ?? "").toUpperCase());
}

/** A repository id as the hub spells it: NAME or ORG/NAME. */
export function checkRepoId(repo: string): string {
  if (!/^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/.test(repo) || repo.includes("--") || repo.includes("..") || repo.endsWith(".")) {
    throw new UserError(`invalid Hugging Face repository id ${JSON.stringify(repo)} (expected ORG/NAME, e.g. laion/CLIP-ViT-B-32-laion2B-s34B-b79K)`);
  }
  return repo;
}

/** A file path inside a repository: relative, no "..", no backslashes. */
export function checkRepoFile(file: string, repo: string): string {
  if (file === "" || file.startsWith("/") || file.includes("\\") || file.split("/").some((p) => p === "" || p === "." || p === "..")) {
    throw new UserError(`${repo}: invalid file name ${JSON.stringify(file)} in the repository`);
  }
  return file;
}

/** True for a full 40-hex commit hash. */
export const isCommitHash = (rev: string): boolean => /^[0-9a-f]{40}$/.test(rev);

/** The folders of one repository in the cache. */
export class RepoCache {
  /** models--ORG--NAME */
  readonly folder: string;
  readonly dir: string;
  readonly locks: string;

  constructor(
    readonly repo: string,
    readonly root: string = hubCacheDir(),
  ) {
    this.folder = `models--${checkRepoId(repo).replace(/\//g, "--")}`;
    this.dir = path.join(root, this.folder);
    this.locks = path.join(root, ".locks", this.folder);
  }

  blob(etag: string): string {
    return path.join(this.dir, "blobs", etag);
  }

  snapshot(commit: string): string {
    return path.join(this.dir, "snapshots", commit);
  }

  /** The commit a revision points to in the cache: the revision itself when it is a commit hash. */
  readRef(revision: string): string | undefined {
    if (isCommitHash(revision)) return revision;
    try {
      const commit = fs.readFileSync(path.join(this.dir, "refs", revision), "utf8").trim();
      return isCommitHash(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  /** Records that `revision` points to `commit` (written without a newline, as huggingface_hub reads it). */
  writeRef(revision: string, commit: string): void {
    if (revision === commit) return;
    const file = path.join(this.dir, "refs", revision);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, commit);
    fs.renameSync(tmp, file);
  }

  /** The cached file of a snapshot when it is there and complete (a symlink to a blob that exists). */
  cachedFile(commit: string, file: string): string | undefined {
    const p = path.join(this.snapshot(commit), file);
    try {
      return fs.statSync(p).isFile() ? p : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Puts `file` of `commit` into the snapshot as a relative symlink to its blob, replacing
   * whatever was there in one rename (a copy where symlinks are not allowed).
   */
  link(commit: string, file: string, etag: string): string {
    const dest = path.join(this.snapshot(commit), file);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const target = path.relative(path.dirname(dest), this.blob(etag));
    const tmp = `${dest}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      fs.symlinkSync(target, tmp);
    } catch {
      fs.copyFileSync(this.blob(etag), tmp);
    }
    fs.renameSync(tmp, dest);
    return dest;
  }
}

/**
 * An exclusive lock between processes of this project on one blob (a file created with O_EXCL
 * holding the owner's pid). A lock whose owner died is taken over. huggingface_hub locks with
 * flock(2), which Node cannot call: a transfer by Python at the same moment is not excluded,
 * but the sha256 check refuses a blob two writers mixed.
 */
export async function withLock<T>(lockFile: string, fn: () => Promise<T>, opts: { pollMs?: number; onWait?: () => void } = {}): Promise<T> {
  fs.mkdirSync(path.dirname(lockFile), { recursive: true });
  const mine = `${lockFile}.clip-ts`;
  let waited = false;
  for (;;) {
    try {
      fs.writeFileSync(mine, `${process.pid}\n`, { flag: "wx" });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    if (ownerIsGone(mine)) {
      fs.rmSync(mine, { force: true });
      continue;
    }
    if (!waited) opts.onWait?.();
    waited = true;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(mine, { force: true });
  }
}

function ownerIsGone(lockFile: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(lockFile, "utf8").trim());
  } catch {
    return false; // removed meanwhile, or being written: try again
  }
  if (!Number.isInteger(pid) || pid <= 0) {
    // written but not yet filled in by its owner: stale only if old
    try {
      return Date.now() - fs.statSync(lockFile).mtimeMs > 10_000;
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}
