/** @file `pullRepo` against the local hub: cache layout, both checkpoint layouts, resume, sha256, offline, errors. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../../src/errors.js";
import { loadCheckpoint } from "../../src/weights/checkpoint.js";
import { hubCacheDir } from "../../src/weights/hub/cache.js";
import { type PullOptions, pullRepo } from "../../src/weights/hub/pull.js";
import { resolveModel } from "../../src/weights/hub/resolve.js";
import { HubServer } from "../helpers/hub_server.js";
import { VIT, hfFiles, openClipFiles, shardedHfFiles, tempCache } from "./fixtures.js";

const server = new HubServer();
const caches: string[] = [];
let oc: Record<string, Uint8Array>;

before(async () => {
  await server.start();
  oc = openClipFiles();
  server.addRepo("org/vit-tiny", { files: oc });
  server.addRepo("org/vit-tiny-hf", { files: hfFiles() });
  server.addRepo("org/vit-tiny-sharded", { files: shardedHfFiles() });
  server.addRepo("org/both", { files: { ...hfFiles(), ...oc } });
  server.addRepo("org/private", { files: oc, token: "hf_secret" });
  server.addRepo("org/gated", { files: oc, gated: "hf_secret" });
  server.addRepo("org/no-weights", { files: { "open_clip_config.json": oc["open_clip_config.json"] } });
});
after(async () => {
  await server.stop();
  for (const c of caches) fs.rmSync(c, { recursive: true, force: true });
});

function opts(extra: PullOptions = {}): PullOptions {
  const cacheDir = tempCache();
  caches.push(cacheDir);
  return { cacheDir, endpoint: server.endpoint, token: "", offline: false, client: { backoffMs: 5, timeoutS: 5 }, ...extra };
}

const sha256 = (b: Uint8Array): string => crypto.createHash("sha256").update(b).digest("hex");

test("the cache env: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub", () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: "/x/cache", HF_HOME: "/y" }), "/x/cache");
  assert.equal(hubCacheDir({ HF_HOME: "/y" }), "/y/hub");
  assert.match(hubCacheDir({}), /\.cache\/huggingface\/hub$/);
});

test("pull writes huggingface_hub's layout: blobs by ETag, relative symlinks, refs/main; metadata from the HEAD, bytes from the CDN", async () => {
  const o = opts({ token: "hf_secret" });
  const log0 = server.log.length;
  const snap = await pullRepo("org/vit-tiny", o);
  const repoDir = path.join(o.cacheDir!, "models--org--vit-tiny");
  assert.equal(snap.path, path.join(repoDir, "snapshots", snap.commit));
  assert.equal(fs.readFileSync(path.join(repoDir, "refs", "main"), "utf8"), snap.commit); // no newline, as huggingface_hub writes it
  assert.deepEqual([...snap.files].sort(), Object.keys(oc).sort());
  for (const [f, bytes] of Object.entries(oc)) {
    const link = path.join(snap.path, f);
    assert.ok(fs.lstatSync(link).isSymbolicLink(), f);
    const target = fs.readlinkSync(link);
    assert.ok(target.startsWith("../../blobs/"), target);
    assert.deepEqual(fs.readFileSync(link), Buffer.from(bytes), f);
  }
  // the LFS file's blob is named by its sha256; no .incomplete is left
  assert.ok(fs.existsSync(path.join(repoDir, "blobs", sha256(oc["open_clip_model.safetensors"]))));
  assert.deepEqual(fs.readdirSync(path.join(repoDir, "blobs")).filter((f) => f.endsWith(".incomplete")), []);
  const mine = server.log.slice(log0);
  assert.ok(mine.some((l) => l.method === "HEAD" && l.status === 302), "a HEAD answered 302 and was not followed");
  const cdn = mine.filter((l) => l.host === "cdn");
  assert.equal(cdn.length, 2, "two LFS files fetched from the CDN"); // weights + the 1.3 MB BPE file
  for (const l of cdn) assert.equal(l.authorization, undefined, "the token is not sent to the CDN");
  assert.ok(mine.filter((l) => l.host === "hub").every((l) => l.authorization === "Bearer hf_secret"));
  loadCheckpoint(snap.path); // loads as a checkpoint
  // a second pull fetches nothing: one listing request
  const log1 = server.log.length;
  await pullRepo("org/vit-tiny", o);
  assert.deepEqual(server.log.slice(log1).map((l) => l.url), [`/api/models/org/vit-tiny/revision/main`]);
});

test("transformers layout, plain and sharded; open_clip preferred when a repo has both", async () => {
  for (const repo of ["org/vit-tiny-hf", "org/vit-tiny-sharded"]) {
    const snap = await pullRepo(repo, opts());
    const ck = loadCheckpoint(snap.path);
    assert.equal(ck.source, "hf", repo);
    const ref = loadCheckpoint(VIT);
    for (const [k, t] of ref.state) assert.deepEqual(ck.state.get(k)!.data, t.data, `${repo} ${k}`);
    assert.ok(fs.existsSync(path.join(snap.path, "preprocessor_config.json")));
  }
  const sharded = await pullRepo("org/vit-tiny-sharded", opts());
  assert.ok(sharded.files.includes("model-00002-of-00002.safetensors"));
  const both = await pullRepo("org/both", opts());
  assert.ok(both.files.includes("open_clip_model.safetensors") && !both.files.includes("model.safetensors"), both.files.join(","));
});

test("a transfer cut mid-file resumes with Range; bytes served stay under 1.5x the file", async () => {
  const size = oc["open_clip_model.safetensors"].length;
  const sha = sha256(oc["open_clip_model.safetensors"]);
  server.cdnBytes.clear();
  server.faults = { cutAfter: Math.floor(size * 0.4), cutCount: 1, only: sha };
  const log0 = server.log.length;
  const warnings: string[] = [];
  const snap = await pullRepo("org/vit-tiny", opts({ onWarning: (m) => warnings.push(m) }));
  server.faults = {};
  assert.deepEqual(fs.readFileSync(path.join(snap.path, "open_clip_model.safetensors")), Buffer.from(oc["open_clip_model.safetensors"]));
  const served = server.cdnBytes.get(sha)!;
  assert.ok(served < 1.5 * size, `served ${served} bytes for a ${size}-byte file`);
  assert.ok(server.log.slice(log0).some((l) => l.host === "cdn" && l.range === `bytes=${Math.floor(size * 0.4)}-` && l.status === 206), "resumed with Range");
  assert.ok(warnings.some((w) => /connection dropped/.test(w)), warnings.join("\n"));
});

test("a partial blob left by an interrupted run is resumed, not fetched again", async () => {
  const o = opts();
  const bytes = oc["open_clip_model.safetensors"];
  const sha = sha256(bytes);
  const blobs = path.join(o.cacheDir!, "models--org--vit-tiny", "blobs");
  fs.mkdirSync(blobs, { recursive: true });
  const have = Math.floor(bytes.length * 0.75);
  fs.writeFileSync(path.join(blobs, `${sha}.incomplete`), bytes.subarray(0, have));
  server.cdnBytes.clear();
  await pullRepo("org/vit-tiny", o);
  assert.equal(server.cdnBytes.get(sha), bytes.length - have);
});

test("a blob whose sha256 does not match the ETag is refused and fetched again; twice is an error", async () => {
  const sha = sha256(oc["open_clip_model.safetensors"]);
  server.cdnBytes.clear();
  server.faults = { corruptCount: 1, only: sha };
  const warnings: string[] = [];
  const snap = await pullRepo("org/vit-tiny", opts({ onWarning: (m) => warnings.push(m) }));
  assert.equal(sha256(fs.readFileSync(path.join(snap.path, "open_clip_model.safetensors"))), sha);
  assert.ok(warnings.some((w) => w.includes("does not match")), warnings.join("\n"));
  assert.equal(server.cdnBytes.get(sha), 2 * oc["open_clip_model.safetensors"].length);
  server.faults = { corruptCount: 2, only: sha };
  const o = opts();
  await assert.rejects(pullRepo("org/vit-tiny", o), (e: Error) => e instanceof UserError && /org\/vit-tiny file open_clip_model\.safetensors: sha256 .* does not match/.test(e.message));
  server.faults = {};
  const blobs = path.join(o.cacheDir!, "models--org--vit-tiny", "blobs");
  assert.ok(!fs.readdirSync(blobs).some((f) => f.startsWith(sha)), "the bad blob was deleted");
  assert.ok(!fs.existsSync(path.join(o.cacheDir!, "models--org--vit-tiny", "snapshots")) || !fs.readdirSync(path.join(o.cacheDir!, "models--org--vit-tiny", "snapshots")).some((c) => fs.existsSync(path.join(o.cacheDir!, "models--org--vit-tiny", "snapshots", c, "open_clip_model.safetensors"))));
});

test("5xx answers are retried with backoff", async () => {
  server.faults = { errorCount: 2 };
  const warnings: string[] = [];
  const snap = await pullRepo("org/vit-tiny", opts({ onWarning: (m) => warnings.push(m) }));
  server.faults = {};
  assert.ok(fs.existsSync(path.join(snap.path, "open_clip_model.safetensors")));
  assert.equal(warnings.filter((w) => /HTTP 500/.test(w)).length, 2);
});

test("errors name the repo and file: private (401), gated (403), missing file, unknown revision, no network", async () => {
  const msg = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
    } catch (e) {
      assert.ok(e instanceof UserError, String(e));
      return (e as Error).message;
    }
    return assert.fail("should have failed");
  };
  assert.match(await msg(pullRepo("org/private", opts())), /hf-hub:org\/private: repository not found, or private \(HTTP 401 RepoNotFound\).*set HF_TOKEN/);
  assert.match(await msg(pullRepo("org/nope", opts({ token: "hf_x" }))), /hf-hub:org\/nope: repository not found.*HTTP 404/);
  assert.match(await msg(pullRepo("org/gated", opts())), /hf-hub:org\/gated is gated \(HTTP 403\).*HF_TOKEN/);
  assert.match(await msg(pullRepo("org/no-weights", opts())), /hf-hub:org\/no-weights: file open_clip_model\.safetensors .*not found/);
  assert.match(await msg(pullRepo("org/vit-tiny", opts({ revision: "v9" }))), /hf-hub:org\/vit-tiny: revision "v9" not found/);
  assert.match(await msg(pullRepo("org/vit-tiny", opts({ endpoint: "http://127.0.0.1:9" }))), /cannot reach http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/);
  assert.match(await msg(pullRepo("bad id!", opts())), /invalid Hugging Face repository id/);
});

test("a renamed repository (307, relative Location) is followed", async () => {
  server.rename("old-org/vit-tiny", "org/vit-tiny");
  const log0 = server.log.length;
  const snap = await pullRepo("old-org/vit-tiny", opts());
  assert.ok(fs.existsSync(path.join(snap.path, "open_clip_model.safetensors")));
  assert.ok(server.log.slice(log0).some((l) => l.method === "HEAD" && l.status === 307));
});

test("offline: the cache only, no request; a missing file is one line naming the repo and file", async () => {
  const o = opts();
  const online = await pullRepo("org/vit-tiny", o);
  const log0 = server.log.length;
  const off = await pullRepo("org/vit-tiny", { ...o, offline: true, endpoint: "http://127.0.0.1:9" });
  assert.equal(off.path, online.path);
  assert.equal(server.log.length, log0);
  fs.rmSync(path.join(online.path, "open_clip_model.safetensors"));
  await assert.rejects(pullRepo("org/vit-tiny", { ...o, offline: true }), /^UserError: HF_HUB_OFFLINE=1: hf-hub:org\/vit-tiny file open_clip_model\.safetensors is not in the cache/);
  await assert.rejects(pullRepo("org/other", { ...o, offline: true }), /HF_HUB_OFFLINE=1: hf-hub:org\/other \(revision main\) is not in the cache/);
  // online, with the hub unreachable, a complete cached snapshot is used (as huggingface_hub does)
  const o2 = opts();
  await pullRepo("org/vit-tiny", o2);
  const warnings: string[] = [];
  const fallback = await pullRepo("org/vit-tiny", { ...o2, endpoint: "http://127.0.0.1:9", onWarning: (m) => warnings.push(m) });
  assert.ok(fs.existsSync(path.join(fallback.path, "open_clip_model.safetensors")));
  assert.match(warnings.join("\n"), /cannot reach.*using the cached snapshot/);
});

test("a cache tree laid out as huggingface_hub writes it is used without any request", async () => {
  const root = tempCache();
  caches.push(root);
  const commit = "0123456789abcdef0123456789abcdef01234567";
  const repoDir = path.join(root, "models--laion--tiny");
  fs.mkdirSync(path.join(repoDir, "blobs"), { recursive: true });
  fs.mkdirSync(path.join(repoDir, "snapshots", commit), { recursive: true });
  fs.mkdirSync(path.join(repoDir, "refs"), { recursive: true });
  fs.writeFileSync(path.join(repoDir, "refs", "main"), commit);
  for (const [f, bytes] of Object.entries(oc)) {
    // huggingface_hub names small blobs by git sha1, LFS blobs by sha256; links are relative
    const etag = bytes.length > 10_000_000 ? sha256(bytes) : crypto.createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
    fs.writeFileSync(path.join(repoDir, "blobs", etag), bytes);
    fs.symlinkSync(`../../blobs/${etag}`, path.join(repoDir, "snapshots", commit, f));
  }
  fs.mkdirSync(path.join(root, ".locks", "models--laion--tiny"), { recursive: true });
  const log0 = server.log.length;
  const dir = await resolveModel("hf-hub:laion/tiny", { cacheDir: root, offline: true, endpoint: "http://127.0.0.1:9" });
  assert.equal(dir, path.join(repoDir, "snapshots", commit));
  assert.equal(loadCheckpoint(dir).source, "open_clip");
  // and with a pinned commit as the revision
  assert.equal(await resolveModel("hf-hub:laion/tiny", { cacheDir: root, offline: true, revision: commit }), dir);
  assert.equal(server.log.length, log0);
});

test("a 40 MiB file cut mid-way resumes, verifies, and a corrupt copy is refused", async () => {
  const big = crypto.randomBytes(40 << 20);
  const sha = sha256(big);
  server.addRepo("org/big", { files: { "open_clip_config.json": oc["open_clip_config.json"], "open_clip_model.safetensors": big } });
  server.cdnBytes.clear();
  server.faults = { cutAfter: 15 << 20, cutCount: 1, corruptCount: 1, only: sha };
  const warnings: string[] = [];
  const snap = await pullRepo("org/big", opts({ onWarning: (m) => warnings.push(m) }));
  server.faults = {};
  assert.equal(sha256(fs.readFileSync(path.join(snap.path, "open_clip_model.safetensors"))), sha);
  assert.match(warnings.join("\n"), /connection dropped at byte \d+/);
  assert.match(warnings.join("\n"), /does not match/);
  // first transfer: corrupt and cut at 15 MiB, resumed (still corrupt: refused), then one whole copy
  assert.ok(server.cdnBytes.get(sha)! <= 2 * big.length, `${server.cdnBytes.get(sha)}`);
});

test("disk full is one line naming the repo, the file and the path", async () => {
  const o = opts();
  const sha = sha256(oc["open_clip_model.safetensors"]);
  const blobs = path.join(o.cacheDir!, "models--org--vit-tiny", "blobs");
  fs.mkdirSync(blobs, { recursive: true });
  // writes to /dev/full fail with ENOSPC, as on a full disk
  fs.symlinkSync("/dev/full", path.join(blobs, `${sha}.incomplete`));
  await assert.rejects(pullRepo("org/vit-tiny", o), /^UserError: hf-hub:org\/vit-tiny file open_clip_model\.safetensors: disk full writing .*\.incomplete \(14795244 bytes needed; free space or set HF_HUB_CACHE\)$/);
});
