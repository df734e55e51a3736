/**
 * @file Our checkpoints in open_clip 3.3.0's own loader (`create_model_and_transforms` and
 * `get_tokenizer` on `local-dir:`): OpenAI's vocabulary through its default tokenizer, a learned one
 * through the HFTokenizer that text_cfg.hf_tokenizer_name names (vocab.json + merges.txt), the same
 * ids up to the end token and the same text features as here. Needs a Python with open_clip (and
 * transformers): $OPEN_CLIP_PYTHON; skipped, saying so, without it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ClipModel } from "../../src/clip/model.js";
import { parseModelCfg } from "../../src/models/clip/config.js";
import { initState } from "../../src/models/clip/init.js";
import { trainBpe, writeBpeVocab } from "../../src/tokenizer/index.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/weights/checkpoint.js";
import { REFERENCE, ROOT, VOCAB } from "../helpers/shared.js";

const PYTHON = process.env.OPEN_CLIP_PYTHON ?? "python3";
const probe = spawnSync(PYTHON, ["-c", "import open_clip, transformers"], { encoding: "utf8" });
const skip = probe.status === 0 ? false : `no open_clip + transformers importable by ${PYTHON} (set OPEN_CLIP_PYTHON)`;
const TEXTS = ["a photo of a cat", "Two dogs run on the beach!", "a red triangle and a blue square", "shapes number 7 with colors"];

async function compare(dir: string, wantTokenizer: string): Promise<void> {
  const r = spawnSync(PYTHON, [path.join(ROOT, "test/weights/open_clip_check.py"), dir, ...TEXTS], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const py = JSON.parse(r.stdout.trim().split("\n").pop()!) as { tokenizer: string; ids: number[][]; text_features: number[][] };
  assert.equal(py.tokenizer, wantTokenizer);
  const model = await ClipModel.load(dir, { threads: 1 });
  try {
    const ids = model.tokenize(TEXTS);
    const L = model.contextLength;
    const feats = await model.embedTexts(TEXTS, { normalize: false });
    TEXTS.forEach((t, i) => {
      const ours = Array.from(ids.subarray(i * L, (i + 1) * L), Number);
      const end = ours.indexOf(Math.max(...ours)); // the end token: the largest id
      assert.deepEqual(py.ids[i].slice(0, end + 1), ours.slice(0, end + 1), t);
      const d = model.embedDim;
      py.text_features[i].forEach((v, j) => assert.ok(Math.abs(v - feats.data[i * d + j]) < 1e-4, `${t}[${j}]: ${v} vs ${feats.data[i * d + j]}`));
    });
  } finally {
    await model.dispose();
  }
}

test("open_clip loads our checkpoints with their tokenizers: OpenAI's vocabulary and a learned one", { skip }, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-openclip-"));
  try {
    const ck = loadCheckpoint(path.join(REFERENCE, "vit-tiny"));
    saveCheckpoint(path.join(tmp, "openai"), ck.config, ck.state, { preprocess: ck.preprocess, tokenizerFiles: [VOCAB] });
    await compare(path.join(tmp, "openai"), "SimpleTokenizer");

    const corpus = Array.from({ length: 300 }, (_v, i) => `${TEXTS[i % TEXTS.length]} number ${i % 17} with shapes and colors`);
    const trained = trainBpe(corpus, 700);
    await writeBpeVocab(path.join(tmp, "learned.txt.gz"), trained.merges);
    const config = parseModelCfg({
      embed_dim: 16,
      quick_gelu: true,
      vision_cfg: { image_size: 32, layers: 1, width: 64, patch_size: 8, head_width: 32 },
      text_cfg: { context_length: 32, vocab_size: trained.vocabSize, width: 64, heads: 2, layers: 1 },
    });
    saveCheckpoint(path.join(tmp, "learned"), config, initState(config, { seed: 1 }), { tokenizerFiles: [path.join(tmp, "learned.txt.gz")] });
    await compare(path.join(tmp, "learned"), "HFTokenizer");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
