import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { UserError } from "../../src/errors.js";
import { type StateDict, parseOpenClipConfig } from "../../src/models/clip/config.js";
import { loadCheckpoint, saveCheckpoint, saveHfCheckpoint } from "../../src/weights/checkpoint.js";
import { readSafetensorsFile, writeSafetensorsFile } from "../../src/weights/files.js";
import { hfMapping } from "../../src/weights/hf.js";
import { REFERENCE, VOCAB } from "../helpers/shared.js";

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "ckpt-"));
}

const bytes = (a: Float32Array | Uint16Array | ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function assertSameState(a: StateDict, b: StateDict, what: string): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${what}: keys`);
  for (const [k, t] of a) {
    const u = b.get(k)!;
    assert.deepEqual(u.shape, t.shape, `${what}: ${k} shape`);
    assert.ok(bytes(u.data).equals(bytes(t.data)), `${what}: ${k} data`);
  }
}

test("the reference checkpoints load with the config of their open_clip_config.json", () => {
  for (const name of ["vit-tiny", "rn-tiny"]) {
    const dir = path.join(REFERENCE, name);
    const ck = loadCheckpoint(dir);
    const want = parseOpenClipConfig(fs.readFileSync(path.join(dir, "open_clip_config.json"), "utf8"));
    assert.deepEqual(ck.config, want.config);
    assert.deepEqual(ck.preprocess, want.preprocess);
    assert.equal(ck.source, "open_clip");
    assert.equal(ck.inferred, false);
    assert.equal(ck.tokenizer.bpe, path.join(dir, "bpe_simple_vocab_16e6.txt.gz"));
    const raw = readSafetensorsFile(path.join(dir, "open_clip_model.safetensors")).tensors;
    assert.equal(ck.state.size, raw.size);
    for (const [k, t] of raw) assert.ok(bytes(ck.state.get(k)!.data).equals(bytes(t.data)), k);
  }
});

test("a checkpoint without a config infers it (OpenAI's build_model rule)", () => {
  const dir = tmpdir();
  try {
    fs.copyFileSync(path.join(REFERENCE, "rn-tiny/open_clip_model.safetensors"), path.join(dir, "weights.safetensors"));
    const ck = loadCheckpoint(dir);
    const want = parseOpenClipConfig(fs.readFileSync(path.join(REFERENCE, "rn-tiny/open_clip_config.json"), "utf8")).config;
    assert.equal(ck.inferred, true);
    assert.deepEqual(ck.config, { ...want, text_cfg: { ...want.text_cfg, heads: 1 } });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a checkpoint written here reads back identically, with deterministic bytes", () => {
  const dir = tmpdir();
  try {
    for (const name of ["vit-tiny", "rn-tiny"]) {
      const src = loadCheckpoint(path.join(REFERENCE, name));
      const out = path.join(dir, name);
      saveCheckpoint(out, src.config, src.state, { preprocess: src.preprocess, tokenizerFiles: [VOCAB] });
      const back = loadCheckpoint(out);
      assert.deepEqual(back.config, src.config);
      assert.deepEqual(back.preprocess, src.preprocess);
      assertSameState(back.state, src.state, name);
      assert.ok(back.tokenizer.bpe);
      assert.deepEqual(
        JSON.parse(fs.readFileSync(path.join(out, "open_clip_config.json"), "utf8")),
        JSON.parse(fs.readFileSync(path.join(REFERENCE, name, "open_clip_config.json"), "utf8")),
      );
      const first = fs.readFileSync(path.join(out, "open_clip_model.safetensors"));
      saveCheckpoint(out, src.config, src.state, { preprocess: src.preprocess });
      assert.ok(first.equals(fs.readFileSync(path.join(out, "open_clip_model.safetensors"))), "same bytes twice");
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("fp16 and bf16 checkpoints load upcast to float32", () => {
  const dir = tmpdir();
  try {
    const src = loadCheckpoint(path.join(REFERENCE, "vit-tiny"));
    for (const dtype of ["F16", "BF16"] as const) {
      const out = path.join(dir, dtype);
      saveCheckpoint(out, src.config, src.state, { dtype });
      const raw = readSafetensorsFile(path.join(out, "open_clip_model.safetensors")).tensors;
      assert.equal(raw.get("visual.proj")!.dtype, dtype);
      const back = loadCheckpoint(out);
      const a = src.state.get("visual.proj")!.data;
      const b = back.state.get("visual.proj")!.data;
      assert.ok(b instanceof Float32Array);
      const rel = dtype === "F16" ? 2 ** -11 : 2 ** -8;
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= rel * Math.abs(a[i]) + 1e-7, `${dtype} ${i}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a Hugging Face CLIPModel checkpoint made by renaming and splitting maps back to identical tensors", () => {
  const dir = tmpdir();
  try {
    const src = loadCheckpoint(path.join(REFERENCE, "vit-tiny"));
    saveHfCheckpoint(dir, src.config, src.state, { preprocess: src.preprocess });
    const hf = readSafetensorsFile(path.join(dir, "model.safetensors")).tensors;
    assert.deepEqual(hf.get("vision_model.encoder.layers.1.self_attn.k_proj.weight")!.shape, [128, 128]);
    assert.deepEqual(hf.get("visual_projection.weight")!.shape, [32, 128]);
    assert.ok(hf.has("vision_model.pre_layrnorm.weight"));
    assert.equal(hf.has("visual.proj"), false);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
    assert.equal(cfg.text_config.num_attention_heads, 4);
    assert.equal(cfg.vision_config.hidden_act, "quick_gelu");
    const back = loadCheckpoint(dir);
    assert.equal(back.source, "hf");
    assert.deepEqual(back.config, src.config); // heads come from config.json
    assert.deepEqual(back.preprocess, src.preprocess);
    assertSameState(back.state, src.state, "hf");
    // the q/k/v split is the in_proj row blocks
    const inProj = src.state.get("visual.transformer.resblocks.1.attn.in_proj_weight")!.data;
    assert.deepEqual(hf.get("vision_model.encoder.layers.1.self_attn.v_proj.weight")!.data, inProj.subarray(2 * 128 * 128));
    assert.equal(hfMapping(src.config).length, src.state.size);

    // sharded: model.safetensors.index.json + two shards
    const sharded = path.join(dir, "sharded");
    fs.mkdirSync(sharded);
    for (const f of ["config.json", "preprocessor_config.json"]) fs.copyFileSync(path.join(dir, f), path.join(sharded, f));
    const keys = [...hf.keys()];
    const weightMap: Record<string, string> = {};
    keys.forEach((k, i) => (weightMap[k] = i % 2 ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors"));
    for (const shard of new Set(Object.values(weightMap))) {
      writeSafetensorsFile(path.join(sharded, shard), new Map(keys.filter((k) => weightMap[k] === shard).map((k) => [k, hf.get(k)!])));
    }
    fs.writeFileSync(path.join(sharded, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const fromShards = loadCheckpoint(sharded);
    assert.equal(fromShards.weightsFile, path.join(sharded, "model.safetensors.index.json"));
    assertSameState(fromShards.state, src.state, "sharded");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("bad checkpoints give a UserError listing the keys with shapes", () => {
  const dir = tmpdir();
  try {
    const src = readSafetensorsFile(path.join(REFERENCE, "vit-tiny/open_clip_model.safetensors")).tensors;
    fs.copyFileSync(path.join(REFERENCE, "vit-tiny/open_clip_config.json"), path.join(dir, "open_clip_config.json"));
    src.delete("visual.ln_post.weight");
    src.delete("transformer.resblocks.1.mlp.c_fc.bias");
    src.set("visual.extra_token", { dtype: "F32", shape: [2, 128], data: new Float32Array(256) });
    src.set("text_projection", { dtype: "F32", shape: [64, 16], data: new Float32Array(64 * 16) });
    writeSafetensorsFile(path.join(dir, "open_clip_model.safetensors"), src);
    assert.throws(
      () => loadCheckpoint(dir),
      (e: Error) =>
        e instanceof UserError &&
        e.message.includes("open_clip_model.safetensors") &&
        e.message.includes("2 missing keys:\n  visual.ln_post.weight [128]\n  transformer.resblocks.1.mlp.c_fc.bias [256]") &&
        e.message.includes("1 unexpected keys:\n  visual.extra_token [2,128]") &&
        e.message.includes("text_projection: got [64,16], expected [64,32]"),
    );

    // HF layout: a missing k_proj and a transposed projection
    const hfDir = path.join(dir, "hf");
    const ck = loadCheckpoint(path.join(REFERENCE, "vit-tiny"));
    saveHfCheckpoint(hfDir, ck.config, ck.state);
    const hf = readSafetensorsFile(path.join(hfDir, "model.safetensors")).tensors;
    hf.delete("text_model.encoder.layers.0.self_attn.k_proj.bias");
    hf.set("visual_projection.weight", { dtype: "F32", shape: [128, 32], data: new Float32Array(128 * 32) });
    writeSafetensorsFile(path.join(hfDir, "model.safetensors"), hf);
    assert.throws(
      () => loadCheckpoint(hfDir),
      (e: Error) =>
        e instanceof UserError &&
        e.message.includes("missing keys:\n  text_model.encoder.layers.0.self_attn.k_proj.bias [64]") &&
        e.message.includes("visual_projection.weight: got [128,32], expected [32,128]"),
    );

    assert.throws(() => loadCheckpoint(path.join(dir, "nope")), /checkpoint .*nope does not exist/);
    const empty = path.join(dir, "empty");
    fs.mkdirSync(empty);
    assert.throws(() => loadCheckpoint(empty), /is not a CLIP checkpoint directory/);
    const onlyCfg = path.join(dir, "onlycfg");
    fs.mkdirSync(onlyCfg);
    fs.copyFileSync(path.join(REFERENCE, "vit-tiny/open_clip_config.json"), path.join(onlyCfg, "open_clip_config.json"));
    assert.throws(() => loadCheckpoint(onlyCfg), /has open_clip_config.json but neither open_clip_model.safetensors nor open_clip_pytorch_model.bin/);
    const trunc = path.join(dir, "trunc");
    fs.mkdirSync(trunc);
    const bytes = fs.readFileSync(path.join(REFERENCE, "vit-tiny/open_clip_model.safetensors"));
    fs.writeFileSync(path.join(trunc, "open_clip_model.safetensors"), bytes.subarray(0, bytes.length - 100));
    assert.throws(() => loadCheckpoint(trunc), /truncated file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
