/** @file WebDataset streams: shuffle, exact resume, worker splits, epochs, resampling, .tar.gz, http(s), sizes.json. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { openDataset, writeShards, type DatasetOptions } from "../../src/data/index.js";
import { DATASETS } from "../helpers/shared.js";
import { keys, tmpDir, writeShardSet } from "./helpers.js";

const dir = tmpDir("wds");
writeShardSet(dir, 4, 30); // 120 samples
const SPEC = path.join(dir, "part-{000000..000003}.tar");
const ALL = Array.from({ length: 4 }, (_, s) => Array.from({ length: 30 }, (_, i) => `s${s}k${i}`)).flat();

test("ordered reading yields every sample once, in shard order, with captions and labels", async () => {
  const ds = openDataset(SPEC, { requireCaption: true });
  const got: string[] = [];
  for await (const s of ds) {
    got.push(s.key);
    assert.deepEqual(s.captions, [`caption of ${s.key}`]);
    assert.equal(s.label, Number(s.key.split("k")[1]) % 3);
    assert.equal(s.imageExt, "png");
  }
  assert.deepEqual(got, ALL);
  assert.equal(ds.count(), undefined); // no sizes.json
});

test("shuffle: a permutation of the epoch, deterministic per seed, different across seeds and epochs", async () => {
  const a = await keys(openDataset(SPEC, { shuffle: true, seed: 1, shuffleBuffer: 25 }));
  const b = await keys(openDataset(SPEC, { shuffle: true, seed: 1, shuffleBuffer: 25 }));
  const c = await keys(openDataset(SPEC, { shuffle: true, seed: 2, shuffleBuffer: 25 }));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.notDeepEqual(a, ALL);
  assert.deepEqual([...a].sort(), [...ALL].sort());
  const two = await keys(openDataset(SPEC, { shuffle: true, seed: 1, shuffleBuffer: 25, epochs: 2 }));
  assert.equal(two.length, 240);
  assert.deepEqual(two.slice(0, 120), a);
  assert.deepEqual([...two.slice(120)].sort(), [...ALL].sort());
  assert.notDeepEqual(two.slice(120), a);
});

async function checkResume(spec: string, opts: DatasetOptions, cuts: number[]): Promise<void> {
  const full = await keys(openDataset(spec, opts));
  for (const cut of cuts) {
    const ds = openDataset(spec, opts);
    const head = await keys(ds, cut);
    const saved = JSON.parse(JSON.stringify(ds.position()));
    const rest = await keys(openDataset(spec, { ...opts, position: saved }));
    assert.deepEqual([...head, ...rest], full, `resume after ${cut} of ${full.length}`);
    // the same object also continues where the loop stopped
    assert.deepEqual(await keys(ds), rest);
  }
}

test("resume mid-epoch with shuffle yields exactly the samples not yet seen, in the same order", async () => {
  await checkResume(SPEC, { shuffle: true, seed: 3, shuffleBuffer: 16, epochs: 2 }, [0, 1, 16, 17, 30, 61, 120, 121, 239]);
  await checkResume(SPEC, { shuffle: false, epochs: 2 }, [0, 30, 119, 170]);
  await checkResume(SPEC, { shuffle: true, seed: 9, shuffleBuffer: 500 }, [0, 1, 60, 119]); // buffer larger than the epoch
});

test("resume on flickr8k dev with shuffle buffer 100: exact, and the stats carry over", async () => {
  const spec = path.join(DATASETS, "flickr8k/dev-000000.tar");
  const opts = { shuffle: true, seed: 11, shuffleBuffer: 100 };
  const full = await keys(openDataset(spec, opts));
  const ds = openDataset(spec, opts);
  const head = await keys(ds, 437);
  const pos = JSON.parse(JSON.stringify(ds.position()));
  assert.equal(pos.buffer.length, 99); // full at 100, one just handed out
  const resumed = openDataset(spec, { ...opts, position: pos });
  const rest = await keys(resumed);
  assert.deepEqual([...head, ...rest], full);
  assert.equal(resumed.stats().samples, 1000);
});

test("a position from other data or options is refused with a clear error", async () => {
  const ds = openDataset(SPEC, { shuffle: true, seed: 3 });
  await keys(ds, 5);
  const pos = ds.position();
  assert.throws(() => openDataset(SPEC, { shuffle: true, seed: 4, position: pos }), /another dataset or ordering/);
  assert.throws(() => openDataset(path.join(dir, "part-00000{0,1}.tar"), { shuffle: true, seed: 3, position: pos }), /another dataset or ordering/);
});

async function checkWorkers(spec: string, count: number, opts: DatasetOptions): Promise<void> {
  const parts: string[][] = [];
  for (let index = 0; index < count; index++) parts.push(await keys(openDataset(spec, { ...opts, worker: { index, count } })));
  const all = parts.flat();
  assert.equal(new Set(all).size, all.length, `workers overlap (count ${count})`);
  assert.deepEqual([...all].sort(), [...ALL].sort(), `workers miss samples (count ${count})`);
  for (const p of parts) assert.ok(p.length > 0);
}

test("worker splits are disjoint and complete (by shard, and by sample when shards < workers)", async () => {
  for (const count of [1, 2, 3, 4]) await checkWorkers(SPEC, count, { shuffle: true, seed: 5, shuffleBuffer: 10 });
  for (const count of [5, 7]) await checkWorkers(SPEC, count, { shuffle: true, seed: 5, shuffleBuffer: 10 });
  await checkWorkers(SPEC, 3, {});
  // with shuffle, workers take different shards in different epochs, still disjoint and complete per epoch
  for (const epoch of [0, 1]) {
    const parts: string[] = [];
    for (let index = 0; index < 2; index++) {
      const ks = await keys(openDataset(SPEC, { shuffle: true, seed: 6, epochs: 2, worker: { index, count: 2 } }));
      parts.push(...ks.slice(epoch * 60, epoch * 60 + 60));
    }
    assert.deepEqual([...parts].sort(), [...ALL].sort());
  }
});

test("resampled mode draws shards with replacement forever, deterministically, and resumes", async () => {
  const opts = { resampled: true, seed: 2, shuffle: true, shuffleBuffer: 8 };
  const a = await keys(openDataset(SPEC, opts), 500);
  const b = await keys(openDataset(SPEC, opts), 500);
  assert.equal(a.length, 500);
  assert.deepEqual(a, b);
  assert.ok(new Set(a).size < 500, "samples repeat");
  const ds = openDataset(SPEC, opts);
  const head = await keys(ds, 123);
  const rest = await keys(openDataset(SPEC, { ...opts, position: JSON.parse(JSON.stringify(ds.position())) }), 377);
  assert.deepEqual([...head, ...rest], a);
});

test(".tar.gz shards (made by GNU tar) read like plain ones, and resume inside them", async () => {
  const src = tmpDir("gzsrc");
  for (let i = 0; i < 12; i++) {
    fs.writeFileSync(path.join(src, `${String(i).padStart(3, "0")}.txt`), `caption ${i}`);
    fs.writeFileSync(path.join(src, `${String(i).padStart(3, "0")}.cls`), String(i % 2));
  }
  const gz = path.join(tmpDir("gz"), "data.tar.gz");
  execFileSync("tar", ["-czf", gz, "-C", src, "--sort=name", "."]);
  const opts = { requireImage: false, shuffle: true, shuffleBuffer: 4, seed: 1 };
  const full: string[] = [];
  for await (const s of openDataset(gz, opts)) full.push(`${s.key}:${s.captions[0]}:${s.label}`);
  assert.equal(full.length, 12);
  assert.ok(full.includes("./003:caption 3:1"));
  const ds = openDataset(gz, opts);
  await keys(ds, 5);
  const rest = await keys(openDataset(gz, { ...opts, position: ds.position() }));
  assert.deepEqual(rest.length, 7);
});

test("sizes.json and classnames.txt written by writeShards give count() and classnames", async () => {
  const out = tmpDir("written");
  const samples = (async function* () {
    for await (const s of openDataset(SPEC)) yield s;
  })();
  const res = await writeShards(samples, out, 50, { prefix: "x", classnames: ["a", "b", "c"] });
  assert.deepEqual(res.sizes, { "x-000000.tar": 50, "x-000001.tar": 50, "x-000002.tar": 20 });
  const ds = openDataset(out, { requireLabel: true });
  assert.equal(ds.count(), 120);
  assert.deepEqual(ds.classnames, ["a", "b", "c"]);
  assert.deepEqual(await keys(ds), ALL);
  assert.equal(openDataset(out, { worker: { index: 1, count: 2 } }).count(), 50);
});

/** A static file server over `root`; `ranges` off makes it ignore Range headers. */
async function serve(root: string, ranges: boolean): Promise<{ url: string; close: () => Promise<void>; hits: string[] }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url!, "http://x").pathname));
    hits.push(`${req.url} ${req.headers.range ?? ""}`);
    if (!file.startsWith(root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    const body = fs.readFileSync(file);
    const m = ranges ? /^bytes=(\d+)-$/.exec(req.headers.range ?? "") : null;
    if (m) {
      const start = Number(m[1]);
      res.writeHead(206, { "content-range": `bytes ${start}-${body.length - 1}/${body.length}` }).end(body.subarray(start));
    } else res.writeHead(200).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, hits, close: () => new Promise((r) => server.close(() => r())) };
}

