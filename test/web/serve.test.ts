/** @file The page's static server: isolation headers on every response, content types, no path outside its root, bad requests refused. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { serveStatic } from "../../src/web/serve.node.js";

/** A raw HTTP/1.0 GET (fetch would normalize `..` away); returns the status line and headers. */
function rawGet(url: string, target: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname, () => sock.write(`GET ${target} HTTP/1.0\r\n\r\n`));
    let out = "";
    sock.on("data", (d) => (out += d.toString()));
    sock.on("end", () => resolve(out));
    sock.on("error", reject);
  });
}

test("the server sends the isolation headers, serves files by type, and keeps to its root", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-serve-"));
  fs.mkdirSync(path.join(root, "ort"));
  fs.writeFileSync(path.join(root, "index.html"), "<p>hi</p>");
  fs.writeFileSync(path.join(root, "ort", "x.wasm"), new Uint8Array([0, 97, 115, 109]));
  fs.writeFileSync(path.join(path.dirname(root), `${path.basename(root)}-secret.txt`), "secret");
  const s = await serveStatic(root);
  try {
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(s.url);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(page.headers.get("cross-origin-opener-policy"), "same-origin");
    assert.equal(page.headers.get("cross-origin-embedder-policy"), "require-corp");
    assert.equal(await page.text(), "<p>hi</p>");
    const wasm = await fetch(`${s.url}ort/x.wasm`);
    assert.equal(wasm.headers.get("content-type"), "application/wasm");
    const missing = await fetch(`${s.url}nope.js`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("cross-origin-embedder-policy"), "require-corp");
    assert.match(await rawGet(s.url, `/../${path.basename(root)}-secret.txt`), /^HTTP\/1\.1 404/);
    assert.match(await rawGet(s.url, "/%E0%A4%A"), /^HTTP\/1\.1 400/);
    assert.equal((await fetch(s.url, { method: "POST" })).status, 405);
    assert.ok(s.requests.includes("/ort/x.wasm"));
  } finally {
    await s.close();
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(path.join(path.dirname(root), `${path.basename(root)}-secret.txt`), { force: true });
  }
});
