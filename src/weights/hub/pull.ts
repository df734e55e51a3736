/**
 * @file A snapshot of a checkpoint repository in the huggingface_hub cache: which files a CLIP
 * checkpoint needs (open_clip layout preferred, else transformers CLIPModel; sharded or not;
 * tokenizer and preprocessor files), fetched once each, verified, placed atomically. Node only.
 */
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../../errors.js";
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
} from "../layout.js";
import { RepoCache, checkRepoFile, hubCacheDir, hubEndpoint, hubToken, isCommitHash, isOffline, withLock } from "./cache.js";
import { type FileMeta, type HubClient, HubNotFound, HubUnreachable, download, getJson, headFile, revisionUrl } from "./protocol.js";

/** Progress of one file: bytes so far, total, and whether it came from the cache. */
export interface PullProgress {
  repo: string;
  file: string;
  received: number;
  total: number;
  done: boolean;
  /** True when the file was already in the cache (nothing fetched). */
  cached: boolean;
}

/** Options of pullRepo: the revision, the cache, the hub, and what to report. */
export interface PullOptions {
  /** Branch, tag or commit (default "main"). */
  revision?: string;
  /** Cache only, no request (default: $HF_HUB_OFFLINE). */
  offline?: boolean;
  /** Cache root (default: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Hub URL (default $HF_ENDPOINT or https://huggingface.co). */
  endpoint?: string;
  /** Token (default $HF_TOKEN or the saved login). */
  token?: string;
  /** "auto" (default): open_clip if the repo has it, else transformers; "open_clip": that layout only; "tokenizer": tokenizer files only. */
  layout?: "auto" | "open_clip" | "tokenizer";
  onProgress?: (p: PullProgress) => void;
  /** Retries and fall-backs to the cache are reported here. */
  onWarning?: (message: string) => void;
  /** Protocol settings (retries, backoff, timeout). */
  client?: Partial<HubClient>;
}

/** A local snapshot of a repository. */
export interface Snapshot {
  /** snapshots/<commit>: a directory every loader here (and huggingface_hub) reads. */
  path: string;
  repo: string;
  commit: string;
  /** The files placed (or found) in it. */
  files: string[];
}

/** A file a checkpoint needs is not in the repository (or not in the cache). */
export class MissingFile extends UserError {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
  }
}