test("http(s) shards: brace URLs stream from a local server, classnames.txt is fetched, resume uses Range", async () => {
  const root = tmpDir("http");
  writeShardSet(root, 2, 10);
  fs.writeFileSync(path.join(root, "classnames.txt"), "zero\none\ntwo\n");
  for (const ranges of [true, false]) {
    const srv = await serve(root, ranges);
    try {
      const spec = `${srv.url}/part-{000000..000001}.tar`;
      const ds = openDataset(spec, { requireLabel: true });
      const got = await keys(ds);
      assert.deepEqual(got, ALL.filter((k) => /^s[01]k\d$/.test(k)));
      assert.deepEqual(ds.classnames, ["zero", "one", "two"]);
      const part = openDataset(spec);
      const head = await keys(part, 13);
      const rest = await keys(openDataset(spec, { position: part.position() }));
      assert.deepEqual([...head, ...rest], got);
      if (ranges) assert.ok(srv.hits.some((h) => /part-000001\.tar bytes=\d+-/.test(h)), "resumed with a Range request");
    } finally {
      await srv.close();
    }
  }
  const srv = await serve(root, true);
  try {
    const ds = openDataset(`${srv.url}/part-{000000..000002}.tar`);
    assert.equal((await keys(ds)).length, 20);
    assert.equal(ds.stats().skipped.unreadable_shard, 1);
    assert.match(ds.stats().messages![0]!, /part-000002\.tar: HTTP 404/);
  } finally {
    await srv.close();
  }
});
