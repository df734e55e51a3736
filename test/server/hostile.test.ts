/**
 * @file Hostile requests: malformed JSON, wrong types, missing fields, undecodable and truncated
 * images, a PNG bomb, oversized bodies, path traversal in every URL form. Each gets a 4xx JSON
 * error naming what was wrong; the server stays up and gives exact answers afterwards.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { ClipModel } from "../../src/clip/model.js";
import { b64, cosine, countingModel, getJson, imageBytes, loadModel, MemoryBackend, pngBomb, postJson, row, start, type Started } from "./helpers.js";

let model: ClipModel;
let counted: ReturnType<typeof countingModel>;
let backend: MemoryBackend;
let s: Started;
const LIMITS = { maxBodyBytes: 2 * 1024 * 1024, maxImageBytes: 1024 * 1024, maxPixels: 4_000_000, maxTexts: 16, maxTextChars: 300 };

before(async () => {
  model = await loadModel("vit-tiny");
  counted = countingModel(model);
  backend = await MemoryBackend.create(model);
  s = await start(counted, { search: backend, limits: LIMITS });
});

after(async () => {
  await s.close();
  await model.dispose();
});

/** A raw request (no URL normalization by the client): status, content type and body. */
function raw(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; text: string }> {
  const u = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode!, type: String(res.headers["content-type"]), text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** The server still answers, and exactly: a text and an image embed as ClipModel embeds them. */
async function stillExact(): Promise<void> {
  const r = await postJson(`${s.url}/v1/embed`, { texts: ["still here"], images: [b64(imageBytes(1))] });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.ok(cosine((r.json.text_embeddings as number[][])[0]!, row(await model.embedTexts(["still here"]), 0)) >= 0.99999);
  assert.ok(cosine((r.json.image_embeddings as number[][])[0]!, row(await model.embedImages([imageBytes(1)]), 0)) >= 0.99999);
}

function expectError(r: { status: number; json: Record<string, unknown> }, status: number, pattern: RegExp, what: string): void {
  assert.equal(r.status, status, `${what}: ${JSON.stringify(r.json)}`);
  assert.equal(Object.keys(r.json).join(), "error", what);
  assert.match(String(r.json.error), pattern, what);
}

test("malformed bodies, wrong types and missing fields: 400 naming the field", async () => {
  const e = `${s.url}/v1/embed`;
  const c = `${s.url}/v1/classify`;
  const cases: [string, unknown, RegExp][] = [
    [e, "{\"texts\": [", /^body: not valid JSON/],
    [e, "", /^body: empty/],
    [e, "[1,2]", /^body: must be object/],
    [e, "null", /^body/],
    [e, {}, /^texts\/images: give at least one/],
    [e, { texts: [] }, /^texts\/images/],
    [e, { texts: "a cat" }, /^texts: must be array/],
    [e, { texts: [1] }, /^texts\[0\]: must be string/],
    [e, { texts: ["a", null] }, /^texts\[1\]: must be string/],
    [e, { images: [{}] }, /^images\[0\]: must be string/],
    [e, { texts: ["a"], extra: true }, /^extra: unknown field/],
    [e, { texts: Array(17).fill("a") }, /^texts: must NOT have more than 16 items/],
    [e, { texts: ["x".repeat(301)] }, /^texts\[0\]: 301 characters, more than the limit of 300/],
    [e, { texts: ["ok", "a ".repeat(100)] }, /^texts\[1\]: .*longer than the context length 77/],
    [e, { images: ["not base64!"] }, /^images\[0\]: not valid base64/],
    [e, { images: [""] }, /^images\[0\]: empty image/],
    [e, { images: [b64(new Uint8Array([1, 2, 3, 4, 5, 6]))] }, /^images\[0\]: .*unsupported or unrecognised format/],
    [e, { images: [b64(imageBytes(0).subarray(0, 20))] }, /^images\[0\]: .*truncated PNG header/],
    [c, { labels: ["a", "b"] }, /^image: required field is missing/],
    [c, { image: b64(imageBytes(0)) }, /^labels: required field is missing/],
    [c, { image: b64(imageBytes(0)), labels: 5 }, /^labels: must be string/],
    [c, { image: b64(imageBytes(0)), labels: "cat" }, /^labels: only one class name/],
    [c, { image: b64(imageBytes(0)), labels: "cat,,dog" }, /^labels: label 2 is empty/],
    [c, { image: b64(imageBytes(0)), labels: ["cat", "cat"] }, /^labels: duplicate class name "cat"/],
    [c, { image: b64(imageBytes(0)), labels: "cat,dog", templates: "nosuchset" }, /^templates: unknown template set "nosuchset"/],
    [c, { image: b64(imageBytes(0)), labels: "cat,dog", templates: ["a {}", "no placeholder"] }, /^templates: template 2 .*no "\{\}" placeholder/],
    [c, { image: b64(imageBytes(0)), labels: "cat,dog", templates: ["../../etc/passwd"] }, /^templates: template 1/],
    [c, { image: b64(imageBytes(0)), labels: Array.from({ length: 30 }, (_v, i) => `class ${i}`), templates: "imagenet" }, /^labels\/templates: 30 labels x 80 templates = 2400 prompts, more than the limit of 2048/],
    [`${s.url}/v1/search`, { q: 5 }, /^q: must be string/],
    [`${s.url}/v1/search`, { q: "x", k: "ten" }, /^k: must be integer/],
    [`${s.url}/v1/search`, { q: "x", where: "1=1" }, /^where: filters are not supported/],
    [`${s.url}/v1/search`, {}, /^q: give a query/],
  ];
  for (const [url, body, pattern] of cases) expectError(await postJson(url, body), 400, pattern, JSON.stringify(body).slice(0, 80));

  for (const [q, pattern] of [
    ["q=a&k=0", /^k: must be an integer from 1 to 1000/],
    ["q=a&k=1.5", /^k: must be an integer/],
    ["q=a&k=abc", /^k: must be a number/],
    ["q=a&min_score=2", /^min_score: must be between -1 and 1/],
    ["q=", /^q: empty query/],
    ["q=a&q=b", /^q: give it once/],
    ["q=a&bogus=1", /^bogus: unknown parameter/],
    ["like=img99", /^like: no image with id img99/],
    ["", /^q: give a query/],
    ["q=a&not=", /^not\[0\]: must be a non-empty string/],
  ] as [string, RegExp][]) {
    expectError(await getJson(`${s.url}/v1/search?${q}`), 400, pattern, q);
  }
  const t = await raw("POST", "/v1/embed", "texts=a", { "content-type": "text/plain" });
  assert.equal(t.status, 415);
  assert.match(JSON.parse(t.text).error, /^content-type: unsupported/);
  await stillExact();
});

test("bad images: undecodable and truncated data fail their own request only; a PNG bomb is refused before decoding", async () => {
  // valid headers, data cut short: found only by decoding, in a batch with good requests
  const png = imageBytes(0);
  const truncated = png.subarray(0, Math.floor(png.length / 2));
  const good = [2, 3, 4].map((i) => postJson(`${s.url}/v1/embed`, { images: [b64(imageBytes(i))] }));
  const bad = postJson(`${s.url}/v1/embed`, { images: [b64(truncated)] });
  const [g, b] = [await Promise.all(good), await bad];
  expectError(b, 400, /^images: .*cannot decode image/, "truncated PNG");
  for (const [k, r] of g.entries()) {
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.ok(cosine((r.json.image_embeddings as number[][])[0]!, row(await model.embedImages([imageBytes(k + 2)]), 0)) >= 0.99999);
  }

  const calls = counted.calls.image;
  const rss = process.memoryUsage.rss();
  const bomb = pngBomb(30000); // 900 MP, 2.7 GB decoded as RGB
  assert.ok(bomb.length < 200_000, `bomb is ${bomb.length} bytes`);
  const t0 = performance.now();
  expectError(await postJson(`${s.url}/v1/embed`, { images: [b64(bomb)] }), 413, /^images\[0\]: image is 30000x30000 = 900000000 pixels, more than the limit of 4000000/, "PNG bomb (JSON)");
  const form = new FormData();
  form.append("image", new Blob([new Uint8Array(bomb)]), "bomb.png");
  form.append("labels", "cat,dog");
  const m = await fetch(`${s.url}/v1/classify`, { method: "POST", body: form });
  expectError({ status: m.status, json: (await m.json()) as Record<string, unknown> }, 413, /^image: image is 30000x30000/, "PNG bomb (multipart)");
  expectError(await postJson(`${s.url}/v1/search`, { image: b64(bomb) }), 413, /^image: image is 30000x30000/, "PNG bomb (search)");
  assert.equal(counted.calls.image, calls, "the bomb never reached the model");
  assert.ok(performance.now() - t0 < 2000);
  assert.ok(process.memoryUsage.rss() - rss < 200 * 1024 * 1024, "no decoded pixels were allocated");
  await stillExact();
});

test("oversized bodies and files: 413 (or the connection closed), and the server stays up", async () => {
  const big = Buffer.alloc(3 * 1024 * 1024, 0x61);
  const json = Buffer.concat([Buffer.from('{"texts": ["'), big, Buffer.from('"]}')]);
  try {
    const r = await raw("POST", "/v1/embed", json, { "content-type": "application/json" });
    assert.equal(r.status, 413);
    assert.match(JSON.parse(r.text).error, /^body: larger than the limit of 2097152 bytes/);
  } catch (e) {
    assert.match((e as NodeJS.ErrnoException).code ?? "", /ECONNRESET|EPIPE/);
  }
  // one image over the per-image limit, inside the body limit
  expectError(await postJson(`${s.url}/v1/embed`, { images: [Buffer.alloc(1100 * 1024).toString("base64")] }), 413, /^images\[0\]: image is larger than the limit of 1048576 bytes/, "big base64");
  const form = new FormData();
  form.append("images", new Blob([Buffer.alloc(1100 * 1024)]), "big.png");
  const m = await fetch(`${s.url}/v1/embed`, { method: "POST", body: form });
  expectError({ status: m.status, json: (await m.json()) as Record<string, unknown> }, 413, /^image: file larger than the limit of 1048576 bytes/, "big upload");
  // files each under the per-image limit, together over the body limit
  const many = new FormData();
  for (let i = 0; i < 3; i++) many.append("images", new Blob([Buffer.alloc(900 * 1024)]), `f${i}.png`);
  const mm = await fetch(`${s.url}/v1/embed`, { method: "POST", body: many });
  expectError({ status: mm.status, json: (await mm.json()) as Record<string, unknown> }, 413, /^body: larger than the limit of 2097152 bytes/, "multipart total");
  const extra = new FormData();
  extra.append("texts", "a");
  extra.append("password", "x");
  const x = await fetch(`${s.url}/v1/embed`, { method: "POST", body: extra });
  expectError({ status: x.status, json: (await x.json()) as Record<string, unknown> }, 400, /^password: unknown form field/, "unknown form field");
  await stillExact();
});

test("path traversal in every URL form: 4xx JSON, nothing outside the index is read", async () => {
  const paths = [
    "/v1/images/../../../etc/passwd",
    "/v1/images/..%2f..%2f..%2fetc%2fpasswd",
    "/v1/images/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/v1/images/%2E%2E%2F%2E%2E%2Fpackage.json",
    "/v1/images/..%5c..%5cpackage.json",
    "/v1/images/%252e%252e%252fpackage.json",
    "/v1/images/..%c0%af..%c0%afetc%c0%afpasswd",
    "/v1/images/img0%00.png",
    "/v1/images/img0.png",
    "/v1/images//etc/passwd",
    "/v1/images/%2Fetc%2Fpasswd",
    "/v1/images/..",
    "/v1/images/.",
    "/v1/images/file:%2F%2F%2Fetc%2Fpasswd",
    "/v1/search?like=../../etc/passwd",
    "/v1/search?like=%2e%2e%2fimg0",
    "/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/app.js/../../package.json",
    "/app.js%2f..%2f..%2fpackage.json",
    "/static/../package.json",
    "/src/web/static/index.html",
    "//etc/passwd",
    "/package.json",
    "/.env",
  ];
  for (const p of paths) {
    const r = await raw("GET", p);
    assert.ok(r.status >= 400 && r.status < 500, `${p}: status ${r.status}`);
    assert.match(r.type, /^application\/json/, p);
    const body = JSON.parse(r.text) as { error: string };
    assert.equal(typeof body.error, "string", p);
    assert.doesNotMatch(r.text, /root:|"dependencies"/, p);
  }
  for (const id of backend.askedIds) assert.match(id, /^[A-Za-z0-9_-]+$/, "only well-formed ids reach the backend");
  const ok = await raw("GET", "/v1/images/img0");
  assert.equal(ok.status, 200);
  assert.equal((await getJson(`${s.url}/v1/images/img9`)).status, 404);
  await stillExact();
});