/** Tokenizer files, in preference order: a snapshot takes every one the repo has, except tokenizer.json when vocab.json + merges.txt are there. */
const TOKENIZER_FILES = [BPE_VOCAB, "vocab.json", "merges.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];

/**
 * The files of a CLIP checkpoint among a repository's `names`. Sharded weights list their index
 * here; the shards follow from it. Throws a UserError naming the missing file.
 */
export function checkpointFiles(names: ReadonlySet<string>, repo: string, layout: PullOptions["layout"] = "auto"): string[] {
  const first = (xs: string[]): string | undefined => xs.find((x) => names.has(x));
  const tokenizer = TOKENIZER_FILES.filter((f) => names.has(f) && !(f === "tokenizer.json" && names.has("vocab.json") && names.has("merges.txt")));
  if (layout === "tokenizer") {
    if (!tokenizer.some((f) => f === BPE_VOCAB || f === "vocab.json" || f === "tokenizer.json")) {
      throw new UserError(`hf-hub:${repo} has no tokenizer vocabulary (${BPE_VOCAB}, vocab.json + merges.txt or tokenizer.json)`);
    }
    return tokenizer;
  }
  const ocWeights = first([OPEN_CLIP_SAFETENSORS, OPEN_CLIP_BIN]);
  if (ocWeights && (names.has(OPEN_CLIP_CONFIG) || layout === "open_clip")) {
    return [...(names.has(OPEN_CLIP_CONFIG) ? [OPEN_CLIP_CONFIG] : []), ...tokenizer, ocWeights];
  }
  if (names.has(OPEN_CLIP_CONFIG) || layout === "open_clip") {
    throw new MissingFile(`hf-hub:${repo}: file ${OPEN_CLIP_SAFETENSORS} (or ${OPEN_CLIP_BIN}) not found${names.has(OPEN_CLIP_CONFIG) ? ` next to ${OPEN_CLIP_CONFIG}` : ""}`, OPEN_CLIP_SAFETENSORS);
  }
  if (names.has(HF_CONFIG)) {
    const weights = first([HF_SAFETENSORS, HF_SAFETENSORS_INDEX, HF_BIN, HF_BIN_INDEX]);
    if (!weights) throw new MissingFile(`hf-hub:${repo}: file ${HF_SAFETENSORS} (or ${HF_BIN}, or a sharded index) not found next to ${HF_CONFIG}`, HF_SAFETENSORS);
    return [HF_CONFIG, ...(names.has(HF_PREPROCESSOR) ? [HF_PREPROCESSOR] : []), ...tokenizer, weights];
  }
  throw new MissingFile(`hf-hub:${repo} is not a CLIP checkpoint: file ${OPEN_CLIP_CONFIG} (open_clip) or ${HF_CONFIG} (transformers) not found`, OPEN_CLIP_CONFIG);
}

/** Every file under a snapshot directory, as repository paths. */
function listSnapshot(dir: string): Set<string> {
  const out = new Set<string>();
  const walk = (d: string, prefix: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${e.name}` : e.name;
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full, rel);
      else if (fs.existsSync(full)) out.add(rel); // a symlink to a blob that is there
    }
  };
  if (fs.existsSync(dir)) walk(dir, "");
  return out;
}

const isSha256 = (etag: string): boolean => /^[0-9a-f]{64}$/.test(etag);

/** What one pull needs. */
interface Context {
  repo: string;
  revision: string;
  cache: RepoCache;
  client: HubClient;
  opts: PullOptions;
}

function report(ctx: Context, file: string, received: number, total: number, done: boolean, cached: boolean): void {
  ctx.opts.onProgress?.({ repo: ctx.repo, file, received, total, done, cached });
}

/** The blob of `meta`, fetched under the blob's lock unless it is already there; a sha256 mismatch deletes it and fetches once more. */
async function fetchBlob(ctx: Context, file: string, meta: FileMeta): Promise<void> {
  const blob = ctx.cache.blob(meta.etag);
  const complete = (): boolean => fs.existsSync(blob) && fs.statSync(blob).size === meta.size;
  if (complete()) return report(ctx, file, meta.size, meta.size, true, true);
  const lock = path.join(ctx.cache.locks, `${meta.etag}.lock`);
  await withLock(lock, async () => {
    if (complete()) return report(ctx, file, meta.size, meta.size, true, true);
    fs.mkdirSync(path.dirname(blob), { recursive: true });
    const incomplete = `${blob}.incomplete`;
    for (let attempt = 0; ; attempt++) {
      const sha = await download(ctx.client, {
        repo: ctx.repo,
        revision: ctx.revision,
        file,
        meta,
        incomplete,
        onBytes: (n) => report(ctx, file, n, meta.size, false, false),
      });
      if (!isSha256(meta.etag) || sha === meta.etag) break;
      fs.rmSync(incomplete, { force: true });
      const msg = `hf-hub:${ctx.repo} file ${file}: sha256 ${sha} does not match the hub's ETag ${meta.etag}`;
      if (attempt >= 1) throw new UserError(`${msg} (twice; the blob was deleted)`);
      ctx.opts.onWarning?.(`${msg}; deleted, fetching again`);
    }
    fs.renameSync(incomplete, blob);
    report(ctx, file, meta.size, meta.size, true, false);
  }, { onWait: () => ctx.opts.onWarning?.(`hf-hub:${ctx.repo} file ${file}: another process is downloading it; waiting`) });
}

/** One file into snapshots/<commit>/: from the snapshot if there, else HEAD + blob + link. */
async function pullFile(ctx: Context, commit: string, file: string, known?: FileMeta): Promise<void> {
  checkRepoFile(file, ctx.repo);
  const cached = ctx.cache.cachedFile(commit, file);
  if (cached) {
    const size = fs.statSync(cached).size;
    return report(ctx, file, size, size, true, true);
  }
  const meta = known ?? (await headFile(ctx.client, ctx.repo, commit, file));
  await fetchBlob(ctx, file, meta);
  ctx.cache.link(commit, file, meta.etag);
}

/** The shards a sharded index lists, pulled after the index. */
async function pullShards(ctx: Context, commit: string, index: string): Promise<string[]> {
  const shards = shardFiles(path.join(ctx.cache.snapshot(commit), index));
  const dir = path.posix.dirname(index);
  const files = shards.map((s) => (dir === "." ? s : `${dir}/${s}`));
  for (const f of files) await pullFile(ctx, commit, f);
  return files;
}

