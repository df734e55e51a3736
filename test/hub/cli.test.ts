/** @file `clip pull` and `--model hf-hub:...` end to end against the local hub: parity, open_clip names, concurrency, offline, errors. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { readSafetensorsFile } from "../../src/weights/files.js";
import { HubServer } from "../helpers/hub_server.js";
import { REFERENCE } from "../helpers/shared.js";
import { VIT, hfFiles, openClipFiles, tempCache } from "./fixtures.js";
import { runClip, type Run } from "../helpers/cli.js";

const server = new HubServer();
const caches: string[] = [];
let oc: Record<string, Uint8Array>;

before(async () => {
  await server.start();
  oc = openClipFiles();
  server.addRepo("org/vit-tiny", { files: oc });
  server.addRepo("org/vit-tiny-hf", { files: hfFiles() });
  server.addRepo("org/private", { files: oc, token: "hf_secret" });
  // as timm's repos of OpenAI's weights: open_clip files, no tokenizer (open_clip uses its bundled BPE)
  const { "bpe_simple_vocab_16e6.txt.gz": bpe, ...weights } = oc;
  server.addRepo("timm/vit_base_patch32_clip_224.openai", { files: weights });
  server.addRepo("openai/clip-vit-base-patch32", { files: { "bpe_simple_vocab_16e6.txt.gz": bpe } });
});
after(async () => {
  await server.stop();
  for (const c of caches) fs.rmSync(c, { recursive: true, force: true });
});

/** Runs the CLI asynchronously (the hub answers from this process) against the test hub. */
function clip(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runClip(args, { HF_ENDPOINT: server.endpoint, HF_TOKEN: "", HF_TOKEN_PATH: "/nonexistent/token", HF_HUB_OFFLINE: "", CLIP_HUB_BACKOFF_MS: "5", ...env });
}

function newCache(): string {
  const c = tempCache();
  caches.push(c);
  return c;
}

function cosines(got: number[][], want: Float32Array): number[] {
  const d = got[0].length;
  return got.map((row, r) => {
    let dot = 0;
    let a = 0;
    let b = 0;
    row.forEach((x, j) => {
      const y = want[r * d + j];
      dot += x * y;
      a += x * x;
      b += y * y;
    });
    return dot / Math.sqrt(a * b);
  });
}

const e2e = JSON.parse(fs.readFileSync(path.join(VIT, "e2e.json"), "utf8")) as { images: string[]; texts: string[] };
const ref = readSafetensorsFile(path.join(VIT, "e2e.safetensors")).tensors;

for (const repo of ["org/vit-tiny", "org/vit-tiny-hf"]) {
  test(`clip pull ${repo} --json, then clip embed --model hf-hub:${repo} matches the reference`, async () => {
    const cache = newCache();
    const pulled = await clip(["pull", repo, "--json"], { HF_HUB_CACHE: cache });
    assert.equal(pulled.code, 0, pulled.stderr);
    const doc = JSON.parse(pulled.stdout) as { path: string; repo: string; commit: string };
    assert.equal(doc.repo, repo);
    assert.match(doc.commit, /^[0-9a-f]{40}$/);
    assert.equal(doc.path, path.join(cache, `models--${repo.replace("/", "--")}`, "snapshots", doc.commit));
    const log0 = server.log.length;
    const args = ["embed", "--model", `hf-hub:${repo}`, "--raw", "--json"];
    for (const f of e2e.images) args.push("--image", path.join(REFERENCE, "images", f));
    for (const t of e2e.texts) args.push("--text", t);
    const out = await clip(args, { HF_HUB_CACHE: cache });
    assert.equal(out.code, 0, out.stderr);
    const emb = JSON.parse(out.stdout) as { image_embeddings: number[][]; text_embeddings: number[][]; logits_per_image: number[][] };
    for (const c of cosines(emb.image_embeddings, ref.get("image_features")!.data as Float32Array)) assert.ok(c >= 0.99999, `image cosine ${c}`);
    for (const c of cosines(emb.text_embeddings, ref.get("text_features")!.data as Float32Array)) assert.ok(c >= 0.99999, `text cosine ${c}`);
    const logits = ref.get("logits_per_image")!.data as Float32Array;
    emb.logits_per_image.flat().forEach((v, i) => assert.ok(Math.abs(v - logits[i]) < 1e-3, `logit ${i}: ${v} vs ${logits[i]}`));
    // the embed found everything in the cache: one listing request, no file fetched
    assert.deepEqual(server.log.slice(log0).map((l) => l.method), ["GET"]);
  });
}

