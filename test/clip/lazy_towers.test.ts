/** @file A tower's weights are read on its first use: a text-only caller never reads the image tower, and embeds exactly as a full load. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ClipModel } from "../../src/clip/model.js";
import { ClipTokenizer } from "../../src/tokenizer/index.js";
import { loadCheckpoint, readCheckpointTensors, saveHfCheckpoint } from "../../src/weights/checkpoint.js";
import { UserError } from "../../src/errors.js";
import { REFERENCE } from "../helpers/shared.js";

const DIR = path.join(REFERENCE, "vit-tiny");
const TEXTS = ["a photo of a cat", "a diagram"];
const IMAGES = JSON.parse(fs.readFileSync(path.join(DIR, "e2e.json"), "utf8")).images.map((f: string) => path.join(REFERENCE, "images", f)) as string[];
const NO_CACHE = { sessionCache: false as const };

/** The model from a whole-checkpoint read, built in memory (the reference for the lazy loads). */
async function fullModel(dir: string): Promise<ClipModel> {
  const ck = loadCheckpoint(dir);
  assert.equal(ck.partial, false);
  const tok = await ClipTokenizer.fromDir(dir, { vocabSize: ck.config.text_cfg.vocab_size, contextLength: ck.config.text_cfg.context_length });
  return new ClipModel(ck.config, ck.preprocess, ck.state, tok, { threads: 2 });
}

test("loadCheckpoint({ only }) reads only those tensors of a safetensors checkpoint; readCheckpointTensors reads the rest identically", () => {
  const full = loadCheckpoint(DIR);
  const text = loadCheckpoint(DIR, { only: (k) => !k.startsWith("visual.") });
  assert.equal(text.partial, true);
  assert.deepEqual(text.config, full.config);
  assert.deepEqual([...text.state.keys()].sort(), [...full.state.keys()].filter((k) => !k.startsWith("visual.")).sort());
  const visual = readCheckpointTensors(text, (k) => k.startsWith("visual."));
  assert.deepEqual([...visual.keys()].sort(), [...full.state.keys()].filter((k) => k.startsWith("visual.")).sort());
  for (const [k, t] of [...text.state, ...visual]) {
    assert.deepEqual(t.shape, full.state.get(k)!.shape, k);
    assert.deepEqual(t.data, full.state.get(k)!.data, k);
  }
});

test("loadCheckpoint({ only }) still checks every key's shape against the config, from the header", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-lazy-"));
  try {
    for (const f of fs.readdirSync(DIR)) fs.copyFileSync(path.join(DIR, f), path.join(tmp, f));
    const cfgFile = path.join(tmp, "open_clip_config.json");
    const cfg = JSON.parse(fs.readFileSync(cfgFile, "utf8"));
    cfg.model_cfg.vision_cfg.width *= 2; // the image tower's tensors no longer fit the config
    fs.writeFileSync(cfgFile, JSON.stringify(cfg));
    assert.throws(() => loadCheckpoint(tmp, { only: (k) => !k.startsWith("visual.") }), (e: Error) => e instanceof UserError && /does not match its config/.test(e.message) && /visual\./.test(e.message));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("a Hugging Face layout is read whole (partial false) and loads as before", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-lazy-"));
  try {
    const ck = loadCheckpoint(DIR);
    saveHfCheckpoint(tmp, ck.config, ck.state, { preprocess: ck.preprocess });
    const hf = loadCheckpoint(tmp, { only: () => false });
    assert.equal(hf.partial, false);
    assert.equal(hf.state.size, ck.state.size);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("ClipModel.load reads a tower on first use: text and image embeddings identical to a full load", async () => {
  const full = await fullModel(DIR);
  const lazy = await ClipModel.load(DIR, { threads: 2, ...NO_CACHE });
  try {
    assert.equal(lazy.logitScale, full.logitScale);
    assert.deepEqual((await lazy.embedTexts(TEXTS, { normalize: false })).data, (await full.embedTexts(TEXTS, { normalize: false })).data);
    assert.deepEqual((await lazy.embedImages(IMAGES, { normalize: false })).data, (await full.embedImages(IMAGES, { normalize: false })).data);
  } finally {
    await Promise.all([full.dispose(), lazy.dispose()]);
  }
});

test("a text-only caller never reads the image tower: the weights file changing afterwards stops only the image tower", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-lazy-"));
  const model = await (async () => {
    for (const f of fs.readdirSync(DIR)) fs.copyFileSync(path.join(DIR, f), path.join(tmp, f));
    return ClipModel.load(tmp, { threads: 2, ...NO_CACHE });
  })();
  try {
    const before = await model.embedTexts(TEXTS);
    const weights = path.join(tmp, "open_clip_model.safetensors");
    fs.utimesSync(weights, new Date(), new Date(Date.now() + 60_000));
    // the text tower is compiled: it runs on; the image tower would read the changed file
    assert.deepEqual((await model.embedTexts(TEXTS)).data, before.data);
    await assert.rejects(model.embedImages(IMAGES), (e: Error) => e instanceof UserError && e.message.includes(`${weights} changed since the model was loaded`));
  } finally {
    await model.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