/** The commit and file list: the revision API, else (a server without it) HEADs of the names a checkpoint may have. */
async function listRepo(ctx: Context): Promise<{ commit: string; names: Set<string>; metas: Map<string, FileMeta> }> {
  try {
    const info = (await getJson(ctx.client, revisionUrl(ctx.client, ctx.repo, ctx.revision), ctx.repo, ctx.revision)) as { sha?: unknown; siblings?: unknown };
    const siblings = Array.isArray(info?.siblings) ? info.siblings : undefined;
    if (typeof info?.sha !== "string" || !isCommitHash(info.sha) || !siblings) {
      throw new UserError(`hf-hub:${ctx.repo}: the revision API answered without "sha" and "siblings" (is HF_ENDPOINT=${ctx.client.endpoint} a Hugging Face hub?)`);
    }
    const names = new Set(siblings.map((s: { rfilename?: unknown }) => s?.rfilename).filter((n): n is string => typeof n === "string"));
    return { commit: info.sha, names, metas: new Map() };
  } catch (e) {
    if (!(e instanceof HubNotFound) || e.code !== "EntryNotFound") throw e;
  }
  const names = new Set<string>();
  const metas = new Map<string, FileMeta>();
  let commit: string | undefined;
  const candidates = [OPEN_CLIP_CONFIG, OPEN_CLIP_SAFETENSORS, OPEN_CLIP_BIN, HF_CONFIG, HF_SAFETENSORS, HF_SAFETENSORS_INDEX, HF_BIN, HF_BIN_INDEX, HF_PREPROCESSOR, ...TOKENIZER_FILES];
  for (const f of candidates) {
    try {
      const meta = await headFile(ctx.client, ctx.repo, ctx.revision, f);
      names.add(f);
      metas.set(f, meta);
      commit ??= meta.commit;
    } catch (e) {
      if (!(e instanceof HubNotFound) || e.code !== "EntryNotFound") throw e;
    }
  }
  if (!commit || !isCommitHash(commit)) throw new UserError(`hf-hub:${ctx.repo}: the server sent no X-Repo-Commit for revision ${ctx.revision}`);
  return { commit, names, metas };
}

/** The snapshot already in the cache for the revision; a UserError naming the first missing file when it is not complete. */
export function cachedSnapshot(repo: string, opts: PullOptions = {}): Snapshot {
  const revision = opts.revision ?? "main";
  const cache = new RepoCache(repo, opts.cacheDir ?? hubCacheDir());
  const why = opts.offline ?? isOffline() ? "HF_HUB_OFFLINE=1" : "offline";
  const commit = cache.readRef(revision);
  const snap = commit ? cache.snapshot(commit) : undefined;
  if (!commit || !snap || !fs.existsSync(snap)) {
    throw new UserError(`${why}: hf-hub:${repo} (revision ${revision}) is not in the cache ${cache.dir}`);
  }
  const names = listSnapshot(snap);
  let files: string[];
  try {
    files = checkpointFiles(names, repo, opts.layout);
  } catch (e) {
    if (e instanceof MissingFile) throw new UserError(`${why}: hf-hub:${repo} file ${e.file} is not in the cache (${snap})`);
    throw e;
  }
  for (const f of files) {
    if (!names.has(f)) throw new UserError(`${why}: hf-hub:${repo} file ${f} is not in the cache (${snap})`);
    if (f.endsWith(".index.json")) {
      for (const s of shardFiles(path.join(snap, f))) if (!names.has(s)) throw new UserError(`${why}: hf-hub:${repo} file ${s} is not in the cache (${snap})`);
    }
  }
  return { path: snap, repo, commit, files };
}

function clientOf(opts: PullOptions): HubClient {
  const endpoint = (opts.endpoint ?? hubEndpoint()).replace(/\/+$/, "");
  if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) {
    throw new UserError(`HF_ENDPOINT ${JSON.stringify(endpoint)} is not an http(s) URL (e.g. https://huggingface.co)`);
  }
  return { endpoint, token: opts.token ?? hubToken(), onRetry: opts.onWarning, ...opts.client };
}

/**
 * Makes the snapshot of a checkpoint repository at a revision and returns it: lists the repo
 * (one request), fetches each file not yet in the cache (HEAD for its ETag and location, GET with
 * resume), verifies LFS files' sha256, links them into snapshots/<commit>/, then records
 * refs/<revision>. Offline (or when the hub cannot be reached and the cache has the revision), the
 * cached snapshot is used without any request.
 */
export async function pullRepo(repo: string, opts: PullOptions = {}): Promise<Snapshot> {
  const revision = opts.revision ?? "main";
  const cache = new RepoCache(repo, opts.cacheDir ?? hubCacheDir());
  if (opts.offline ?? isOffline()) return cachedSnapshot(repo, { ...opts, offline: true });
  const ctx: Context = { repo, revision, cache, client: clientOf(opts), opts };
  let listing: Awaited<ReturnType<typeof listRepo>>;
  try {
    listing = await listRepo(ctx);
  } catch (e) {
    // no network: huggingface_hub falls back to the cache, so do we (saying so)
    if (!(e instanceof HubUnreachable)) throw e;
    let snap: Snapshot;
    try {
      snap = cachedSnapshot(repo, { ...opts, offline: false });
    } catch {
      throw e;
    }
    opts.onWarning?.(`${e.message}; using the cached snapshot ${snap.commit}`);
    return snap;
  }
  const { commit, names, metas } = listing;
  const files = checkpointFiles(names, repo, opts.layout);
  const placed: string[] = [];
  for (const f of files) {
    await pullFile(ctx, commit, f, metas.get(f));
    placed.push(f);
    if (f.endsWith(".index.json")) placed.push(...(await pullShards(ctx, commit, f)));
  }
  cache.writeRef(revision, commit);
  return { path: cache.snapshot(commit), repo, commit, files: placed };
}