test("clip embed --model ViT-B-32 --pretrained openai: open_clip's name resolves to its hub repo; the tokenizer comes from OpenAI's", async () => {
  const cache = newCache();
  const out = await clip(["embed", "--model", "ViT-B-32", "--pretrained", "openai", "--raw", "--json", "--text", e2e.texts[0]], { HF_HUB_CACHE: cache });
  assert.equal(out.code, 0, out.stderr);
  const emb = JSON.parse(out.stdout) as { text_embeddings: number[][] };
  const c = cosines(emb.text_embeddings, ref.get("text_features")!.data as Float32Array)[0];
  assert.ok(c >= 0.99999, `text cosine ${c}`);
  assert.ok(fs.existsSync(path.join(cache, "models--timm--vit_base_patch32_clip_224.openai")));
  assert.ok(fs.existsSync(path.join(cache, "models--openai--clip-vit-base-patch32")));
  // clip pull of a name fetches the tokenizer it needs too, so that it then works offline
  const cache2 = newCache();
  const pulled = await clip(["pull", "ViT-B-32", "--pretrained", "openai", "--json"], { HF_HUB_CACHE: cache2 });
  assert.equal(pulled.code, 0, pulled.stderr);
  assert.match((JSON.parse(pulled.stdout) as { repo: string }).repo, /^timm\/vit_base_patch32_clip_224\.openai$/);
  const off = await clip(["embed", "--model", "ViT-B-32", "--pretrained", "openai", "--raw", "--json", "--text", e2e.texts[0]], { HF_HUB_CACHE: cache2, HF_HUB_OFFLINE: "1" });
  assert.equal(off.code, 0, off.stderr);
  const offEmb = JSON.parse(off.stdout) as { text_embeddings: number[][] };
  // --out: a plain directory with the checkpoint and the tokenizer it uses
  const plain = path.join(cache2, "plain");
  const copied = await clip(["pull", "ViT-B-32", "--pretrained", "openai", "--out", plain], { HF_HUB_CACHE: cache2, HF_HUB_OFFLINE: "1" });
  assert.equal(copied.code, 0, copied.stderr);
  assert.equal(copied.stdout, `${plain}\n`);
  assert.deepEqual(fs.readdirSync(plain).sort(), ["bpe_simple_vocab_16e6.txt.gz", "open_clip_config.json", "open_clip_model.safetensors"]);
  assert.ok(!fs.lstatSync(path.join(plain, "open_clip_model.safetensors")).isSymbolicLink());
  assert.ok(cosines(offEmb.text_embeddings, ref.get("text_features")!.data as Float32Array)[0] >= 0.99999);
  const bad = await clip(["embed", "--model", "ViT-B-32", "--pretrained", "nope", "--text", "x"], { HF_HUB_CACHE: cache });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^clip: error: ViT-B-32 has no pretrained tag "nope"; known: openai, laion400m_e31, .*\n$/);
});

