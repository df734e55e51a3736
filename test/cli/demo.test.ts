/** @file The offline main job end to end, shrunk: synth world -> training -> zero-shot and retrieval report. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { DEMO_CONFIG, DEMO_RESNET_CONFIG } from "../../src/models/clip/presets.js";
import { CLI } from "../helpers/shared.js";

const run = promisify(execFile);

test("clip demo trains on the procedural world and reports what it learned", async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "clip-demo-"));
  try {
    const { stdout } = await run(process.execPath, [CLI, "demo", "--out", out, "--steps", "4", "--n", "200", "--batch-size", "16", "--eval-n", "32", "--json"], {
      env: { ...process.env, CLIP_NO_PROGRESS: "1" },
    });
    const doc = JSON.parse(stdout) as { checkpoint: string; steps: number; zeroshot_top1: Record<string, number>; retrieval: Record<string, number> };
    assert.equal(doc.steps, 4);
    assert.deepEqual(Object.keys(doc.zeroshot_top1).sort(), ["heldout_color", "heldout_count", "heldout_shape", "seen_color", "seen_count", "seen_shape"]);
    for (const v of Object.values(doc.zeroshot_top1)) assert.ok(v >= 0 && v <= 1);
    assert.ok(doc.retrieval["t2i_R@1"] >= 0 && doc.retrieval["i2t_R@10"] <= 1);
    // the checkpoint it leaves is usable by the other commands
    const emb = JSON.parse((await run(process.execPath, [CLI, "embed", "--model", doc.checkpoint, "--text", "a red star", "--json"])).stdout) as { text_embeddings: number[][] };
    assert.equal(emb.text_embeddings[0].length, 128);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("clip demo's own model is recipes/demo-rn16.json, and the demo trains it unless --config names another", async () => {
  const recipe = (name: string): unknown => JSON.parse(fs.readFileSync(path.resolve("recipes", name), "utf8"));
  assert.deepEqual(DEMO_RESNET_CONFIG, recipe("demo-rn16.json"));
  // the browser demo's ViT (clip demo's model before the ResNet), as a recipe for --config
  assert.deepEqual(DEMO_CONFIG, recipe("demo-vit.json"));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "clip-demo-default-"));
  try {
    const { stdout } = await run(process.execPath, [CLI, "demo", "--out", out, "--steps", "2", "--n", "200", "--batch-size", "16", "--eval-n", "16", "--json"], {
      env: { ...process.env, CLIP_NO_PROGRESS: "1" },
    });
    const doc = JSON.parse(stdout) as { checkpoint: string };
    const saved = JSON.parse(fs.readFileSync(path.join(doc.checkpoint, "open_clip_config.json"), "utf8")) as { model_cfg: { vision_cfg: Record<string, unknown> } };
    // open_clip's writer adds its other keys (patch_size: null for a ResNet); the demo's own are kept
    for (const [k, v] of Object.entries(DEMO_RESNET_CONFIG.model_cfg.vision_cfg)) assert.deepEqual(saved.model_cfg.vision_cfg[k], v, k);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("clip demo --config trains the named model (recipes/demo-rn16.json: a ResNet) and refuses a broken file in one line", async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "clip-demo-cfg-"));
  try {
    const recipe = path.resolve("recipes/demo-rn16.json");
    const { stdout } = await run(process.execPath, [CLI, "demo", "--out", out, "--config", recipe, "--steps", "2", "--n", "200", "--batch-size", "16", "--eval-n", "16", "--json"], {
      env: { ...process.env, CLIP_NO_PROGRESS: "1" },
    });
    const doc = JSON.parse(stdout) as { checkpoint: string; steps: number };
    assert.equal(doc.steps, 2);
    const saved = JSON.parse(fs.readFileSync(path.join(doc.checkpoint, "open_clip_config.json"), "utf8")) as { model_cfg: { vision_cfg: { layers: unknown; width: number } } };
    assert.deepEqual(saved.model_cfg.vision_cfg.layers, [1, 1, 1, 1], "a ModifiedResNet image tower");
    assert.equal(saved.model_cfg.vision_cfg.width, 16);
    const bad = path.join(out, "bad.json");
    fs.writeFileSync(bad, "{ not json");
    const err = await run(process.execPath, [CLI, "demo", "--out", out, "--config", bad, "--steps", "2"]).then(
      () => assert.fail("a broken --config was accepted"),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 2);
    assert.match(err.stderr, /^clip: error: --config .*bad\.json is not valid JSON: /);
    assert.equal(err.stderr.trim().split("\n").length, 1);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("clip demo --captions partial --mono 0.5 trains on that caption mix and share of gray scenes; other values are refused with one line", { timeout: 240_000 }, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "clip-demo-captions-"));
  try {
    const { stdout } = await run(process.execPath, [CLI, "demo", "--out", out, "--captions", "partial", "--mono", "0.5", "--steps", "2", "--n", "200", "--batch-size", "16", "--eval-n", "16", "--json"], {
      maxBuffer: 1 << 24,
    });
    const doc = JSON.parse(stdout) as { steps: number };
    assert.equal(doc.steps, 2);
    const args = JSON.parse(fs.readFileSync(path.join(out, "run", "args.json"), "utf8")) as { data: string };
    assert.match(args.data, /&captions=partial&mono=0\.5$/);
    const err = await run(process.execPath, [CLI, "demo", "--out", out, "--captions", "some", "--steps", "2"]).then(
      () => assert.fail("--captions some was accepted"),
      (e: { code: number; stderr: string }) => e,
    );
    assert.notEqual(err.code, 0);
    // commander's one-line error and its usage hint, no stack trace
    assert.match(err.stderr.split("\n")[0]!, /--captions.*'some' is invalid.*full, partial/);
    assert.doesNotMatch(err.stderr, /\n\s+at /);
    const mono = await run(process.execPath, [CLI, "demo", "--out", out, "--mono", "1.5", "--steps", "2"]).then(
      () => assert.fail("--mono 1.5 was accepted"),
      (e: { code: number; stderr: string }) => e,
    );
    assert.notEqual(mono.code, 0);
    assert.match(mono.stderr.split("\n")[0]!, /--mono.*must be a probability between 0 and 1, got "1\.5"/);
    assert.doesNotMatch(mono.stderr, /\n\s+at /);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
