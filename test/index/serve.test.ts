/** @file `clip serve --db`: the server's search routes run on the LanceDB index (same results as the library), images by id, /health. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ClipModel } from "../../src/clip/model.js";
import { indexSources, openIndex, search, type ClipIndex } from "../../src/index/index.js";
import { CLI } from "../helpers/shared.js";
import { flickrImages, tempDir, VIT_TINY } from "./helpers.js";

let dir: string;
let server: ChildProcess;
let base: string;
let model: ClipModel;
let index: ClipIndex;

before(async () => {
  dir = tempDir("serve");
  const photos = path.join(dir, "photos");
  fs.mkdirSync(photos);
  (await flickrImages(6)).forEach((b, i) => fs.writeFileSync(path.join(photos, `p${i}.jpg`), b));
  model = await ClipModel.load(VIT_TINY);
  index = await openIndex(path.join(dir, "db"));
  await indexSources(index, model, [photos]);
  server = spawn(process.execPath, [CLI, "serve", "--model", VIT_TINY, "--db", path.join(dir, "db"), "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  base = await new Promise<string>((resolve, reject) => {
    let out = "";
    server.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/[^/\s]+)\//.exec(out);
      if (m) resolve(m[1]!);
    });
    server.on("exit", (code) => reject(new Error(`clip serve exited with ${code}`)));
  });
});

after(async () => {
  server.kill("SIGTERM");
  await model.dispose();
  index.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("GET /v1/search returns the library's results; /v1/images/:id the file; /health the index", async () => {
  const r = (await (await fetch(`${base}/v1/search?q=${encodeURIComponent("a dog in the snow")}&k=4`)).json()) as { results: { id: string; score: number; path: string }[] };
  const lib = await search(index, model, { text: "a dog in the snow", k: 4 });
  assert.deepEqual(r.results.map((h) => h.id), lib.results.map((h) => h.id));
  r.results.forEach((h, i) => assert.ok(Math.abs(h.score - lib.results[i]!.score) < 1e-6));
  const img = await fetch(`${base}/v1/images/${r.results[0]!.id}`);
  assert.equal(img.status, 200);
  assert.deepEqual(new Uint8Array(await img.arrayBuffer()), new Uint8Array(fs.readFileSync(r.results[0]!.path)));
  const health = (await (await fetch(`${base}/health`)).json()) as { search: { images: number } };
  assert.equal(health.search.images, 6);
  const bad = await fetch(`${base}/v1/search?q=x&where=${encodeURIComponent("nope = 1")}`);
  assert.equal(bad.status, 400);
});
