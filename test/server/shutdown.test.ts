/**
 * @file `clip serve` as a process: it prints its URL, answers, and on SIGTERM lets the requests
 * in flight finish (200) before it exits 0; bad flags are one line on stderr.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { CLI, REFERENCE } from "../helpers/shared.js";
import { cosine, loadModel, row } from "./helpers.js";

test("clip serve: SIGTERM lets in-flight requests finish, then exits 0", async () => {
  // requests wait up to 500 ms for company: SIGTERM arrives while they wait
  const child = spawn(process.execPath, [CLI, "serve", "--model", path.join(REFERENCE, "vit-tiny"), "--port", "0", "--threads", "1", "--max-wait-ms", "500"], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        const m = /clip serve: (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on("exit", () => reject(new Error(`exited before listening: ${stderr}`)));
    });
    const health = (await (await fetch(`${url}/health`)).json()) as { status: string; model: { embed_dim: number } };
    assert.equal(health.status, "ok");
    const texts = ["one", "two", "three", "four", "five", "six"];
    const inflight = texts.map((t) => fetch(`${url}/v1/embed`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ texts: [t] }) }));
    await new Promise((r) => setTimeout(r, 150));
    child.kill("SIGTERM");
    const replies = await Promise.all(inflight);
    const model = await loadModel("vit-tiny");
    try {
      const want = await model.embedTexts(texts);
      for (const [i, r] of replies.entries()) {
        assert.equal(r.status, 200);
        const got = ((await r.json()) as { text_embeddings: number[][] }).text_embeddings[0]!;
        assert.ok(cosine(got, row(want, i)) >= 0.99999);
      }
    } finally {
      await model.dispose();
    }
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /SIGTERM: finishing in-flight requests/);
    await assert.rejects(fetch(`${url}/health`), "no longer listening");
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
});

test("clip serve: bad flags are one line on stderr", () => {
  for (const [args, pattern] of [
    [["--port", "70000"], /--port must be a port number from 0 to 65535, got "70000"/],
    [["--max-batch", "0"], /--max-batch must be an integer >= 1/],
    [["--max-body-mb", "x"], /--max-body-mb must be a positive number of MiB/],
  ] as [string[], RegExp][]) {
    const r = spawnSync(process.execPath, [CLI, "serve", "--model", path.join(REFERENCE, "vit-tiny"), ...args], { encoding: "utf8" });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, pattern);
  }
  const r = spawnSync(process.execPath, [CLI, "serve", "--model", "/nonexistent/model"], { encoding: "utf8" });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^clip: error: --model \/nonexistent\/model: no such directory\n$/);
});