test("two concurrent pulls of one repo end with one correct snapshot and one transfer", async () => {
  const cache = newCache();
  server.cdnBytes.clear();
  server.faults = { cdnDelayMs: 200 };
  const [a, b] = await Promise.all([clip(["pull", "org/vit-tiny", "--json"], { HF_HUB_CACHE: cache }), clip(["pull", "org/vit-tiny", "--json"], { HF_HUB_CACHE: cache })]);
  server.faults = {};
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(JSON.parse(a.stdout).path, JSON.parse(b.stdout).path);
  assert.match(a.stderr + b.stderr, /another process is downloading it; waiting/, "the pulls overlapped");
  const snap = JSON.parse(a.stdout).path as string;
  for (const [f, bytes] of Object.entries(oc)) assert.deepEqual(fs.readFileSync(path.join(snap, f)), Buffer.from(bytes), f);
  const total = [...server.cdnBytes.values()].reduce((s, n) => s + n, 0);
  const lfs = oc["open_clip_model.safetensors"].length + oc["bpe_simple_vocab_16e6.txt.gz"].length;
  assert.equal(total, lfs, "each blob crossed the wire once");
  const blobs = fs.readdirSync(path.join(cache, "models--org--vit-tiny", "blobs"));
  assert.equal(blobs.length, 3);
  assert.ok(!fs.readdirSync(path.join(cache, ".locks", "models--org--vit-tiny")).some((f) => f.endsWith(".clip-ts")), "locks released");
});

test("HF_HUB_OFFLINE=1 with the server stopped: the cache serves, a missing repo is one line", async () => {
  const hub = new HubServer();
  await hub.start();
  hub.addRepo("org/vit-tiny", { files: oc });
  const cache = newCache();
  const env = { HF_HUB_CACHE: cache, HF_ENDPOINT: hub.endpoint };
  assert.equal((await clip(["pull", "org/vit-tiny"], env)).code, 0);
  await hub.stop();
  const off = { ...env, HF_HUB_OFFLINE: "1" };
  const out = await clip(["embed", "--model", "hf-hub:org/vit-tiny", "--text", "a photo of a cat", "--json"], off);
  assert.equal(out.code, 0, out.stderr);
  assert.equal((JSON.parse(out.stdout) as { text_embeddings: number[][] }).text_embeddings[0].length, 32);
  const missing = await clip(["pull", "org/other"], off);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^clip: error: HF_HUB_OFFLINE=1: hf-hub:org\/other \(revision main\) is not in the cache .*\n$/);
});

test("401, 404, 500 and a reset connection: one clear line each, exit 2, no stack trace", async () => {
  const cache = newCache();
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["401", ["pull", "org/private"], {}, /hf-hub:org\/private: repository not found, or private \(HTTP 401 RepoNotFound\): check the id, and set HF_TOKEN if it is gated or private/],
    ["404", ["pull", "org/missing"], { HF_TOKEN: "hf_other" }, /hf-hub:org\/missing: repository not found, or private \(HTTP 404 RepoNotFound\)/],
    ["500", ["embed", "--model", "hf-hub:org/vit-tiny", "--text", "x"], {}, /hf-hub:org\/vit-tiny.*server error HTTP 500 \(gave up after 5 tries\)/],
    ["reset", ["pull", "org/vit-tiny"], {}, /hf-hub:org\/vit-tiny: connection to http:\/\/127\.0\.0\.1:\d+ failed \(ECONNRESET\) \(gave up after 5 tries\)/],
  ];
  for (const [name, args, env, want] of cases) {
    server.faults = name === "500" ? { errorCount: 1000 } : name === "reset" ? { reset: true } : {};
    const r = await clip(args, { HF_HUB_CACHE: cache, ...env });
    server.faults = {};
    assert.equal(r.code, 2, `${name}: ${r.stderr}`);
    assert.equal(r.stdout, "", name);
    const lines = r.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("clip: warning:"));
    assert.equal(lines.length, 1, `${name}: ${r.stderr}`);
    assert.match(lines[0], /^clip: error: /, name);
    assert.match(lines[0], want, name);
    assert.doesNotMatch(r.stderr, /\n\s+at /, name);
  }
  // the token never shows in a message
  const withToken = await clip(["pull", "org/missing"], { HF_HUB_CACHE: cache, HF_TOKEN: "hf_other" });
  assert.doesNotMatch(withToken.stderr, /hf_other/);
});
