import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { UserError } from "../../src/errors.js";
import { loadCheckpoint, saveCheckpoint, saveHfCheckpoint } from "../../src/weights/checkpoint.js";
import { type DownloadProgress, cachePath, downloadCheckpoint, downloadFile, fileUrl } from "../../src/weights/download.js";
import { parseModelCfg } from "../../src/models/clip/config.js";
import { initState } from "../../src/models/clip/init.js";
import { REFERENCE } from "../helpers/shared.js";

// a small ViT CLIP, so the transfers stay fast
const config = parseModelCfg({
  embed_dim: 16,
  quick_gelu: true,
  vision_cfg: { image_size: 16, layers: 1, width: 32, patch_size: 8, head_width: 16 },
  text_cfg: { context_length: 8, vocab_size: 100, width: 32, heads: 2, layers: 1 },
});
const state = initState(config, { seed: 3 });

interface Served {
  base: string;
  requests: { url: string; range?: string }[];
  close(): Promise<void>;
}

/** Serves ROOT/<repo>/resolve/<rev>/<file> from ROOT/<repo>/<file>, with Range support, like a hub. */
async function serve(root: string, opts: { cutAfter?: number } = {}): Promise<Served> {
  const requests: Served["requests"] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url!, range: req.headers.range });
    const m = /^\/(.+)\/resolve\/[^/]+\/(.+)$/.exec(decodeURIComponent(req.url!));
    const file = m ? path.join(root, m[1], m[2]) : "";
    if (!m || !fs.existsSync(file)) {
      res.writeHead(404).end("not found");
      return;
    }
    const data = fs.readFileSync(file);
    const r = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    let start = 0;
    if (r) {
      start = Number(r[1]);
      if (start >= data.length) {
        res.writeHead(416, { "content-range": `bytes */${data.length}` }).end();
        return;
      }
      res.writeHead(206, { "content-range": `bytes ${start}-${data.length - 1}/${data.length}`, "content-length": data.length - start });
    } else {
      res.writeHead(200, { "content-length": data.length });
    }
    const body = data.subarray(start);
    if (opts.cutAfter !== undefined && body.length > opts.cutAfter) {
      // simulate a dropped connection mid-file
      res.write(body.subarray(0, opts.cutAfter), () => res.destroy());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "dl-"));
}

test("downloads an open_clip repository into the cache and loads it", async () => {
  const root = tmp();
  const cache = tmp();
  const srv = await serve(root);
  try {
    const src = { config, state };
    saveCheckpoint(path.join(root, "org/vit-tiny"), src.config, src.state, { tokenizerFiles: [path.join(REFERENCE, "vit-tiny/bpe_simple_vocab_16e6.txt.gz")] });
    const progress: DownloadProgress[] = [];
    const dir = await downloadCheckpoint("org/vit-tiny", { baseUrl: srv.base, cacheDir: cache, onProgress: (p) => progress.push(p) });
    assert.equal(dir, cachePath("org/vit-tiny", { cacheDir: cache }));
    const back = loadCheckpoint(dir);
    assert.deepEqual(back.config, src.config);
    assert.deepEqual(back.state.get("token_embedding.weight")!.data, src.state.get("token_embedding.weight")!.data);
    assert.ok(back.tokenizer.bpe);
    const done = progress.filter((p) => p.done).map((p) => p.file);
    assert.deepEqual(done, ["open_clip_config.json", "open_clip_model.safetensors", "bpe_simple_vocab_16e6.txt.gz"]);
    const last = progress.filter((p) => p.file === "open_clip_model.safetensors").at(-1)!;
    assert.equal(last.received, fs.statSync(path.join(root, "org/vit-tiny/open_clip_model.safetensors")).size);
    assert.ok(!fs.readdirSync(dir).some((f) => f.endsWith(".part")));
    // a second call finds everything cached: only the absent optional files are asked for again
    const before = srv.requests.length;
    await downloadCheckpoint("org/vit-tiny", { baseUrl: srv.base, cacheDir: cache });
    const again = srv.requests.slice(before).map((r) => r.url);
    assert.ok(again.every((u) => /vocab\.json|merges\.txt/.test(u)), again.join(" "));
  } finally {
    await srv.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(cache, { recursive: true, force: true });
  }
});

test("falls back to the Hugging Face layout", async () => {
  const root = tmp();
  const cache = tmp();
  const srv = await serve(root);
  try {
    const src = { config, state };
    saveHfCheckpoint(path.join(root, "hf/tiny"), src.config, src.state);
    const dir = await downloadCheckpoint("hf/tiny", { baseUrl: srv.base, cacheDir: cache });
    const back = loadCheckpoint(dir);
    assert.equal(back.source, "hf");
    assert.deepEqual(back.config, src.config);
    await assert.rejects(downloadCheckpoint("hf/none", { baseUrl: srv.base, cacheDir: cache }), (e: Error) => e instanceof UserError && /not a CLIP checkpoint repository/.test(e.message));
  } finally {
    await srv.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(cache, { recursive: true, force: true });
  }
});

test("an interrupted download leaves only a .part file and resumes with a Range request", async () => {
  const root = tmp();
  const cache = tmp();
  const payload = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);
  fs.mkdirSync(path.join(root, "r/x"), { recursive: true });
  fs.writeFileSync(path.join(root, "r/x/blob.bin"), payload);
  const dest = path.join(cache, "blob.bin");
  const cut = await serve(root, { cutAfter: 100_000 });
  try {
    await assert.rejects(downloadFile(fileUrl("r/x", "blob.bin", { baseUrl: cut.base }), dest), UserError);
  } finally {
    await cut.close();
  }
  assert.equal(fs.existsSync(dest), false, "never a partial file under the final name");
  const partial = fs.statSync(`${dest}.part`).size;
  assert.ok(partial > 0 && partial < payload.length, `partial ${partial}`);
  const srv = await serve(root);
  try {
    const seen: DownloadProgress[] = [];
    await downloadFile(fileUrl("r/x", "blob.bin", { baseUrl: srv.base }), dest, { onProgress: (p) => seen.push(p) });
    assert.equal(srv.requests[0].range, `bytes=${partial}-`);
    assert.equal(seen[0].received, partial);
    assert.equal(seen.at(-1)!.total, payload.length);
    assert.ok(Buffer.from(payload).equals(fs.readFileSync(dest)));
    assert.equal(fs.existsSync(`${dest}.part`), false);
    // a .part that is already complete is finished by the server's 416
    fs.renameSync(dest, `${dest}.part`);
    await downloadFile(fileUrl("r/x", "blob.bin", { baseUrl: srv.base }), dest);
    assert.ok(Buffer.from(payload).equals(fs.readFileSync(dest)));
    await assert.rejects(downloadFile(fileUrl("r/x", "missing.bin", { baseUrl: srv.base }), path.join(cache, "m")), /not found: http/);
  } finally {
    await srv.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(cache, { recursive: true, force: true });
  }
});

test("file URLs follow the hub's resolve scheme", () => {
  assert.equal(fileUrl("timm/vit_b32.openai", "open_clip_model.safetensors", { baseUrl: "https://h.example/" }), "https://h.example/timm/vit_b32.openai/resolve/main/open_clip_model.safetensors");
  assert.equal(fileUrl("a/b", "x y.json", { baseUrl: "http://l", revision: "v1" }), "http://l/a/b/resolve/v1/x%20y.json");
});
