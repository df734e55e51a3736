/**
 * @file The cache shared with Python's huggingface_hub, both ways, against the local hub: a
 * snapshot Python downloads is read here without a request, and one pulled here is found by Python
 * (offline) and not downloaded again (online). Also checks that the local hub speaks the protocol
 * well enough for huggingface_hub's own client. Needs a Python with huggingface_hub: $HF_PYTHON
 * (default python3); skipped, saying so, where it cannot import it.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { loadCheckpoint } from "../../src/weights/checkpoint.js";
import { pullRepo } from "../../src/weights/hub/pull.js";
import { HubServer } from "../helpers/hub_server.js";
import { openClipFiles, tempCache } from "./fixtures.js";

const PYTHON = process.env.HF_PYTHON ?? "python3";
const probe = spawnSync(PYTHON, ["-c", "import huggingface_hub; print(huggingface_hub.__version__)"], { encoding: "utf8" });
const skip = probe.status === 0 ? false : `no huggingface_hub importable by ${PYTHON} (set HF_PYTHON)`;

const server = new HubServer();
const caches: string[] = [];
let oc: Record<string, Uint8Array>;

before(async () => {
  if (skip) return;
  await server.start();
  oc = openClipFiles();
  server.addRepo("org/vit-tiny", { files: oc });
});
after(async () => {
  if (!skip) await server.stop();
  for (const c of caches) fs.rmSync(c, { recursive: true, force: true });
});

function python(code: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ["-c", code], { encoding: "utf8", env: { ...process.env, HF_ENDPOINT: server.endpoint, HF_TOKEN: "", HF_HUB_DISABLE_TELEMETRY: "1", HF_HUB_DISABLE_PROGRESS_BARS: "1", ...env } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim()),
    );
  });
}

test("a snapshot huggingface_hub downloads is read here as is, without a request", { skip }, async () => {
  const cache = tempCache();
  caches.push(cache);
  const snap = await python(`from huggingface_hub import snapshot_download; print(snapshot_download("org/vit-tiny", cache_dir=${JSON.stringify(cache)}))`, {});
  const log0 = server.log.length;
  const ours = await pullRepo("org/vit-tiny", { cacheDir: cache, offline: true });
  assert.equal(ours.path, snap);
  assert.equal(loadCheckpoint(ours.path).source, "open_clip");
  assert.equal(server.log.length, log0);
  // online: the listing only, every blob already there
  server.cdnBytes.clear();
  await pullRepo("org/vit-tiny", { cacheDir: cache, endpoint: server.endpoint, token: "", offline: false });
  assert.equal(server.cdnBytes.size, 0);
});

test("a snapshot pulled here is found by huggingface_hub offline, and online it downloads nothing", { skip }, async () => {
  const cache = tempCache();
  caches.push(cache);
  const ours = await pullRepo("org/vit-tiny", { cacheDir: cache, endpoint: server.endpoint, token: "", offline: false });
  const code = `from huggingface_hub import hf_hub_download; print(hf_hub_download("org/vit-tiny", "open_clip_model.safetensors", cache_dir=${JSON.stringify(cache)}))`;
  assert.equal(await python(code, { HF_HUB_OFFLINE: "1" }), path.join(ours.path, "open_clip_model.safetensors"));
  server.cdnBytes.clear();
  assert.equal(await python(code, {}), path.join(ours.path, "open_clip_model.safetensors"));
  assert.equal(server.cdnBytes.size, 0, "huggingface_hub found our blob by its ETag");
});
