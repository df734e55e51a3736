/** @file The tokenizer files written next to our checkpoints (vocab.json + merges.txt + configs, text_cfg.hf_tokenizer_name), read back. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseModelCfg } from "../../src/models/clip/config.js";
import { initState } from "../../src/models/clip/init.js";
import { ClipTokenizer, trainBpe, writeBpeVocab } from "../../src/tokenizer/index.js";
import { loadVocabulary } from "../../src/tokenizer/files.node.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/weights/checkpoint.js";
import { resolveTokenizerDir } from "../../src/weights/hub/resolve.js";
import { VOCAB } from "../helpers/shared.js";

const TEXTS = ["a photo of a cat", "Two dogs run on the beach!", "naïve café — 東京 2024", "the the the", "a red triangle and a blue square"];

function tinyConfig(vocabSize: number) {
  return parseModelCfg({
    embed_dim: 16,
    quick_gelu: true,
    vision_cfg: { image_size: 16, layers: 1, width: 32, patch_size: 8, head_width: 16 },
    text_cfg: { context_length: 16, vocab_size: vocabSize, width: 32, heads: 2, layers: 1 },
  });
}

test("a checkpoint with a learned vocabulary: vocab.json maps every token to our BPE file's id, the config names the tokenizer, it reads back", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-tokfiles-"));
  try {
    const corpus = Array.from({ length: 200 }, (_v, i) => `${TEXTS[i % TEXTS.length]} number ${i % 17} with shapes and colors`);
    const trained = trainBpe(corpus, 700);
    const bpe = path.join(tmp, "learned.txt.gz");
    await writeBpeVocab(bpe, trained.merges);
    const config = tinyConfig(trained.vocabSize);
    const dir = path.join(tmp, "ck");
    saveCheckpoint(dir, config, initState(config, { seed: 1 }), { tokenizerFiles: [bpe] });

    const ours = (await loadVocabulary(bpe, { vocabSize: trained.vocabSize })).vocabulary;
    const vocabJson = JSON.parse(fs.readFileSync(path.join(dir, "vocab.json"), "utf8")) as Record<string, number>;
    assert.equal(Object.keys(vocabJson).length, ours.tokens.length);
    ours.tokens.forEach((t, id) => assert.equal(vocabJson[t!], id, `token ${JSON.stringify(t)}`));
    const merges = fs.readFileSync(path.join(dir, "merges.txt"), "utf8").trimEnd().split("\n");
    assert.equal(merges[0], "#version: 0.2");
    assert.deepEqual(merges.slice(1), ours.merges.map(([a, b]) => `${a} ${b}`));
    const tc = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8")) as Record<string, unknown>;
    assert.equal(tc.tokenizer_class, "CLIPTokenizer");
    assert.equal(tc.model_max_length, 16);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, "open_clip_config.json"), "utf8")) as { model_cfg: { text_cfg: Record<string, unknown> } };
    assert.equal(cfg.model_cfg.text_cfg.hf_tokenizer_name, path.resolve(dir), "an absolute name: open_clip and AutoTokenizer find it from any directory");

    // read back: the config parses, and vocab.json + merges.txt alone give the BPE file's ids
    assert.equal(loadCheckpoint(dir).config.text_cfg.vocab_size, trained.vocabSize);
    const fromBpe = await ClipTokenizer.fromFile(bpe, { vocabSize: trained.vocabSize, contextLength: 16 });
    fs.rmSync(path.join(dir, "learned.txt.gz"));
    const fromHf = await ClipTokenizer.fromDir(dir, { contextLength: 16 });
    for (const t of TEXTS) assert.deepEqual(fromHf.encode(t), fromBpe.encode(t), t);

    // hf_tokenizer_name is followed when the weights' directory has no vocabulary
    const bare = path.join(tmp, "bare");
    fs.mkdirSync(bare);
    for (const f of ["open_clip_config.json", "open_clip_model.safetensors"]) fs.copyFileSync(path.join(dir, f), path.join(bare, f));
    assert.equal(await resolveTokenizerDir(bare, { fromHub: false, vocabSize: trained.vocabSize, offline: true }), path.resolve(dir));
    // a repository name to upload to
    saveCheckpoint(dir, config, initState(config, { seed: 1 }), { tokenizerFiles: [bpe], hfTokenizerName: "me/my-clip" });
    const cfg2 = JSON.parse(fs.readFileSync(path.join(dir, "open_clip_config.json"), "utf8")) as { model_cfg: { text_cfg: Record<string, unknown> } };
    assert.equal(cfg2.model_cfg.text_cfg.hf_tokenizer_name, "me/my-clip");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("OpenAI's vocabulary: vocab.json + merges.txt give the same ids, and no hf_tokenizer_name (open_clip's default tokenizer is it)", async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-tokfiles-"));
  try {
    const config = tinyConfig(49408);
    saveCheckpoint(tmp, config, initState(config, { seed: 1 }), { tokenizerFiles: [VOCAB] });
    const cfg = JSON.parse(fs.readFileSync(path.join(tmp, "open_clip_config.json"), "utf8")) as { model_cfg: { text_cfg: Record<string, unknown> } };
    assert.equal(cfg.model_cfg.text_cfg.hf_tokenizer_name, undefined);
    const vocabJson = JSON.parse(fs.readFileSync(path.join(tmp, "vocab.json"), "utf8")) as Record<string, number>;
    assert.equal(Object.keys(vocabJson).length, 49408);
    assert.equal(vocabJson["<|endoftext|>"], 49407);
    const ref = await ClipTokenizer.fromFile(VOCAB, { contextLength: 16 });
    fs.rmSync(path.join(tmp, "bpe_simple_vocab_16e6.txt.gz"));
    const back = await ClipTokenizer.fromDir(tmp, { contextLength: 16 });
    for (const t of TEXTS) assert.deepEqual(back.encode(t), ref.encode(t), t);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
