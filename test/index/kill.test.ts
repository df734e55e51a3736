/**
 * @file Crash safety: `clip index` child processes killed with SIGKILL at seeded random moments,
 * then rerun, end with the same table as an uninterrupted run (same paths, hashes and metadata,
 * vectors within 1e-5, no duplicate rows).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { openIndex, type ImageRow } from "../../src/index/index.js";
import { Rng } from "../../src/util/rng.js";
import { CLI } from "../helpers/shared.js";
import { photoFolder, tempDir, VIT_TINY } from "./helpers.js";

let dir: string;
let photos: string;
let reference: ImageRow[];
const env = { ...process.env, CLIP_NO_PROGRESS: "1" };
const args = (db: string) => [CLI, "index", "--model", VIT_TINY, "--db", db, photos, "--chunk", "2", "--batch", "2", "--threads", "1", "--json"];

async function table(db: string): Promise<ImageRow[]> {
  const index = await openIndex(db);
  try {
    return (await index.rows()).sort((a, b) => (a.path < b.path ? -1 : 1));
  } finally {
    index.close();
  }
}

/** Table versions committed so far (LanceDB writes one manifest per commit). */
function versions(db: string): number {
  try {
    return fs.readdirSync(path.join(db, "images.lance", "_versions")).filter((f) => f.endsWith(".manifest")).length;
  } catch {
    return 0;
  }
}

/**
 * Starts `clip index` and SIGKILLs it `delayMs` after the table has `atVersions` more commits than
 * when it started (so the kill lands while rows are being written, at a seeded point); resolves
 * with whether it was killed before finishing.
 */
function runAndKill(db: string, atVersions: number, delayMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const start = versions(db);
    const child = spawn(process.execPath, args(db), { env, stdio: "ignore" });
    const poll = setInterval(() => {
      if (versions(db) - start >= atVersions) {
        clearInterval(poll);
        setTimeout(() => child.kill("SIGKILL"), delayMs);
      }
    }, 2);
    child.on("exit", (_code, signal) => {
      clearInterval(poll);
      resolve(signal === "SIGKILL");
    });
  });
}

before(async () => {
  dir = tempDir("kill");
  photos = path.join(dir, "photos");
  await photoFolder(photos, 12);
  fs.copyFileSync(path.join(photos, "photo-01.jpg"), path.join(photos, "sub", "same-as-01.jpg"));
  execFileSync(process.execPath, args(path.join(dir, "reference")), { env, stdio: "ignore" });
  reference = await table(path.join(dir, "reference"));
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

for (const seed of [1, 2, 3]) {
  test(`killed with SIGKILL at random moments (seed ${seed}), a rerun gives the uninterrupted table`, async (t) => {
    const db = path.join(dir, `db-${seed}`);
    const rng = new Rng(seed);
    let kills = 0;
    for (let i = 0; i < 2; i++) if (await runAndKill(db, 1 + rng.int(4), Math.round(40 * rng.next()))) kills++;
    t.diagnostic(`${kills} kill(s); rows committed before the rerun: ${fs.existsSync(db) ? (await table(db)).length : 0} of ${reference.length}`);
    const out = JSON.parse(execFileSync(process.execPath, args(db), { env, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
    assert.equal(out.rows, reference.length);
    const got = await table(db);
    assert.equal(new Set(got.map((r) => r.path)).size, got.length, "no duplicate rows");
    assert.deepEqual(got.map(({ vector: _v, ...m }) => m), reference.map(({ vector: _v, ...m }) => m));
    got.forEach((r, i) => r.vector.forEach((x, j) => assert.ok(Math.abs(x - reference[i]!.vector[j]!) < 1e-5, `${r.path}[${j}]`)));
    assert.ok(kills >= 1, "at least one run was killed before it finished");
  });
}
