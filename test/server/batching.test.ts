/**
 * @file Dynamic batching: the Batcher's rules (coalescing, own rows, bounded queue, deadlines,
 * one bad job failing alone) and the server's: concurrent requests make fewer model calls than
 * requests and each caller gets its own rows.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Batcher } from "../../src/server/batcher.js";
import { HttpError } from "../../src/server/http_error.js";
import { UserError } from "../../src/errors.js";
import { b64, cosine, countingModel, imageBytes, IMAGE_FILES, loadModel, postJson, row, start } from "./helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("Batcher: concurrent jobs share one call, keep their own outputs, and a full queue refuses with 503", async () => {
  const calls: number[][] = [];
  let started = (): void => undefined;
  const b = new Batcher<number, number>(
    "t",
    async (xs) => {
      calls.push(xs);
      started();
      await sleep(20);
      return xs.map((x) => x * 10);
    },
    { maxBatch: 8, maxWaitMs: 5, maxQueue: 4, timeoutMs: 5000 },
  );
  const r = await Promise.all([b.submit([1]), b.submit([2, 3]), b.submit([4])]);
  assert.deepEqual(r, [[10], [20, 30], [40]]);
  assert.deepEqual(calls, [[1, 2, 3, 4]]);

  // while one call runs, 4 jobs wait; the 5th waiting job is refused
  calls.length = 0;
  const running = new Promise<void>((r) => (started = r));
  const first = b.submit([0]);
  await running;
  const waiting = [b.submit([1]), b.submit([2]), b.submit([3]), b.submit([4])];
  await assert.rejects(b.submit([5]), (e: HttpError) => e.statusCode === 503 && /queue is full/.test(e.message));
  assert.deepEqual(await first, [0]);
  assert.deepEqual(await Promise.all(waiting), [[10], [20], [30], [40]]);
  assert.deepEqual(calls, [[0], [1, 2, 3, 4]]);
});

test("Batcher: maxBatch splits at whole jobs; a job waiting past its deadline gets 504; close drains", async () => {
  const calls: number[][] = [];
  const b = new Batcher<number, number>(
    "t",
    async (xs) => {
      calls.push(xs);
      await sleep(60);
      return xs;
    },
    { maxBatch: 3, maxWaitMs: 1, maxQueue: 100, timeoutMs: 150 },
  );
  const jobs = [b.submit([1, 2]), b.submit([3, 4]), b.submit([5])];
  assert.deepEqual(await Promise.all(jobs), [[1, 2], [3, 4], [5]]);
  assert.deepEqual(calls, [[1, 2], [3, 4, 5]]);

  // the fourth job would start after three 60 ms calls: past its 150 ms, so it is dropped from the queue
  calls.length = 0;
  const a = b.submit([1, 2, 3]);
  const c = b.submit([4, 5, 6]);
  const late = b.submit([7]);
  const late2 = b.submit([8, 9, 10]);
  late.catch(() => undefined);
  await assert.rejects(late2, (e: HttpError) => e.statusCode === 504 && /no answer within 150 ms/.test(e.message));
  assert.deepEqual(await a, [1, 2, 3]);
  assert.deepEqual(await c, [4, 5, 6]);
  await Promise.allSettled([late]);
  const closing = b.close();
  await assert.rejects(b.submit([1]), (e: HttpError) => e.statusCode === 503);
  await closing;
  assert.ok(!calls.some((xs) => xs.includes(8)), "a timed-out job never reaches the model");
});

test("Batcher: a UserError from one job's input fails that job only", async () => {
  const b = new Batcher<string, string>(
    "t",
    async (xs) => {
      if (xs.includes("bad")) throw new UserError("bad input");
      return xs.map((x) => x.toUpperCase());
    },
    { maxBatch: 16, maxWaitMs: 5, maxQueue: 10, timeoutMs: 1000 },
  );
  const [x, y, z] = await Promise.allSettled([b.submit(["a"]), b.submit(["bad", "c"]), b.submit(["d", "e"])]);
  assert.deepEqual(x, { status: "fulfilled", value: ["A"] });
  assert.equal(y.status, "rejected");
  assert.deepEqual(z, { status: "fulfilled", value: ["D", "E"] });
});

test("Batcher: with maxInFlight 2 a full batch starts while a call runs; a partial one waits for the model", async () => {
  const calls: number[][] = [];
  const log: string[] = [];
  let active = 0;
  let most = 0;
  const b = new Batcher<number, number>(
    "t",
    async (xs) => {
      calls.push(xs);
      log.push(`start ${xs.join(",")}`);
      most = Math.max(most, ++active);
      await sleep(60);
      active--;
      log.push(`end ${xs.join(",")}`);
      return xs.map((x) => -x);
    },
    { maxBatch: 2, maxWaitMs: 1, maxQueue: 100, timeoutMs: 5000, maxInFlight: 2 },
  );
  const first = b.submit([1]);
  await sleep(20); // [1] runs
  const second = b.submit([2]); // alone it is not a full batch: it waits
  await sleep(5);
  assert.deepEqual(calls, [[1]]);
  const third = b.submit([3]); // [2, 3] is full: it starts beside [1]
  const fourth = b.submit([4]); // two calls run: it waits for the model to be free
  assert.deepEqual(await Promise.all([first, second, third, fourth]), [[-1], [-2], [-3], [-4]]);
  assert.deepEqual(calls, [[1], [2, 3], [4]]);
  assert.equal(most, 2);
  assert.deepEqual(log, ["start 1", "start 2,3", "end 1", "end 2,3", "start 4", "end 4"]);
  await b.close();
});

test("server: 48 concurrent /v1/embed calls make fewer model calls than requests, each with its own rows", async () => {
  const model = await loadModel("vit-tiny");
  const counted = countingModel(model);
  // client and server share this process, so requests arrive a few ms apart: wait long enough to gather them
  const s = await start(counted, { batching: { maxBatch: 32, maxWaitMs: 100 } });
  try {
    // distinct texts and images (1 to 3 per request) so any mix-up of rows between callers shows
    const texts = Array.from({ length: 48 }, (_v, i) => `photo number ${i} of a ${["red", "blue", "green"][i % 3]} ${["cat", "truck", "house", "boat"][i % 4]}`);
    const want = await model.embedTexts(texts);
    // warm-up: the first requests compile fastify's route code and the serializers
    for (let i = 0; i < 3; i++) await postJson(`${s.url}/v1/embed`, { texts: ["warm up"], images: [b64(imageBytes(i))] });
    const textCalls0 = counted.calls.text;
    const replies = await Promise.all(texts.map((t) => postJson(`${s.url}/v1/embed`, { texts: [t] })));
    const textCalls = counted.calls.text - textCalls0;
    assert.ok(textCalls < texts.length / 3, `${textCalls} model calls for ${texts.length} requests`);
    replies.forEach((r, i) => {
      assert.equal(r.status, 200);
      const got = (r.json.text_embeddings as number[][])[0]!;
      // its own row, and closer to it than to any other caller's
      const sims = texts.map((_t, j) => cosine(got, row(want, j)));
      assert.ok(sims[i]! >= 0.99999, `request ${i}: cosine ${sims[i]}`);
      assert.equal(sims.indexOf(Math.max(...sims)), i);
    });

    const files = IMAGE_FILES.map((_f, i) => imageBytes(i));
    const wantI = await model.embedImages(files);
    const reqs = Array.from({ length: 24 }, (_v, r) => Array.from({ length: 1 + (r % 3) }, (_w, k) => (r * 5 + k * 3) % files.length));
    const imageCalls0 = counted.calls.image;
    const ri = await Promise.all(reqs.map((idx) => postJson(`${s.url}/v1/embed`, { images: idx.map((i) => b64(files[i]!)) })));
    const imageCalls = counted.calls.image - imageCalls0;
    assert.ok(imageCalls < reqs.length / 2, `${imageCalls} image model calls for ${reqs.length} requests`);
    ri.forEach((r, q) => {
      assert.equal(r.status, 200, JSON.stringify(r.json));
      const rows = r.json.image_embeddings as number[][];
      assert.equal(rows.length, reqs[q]!.length);
      rows.forEach((v, k) => assert.ok(cosine(v, row(wantI, reqs[q]![k]!)) >= 0.99999, `request ${q} image ${k}`));
    });
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`clip_model_calls_total\\{tower="text"\\} ${counted.calls.text}\\n`));
    assert.match(metrics, /clip_batch_size_bucket\{tower="text",le="1"\} \d+/);
    assert.match(metrics, /clip_queue_depth\{tower="image"\} 0/);
    assert.match(metrics, /clip_http_requests_total\{method="POST",route="\/v1\/embed",status="200"\} 75/);
  } finally {
    await s.close();
    await model.dispose();
  }
});

test("server: past the queue bound requests get 503 JSON, the rest are answered", async () => {
  const model = await loadModel("vit-tiny");
  // 50 ms a call, 2 texts a call: 40 requests cannot all wait in a queue of 3
  const s = await start(countingModel(model, 50), { batching: { maxBatch: 2, maxWaitMs: 0, maxQueue: 3 } });
  try {
    const rs = await Promise.all(Array.from({ length: 40 }, (_v, i) => postJson(`${s.url}/v1/embed`, { texts: [`text ${i}`] })));
    const codes = rs.map((r) => r.status);
    assert.ok(codes.includes(503), `statuses ${codes.join(",")}`);
    assert.ok(codes.filter((c) => c === 200).length >= 4);
    for (const r of rs) {
      if (r.status === 503) assert.match(String(r.json.error), /queue is full/);
      else assert.equal(r.status, 200);
    }
  } finally {
    await s.close();
    await model.dispose();
  }
});
