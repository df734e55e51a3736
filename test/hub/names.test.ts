/** @file open_clip's pretrained names resolve to hub repositories (no download), and what --model accepts. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PRETRAINED, listPretrained, pretrainedRepo } from "../../src/weights/hub/names.js";
import { parseModelRef } from "../../src/weights/hub/resolve.js";
import { ROOT } from "../helpers/shared.js";

test("every open_clip name + tag resolves to a hub repository id, and the README lists it", () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const pairs = listPretrained();
  assert.ok(pairs.length >= 40, `${pairs.length} pairs`);
  for (const [model, tag] of pairs) {
    const { repo } = pretrainedRepo(model, tag);
    assert.match(repo, /^(timm|laion)\/[\w.-]+$/, `${model} ${tag}`);
    const ref = parseModelRef(model, { pretrained: tag });
    assert.deepEqual(ref, { kind: "hub", repo, layout: "open_clip" });
    assert.ok(readme.includes(`\`${repo}\``), `README lists ${repo}`);
  }
  // OpenAI's nine
  for (const m of ["RN50", "RN101", "RN50x4", "RN50x16", "RN50x64", "ViT-B-32", "ViT-B-16", "ViT-L-14", "ViT-L-14-336"]) assert.ok(PRETRAINED[m].openai, m);
  assert.equal(pretrainedRepo("ViT-B-32", "laion2b_s34b_b79k").repo, "laion/CLIP-ViT-B-32-laion2B-s34B-b79K");
  assert.equal(pretrainedRepo("ViT-B/32", "OpenAI").repo, "timm/vit_base_patch32_clip_224.openai"); // open_clip's spellings
  assert.equal(pretrainedRepo("ViT-B-32-quickgelu", "metaclip_fullcc").repo, "timm/vit_base_patch32_clip_224.metaclip_2pt5b");
  assert.throws(() => pretrainedRepo("ViT-B-32", "laion9"), /ViT-B-32 has no pretrained tag "laion9"; known: openai/);
  assert.throws(() => pretrainedRepo("ViT-Z-1", "openai"), /unknown open_clip model "ViT-Z-1"/);
});

test("--model: a local path wins over every other reading; hub ids in both spellings; names need --pretrained", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ref-"));
  const cwd = process.cwd();
  try {
    process.chdir(tmp);
    fs.mkdirSync("laion/CLIP-ViT-B-32-laion2B-s34B-b79K", { recursive: true });
    fs.mkdirSync("ViT-B-32");
    assert.deepEqual(parseModelRef("laion/CLIP-ViT-B-32-laion2B-s34B-b79K"), { kind: "local", path: "laion/CLIP-ViT-B-32-laion2B-s34B-b79K" });
    assert.deepEqual(parseModelRef("ViT-B-32"), { kind: "local", path: "ViT-B-32" });
    assert.deepEqual(parseModelRef("openai/clip-vit-base-patch32"), { kind: "hub", repo: "openai/clip-vit-base-patch32", layout: "auto" });
    assert.deepEqual(parseModelRef("hf-hub:laion/x"), { kind: "hub", repo: "laion/x", layout: "auto" });
    assert.throws(() => parseModelRef("ViT-L-14"), /ViT-L-14 is an open_clip architecture: add --pretrained TAG \(one of openai, /);
    assert.throws(() => parseModelRef("./missing"), /^UserError: --model \.\/missing: no such directory$/);
    assert.throws(() => parseModelRef("hf-hub:../etc"), /invalid Hugging Face repository id/);
    assert.throws(() => parseModelRef("ViT-B-32", { pretrained: "openai" }), /--pretrained openai is for open_clip model names, but ViT-B-32 is a local path/);
  } finally {
    process.chdir(cwd);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
