/** @file `clip train` end to end: the reference 3-step run, and kill + resume equal to an uninterrupted run. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { readSafetensorsFile } from "../../src/weights/files.js";
import { CLI, REFERENCE } from "../helpers/shared.js";

const run = promisify(execFile);
const E2E = path.join(REFERENCE, "train-e2e");
const env = { ...process.env, CLIP_NO_PROGRESS: "1" };

function params(dir: string): Map<string, Float32Array> {
  const t = readSafetensorsFile(path.join(dir, "open_clip_model.safetensors")).tensors;
  return new Map([...t].map(([k, v]) => [k, v.data as Float32Array]));
}

test("clip train on the reference shard lands on the reference parameters", async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "clip-train-"));
  try {
    const save = path.join(out, "run");
    await run(process.execPath, [CLI, "train", "--init", path.join(E2E, "init"), "--data", path.join(E2E, "shard-000000.tar"), "--batch-size", "6", "--steps", "3", "--lr", "5e-4", "--wd", "0.1", "--warmup", "0", "--schedule", "const", "--no-augment", "--no-shuffle", "--save", save], { env });
    const want = readSafetensorsFile(path.join(E2E, "expected.safetensors")).tensors;
    const got = params(path.join(save, "latest"));
    const losses = fs.readFileSync(path.join(save, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { loss: number }).loss);
    const wl = want.get("losses")!.data as Float32Array;
    losses.forEach((l, i) => assert.ok(Math.abs(l - wl[i]) <= 2e-4, `loss ${i}: ${l} vs ${wl[i]}`));
    for (const [k, t] of want) {
      if (k === "losses") continue;
      const g = got.get(k)!;
      let d = 0;
      for (let i = 0; i < g.length; i++) d = Math.max(d, Math.abs(g[i] - (t.data as Float32Array)[i]));
      assert.ok(d <= 2e-4, `${k}: max diff ${d}`);
    }
    assert.ok(fs.existsSync(path.join(save, "plot.svg")));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("a run killed mid-epoch and resumed ends on the same parameters as an uninterrupted run", async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "clip-resume-"));
  const args = (save: string): string[] => [CLI, "train", "--init", path.join(E2E, "init"), "--data", path.join(E2E, "shard-000000.tar"), "--batch-size", "4", "--steps", "7", "--warmup", "2", "--save-every", "1", "--threads", "1", "--seed", "3", "--save", save];
  try {
    const a = path.join(out, "a");
    const b = path.join(out, "b");
    await run(process.execPath, args(a), { env });
    // kill b as soon as its third checkpoint exists (18 samples at 4 a step: mid-epoch)
    const child = spawn(process.execPath, args(b), { env, stdio: "ignore" });
    let gone = false;
    const exited = new Promise((r) => child.on("exit", (code) => ((gone = true), r(code))));
    const target = path.join(b, "checkpoints", "step-000003");
    const deadline = Date.now() + 120_000;
    while (!fs.existsSync(target)) {
      assert.ok(!gone, "the training process exited before its third checkpoint");
      assert.ok(Date.now() < deadline, "no third checkpoint within 120 s");
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    await exited;
    const latest = fs.readlinkSync(path.join(b, "latest"));
    assert.ok(!latest.endsWith("step-000007"), `the run finished before it was killed (${latest})`);
    await run(process.execPath, [CLI, "train", "--resume", b], { env });
    const pa = params(path.join(a, "latest"));
    const pb = params(path.join(b, "latest"));
    for (const [k, v] of pa) assert.deepEqual(pb.get(k), v, k);
    const steps = fs.readFileSync(path.join(b, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => (JSON.parse(l) as { step: number }).step);
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6, 7]);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("clip train explains bad arguments in one line", async () => {
  const fail = async (argv: string[], re: RegExp): Promise<void> => {
    try {
      await run(process.execPath, [CLI, "train", ...argv], { env });
      assert.fail("should have failed");
    } catch (e) {
      const err = (e as { stderr: string }).stderr;
      assert.match(err, re);
      assert.equal(err.trim().split("\n").length, 1, err);
    }
  };
  await fail(["--data", "x.tar", "--batch-size", "4", "--steps", "2"], /--save DIR is required/);
  await fail(["--data", path.join(E2E, "shard-000000.tar"), "--arch", "ViT-B-32", "--batch-size", "4", "--steps", "1", "--save", path.join(os.tmpdir(), "never")], /needs a vocabulary/);
  await fail(["--resume", "/nonexistent/run"], /no args.json/);
  await fail(["--data", path.join(E2E, "shard-000000.tar"), "--init", path.join(E2E, "init"), "--batch-size", "2", "--accum-freq", "2", "--steps", "1", "--captions-per-image", "2", "--save", path.join(os.tmpdir(), "never")], /--captions-per-image 2 needs --accum-freq 1/);
  const broken = fs.mkdtempSync(path.join(os.tmpdir(), "clip-train-broken-"));
  try {
    fs.writeFileSync(path.join(broken, "args.json"), '{"steps": 3,');
    await fail(["--resume", broken], /args\.json is not valid JSON/);
    fs.writeFileSync(path.join(broken, "args.json"), "[1, 2]");
    await fail(["--resume", broken], /args\.json is not a JSON object of training arguments/);
  } finally {
    fs.rmSync(broken, { recursive: true, force: true });
  }
});

test("clip train refuses crop ranges that are not MIN,MAX", async () => {
  for (const bad of ["0.5", "0,1", "0.9,0.5", "0.5,1.5", "a,b"]) {
    const r = await run(process.execPath, [CLI, "train", "--aug-scale", bad], { env }).then(
      () => assert.fail(`--aug-scale ${bad} should fail`),
      (e: { stderr: string; code: number }) => e,
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`--aug-scale must be two numbers MIN,MAX with 0 < MIN <= MAX <= 1, got "${bad.replace(".", "\\.")}"`));
  }
  const r = await run(process.execPath, [CLI, "train", "--aug-ratio", "2,1"], { env }).then(
    () => assert.fail("--aug-ratio 2,1 should fail"),
    (e: { stderr: string }) => e,
  );
  assert.match(r.stderr, /--aug-ratio must be two numbers MIN,MAX/);
  for (const bad of ["1.5", "-0.1", "x", ""]) {
    const f = await run(process.execPath, [CLI, "train", "--aug-hflip", bad], { env }).then(
      () => assert.fail(`--aug-hflip ${bad} should fail`),
      (e: { stderr: string }) => e,
    );
    assert.match(f.stderr, /--aug-hflip must be a probability between 0 and 1/);
    const g = await run(process.execPath, [CLI, "train", "--aug-gray", bad], { env }).then(
      () => assert.fail(`--aug-gray ${bad} should fail`),
      (e: { stderr: string }) => e,
    );
    assert.match(g.stderr, /--aug-gray must be a probability between 0 and 1/);
  }
  const k = await run(process.execPath, [CLI, "train", "--captions-per-image", "0"], { env }).then(
    () => assert.fail("--captions-per-image 0 should fail"),
    (e: { stderr: string }) => e,
  );
  assert.match(k.stderr, /--captions-per-image must be an integer >= 1, got "0"/);
  for (const bad of ["1", "-0.1", "x", ""]) {
    const e = await run(process.execPath, [CLI, "train", "--label-smoothing", bad], { env }).then(
      () => assert.fail(`--label-smoothing ${bad} should fail`),
      (err: { stderr: string }) => err,
    );
    assert.match(e.stderr, new RegExp(`--label-smoothing must be a number >= 0 and < 1, got "${bad.replace(".", "\\.")}"`));
  }
  for (const bad of ["1", "0", "1.5", "x"]) {
    const e = await run(process.execPath, [CLI, "train", "--ema", bad], { env }).then(
      () => assert.fail(`--ema ${bad} should fail`),
      (err: { stderr: string }) => err,
    );
    assert.match(e.stderr, new RegExp(`--ema must be between 0 and 1 \\(exclusive\\), got "${bad.replace(".", "\\.")}"`));
  }
});
