import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { UserError } from "../../src/errors.js";
import {
  type ClipConfig,
  checkState,
  countParams,
  expectedParams,
  inferConfig,
  openClipConfigJson,
  parseModelCfg,
  parseOpenClipConfig,
  visionHeads,
} from "../../src/models/clip/config.js";
import { PRESET_NAMES, presetConfig, presetJson } from "../../src/models/clip/presets.js";
import { parseSafetensorsHeader } from "../../src/weights/safetensors.js";
import { withFile } from "../../src/weights/files.js";
import { REFERENCE } from "../helpers/shared.js";

const FIXTURES = ["vit-tiny", "rn-tiny", "train-step", "train-e2e/init"];

function fixtureShapes(name: string): Map<string, { shape: number[] }> {
  const h = withFile(path.join(REFERENCE, name, "open_clip_model.safetensors"), parseSafetensorsHeader);
  return new Map([...h.entries].map(([k, e]) => [k, { shape: e.shape }]));
}

function fixtureConfig(name: string): ReturnType<typeof parseOpenClipConfig> {
  return parseOpenClipConfig(fs.readFileSync(path.join(REFERENCE, name, "open_clip_config.json"), "utf8"));
}

test("parses the fixtures' open_clip_config.json", () => {
  const { config, preprocess } = fixtureConfig("vit-tiny");
  assert.deepEqual(config, {
    embed_dim: 32,
    quick_gelu: true,
    vision_cfg: { image_size: 32, layers: 2, width: 128, patch_size: 8, head_width: 64, mlp_ratio: 4 },
    text_cfg: { context_length: 77, vocab_size: 49408, width: 64, heads: 4, layers: 2, mlp_ratio: 4 },
  });
  assert.deepEqual(preprocess.mean, [0.48145466, 0.4578275, 0.40821073]);
  assert.equal(preprocess.size, 32);
  assert.equal(preprocess.interpolation, "bicubic");
  const rn = fixtureConfig("rn-tiny").config;
  assert.deepEqual(rn.vision_cfg.layers, [1, 1, 1, 1]);
  assert.equal(rn.vision_cfg.patch_size, null);
  assert.equal(visionHeads(rn.vision_cfg), 8); // 16 * 32 / 64
});

test("expectedParams lists exactly the fixtures' keys and shapes, in state_dict order", () => {
  for (const name of FIXTURES) {
    const shapes = fixtureShapes(name);
    const { config } = fixtureConfig(name);
    const specs = expectedParams(config).filter((p) => !p.optional);
    assert.deepEqual(specs.map((p) => p.key), [...shapes.keys()], name);
    for (const p of specs) assert.deepEqual(p.shape, shapes.get(p.key)!.shape, `${name} ${p.key}`);
    checkState(config, shapes, name); // does not throw
  }
});

test("inferring the config from shapes agrees with open_clip_config.json", () => {
  for (const name of FIXTURES) {
    const shapes = fixtureShapes(name);
    const { config } = fixtureConfig(name);
    // heads are not in the shapes: OpenAI's rule is width / 64, so pass the fixture's text heads
    const inferred = inferConfig(shapes, { textHeads: config.text_cfg.heads });
    assert.deepEqual(inferred, config, name);
    const plain = inferConfig(shapes);
    assert.equal(plain.text_cfg.heads, Math.max(1, config.text_cfg.width / 64));
    assert.deepEqual({ ...plain, text_cfg: { ...plain.text_cfg, heads: 0 } }, { ...config, text_cfg: { ...config.text_cfg, heads: 0 } });
  }
});

test("presets: open_clip's model_configs and OpenAI's published parameter counts", () => {
  // sum(p.numel() for p in model.parameters()) of OpenAI's released models
  const counts: Record<string, number> = {
    RN50: 102_007_137,
    RN101: 119_688_033,
    RN50x4: 178_300_601,
    RN50x16: 290_979_217,
    RN50x64: 623_258_305,
    "ViT-B-32": 151_277_313,
    "ViT-B-16": 149_620_737,
    "ViT-L-14": 427_616_513,
    "ViT-L-14-336": 427_944_193,
  };
  for (const [name, n] of Object.entries(counts)) assert.equal(countParams(presetConfig(name)), n, name);
  assert.equal(PRESET_NAMES.length, 18);
  assert.equal(presetConfig("ViT-B-32").quick_gelu, false);
  assert.equal(presetConfig("ViT-B-32-quickgelu").quick_gelu, true);
  assert.deepEqual(presetJson("RN50x64"), {
    embed_dim: 1024,
    vision_cfg: { image_size: 448, layers: [3, 15, 36, 10], width: 128, patch_size: null },
    text_cfg: { context_length: 77, vocab_size: 49408, width: 1024, heads: 16, layers: 12 },
  });
  assert.throws(() => presetConfig("ViT-Q-99"), /unknown architecture "ViT-Q-99"; known: RN50, RN50-quickgelu/);
});

test("openClipConfigJson round-trips through the parser and matches open_clip's file shape", () => {
  for (const name of FIXTURES) {
    const { config, preprocess } = fixtureConfig(name);
    const json = openClipConfigJson(config, preprocess);
    assert.deepEqual(parseOpenClipConfig(json), { config, preprocess });
    const file = JSON.parse(fs.readFileSync(path.join(REFERENCE, name, "open_clip_config.json"), "utf8"));
    assert.deepEqual(json, file, name);
  }
  const odd: ClipConfig = { ...presetConfig("ViT-B-16"), vision_cfg: { ...presetConfig("ViT-B-16").vision_cfg, head_width: 96, mlp_ratio: 2.5 } };
  assert.deepEqual(parseOpenClipConfig(openClipConfigJson(odd)).config, odd);
});

test("config errors name the file, the field and the value", () => {
  const base = () => JSON.parse(JSON.stringify(presetJson("ViT-B-32")));
  const err = (json: unknown, re: RegExp): void => assert.throws(() => parseOpenClipConfig(json, "x/open_clip_config.json"), (e: Error) => e instanceof UserError && re.test(e.message));
  err("{", /x\/open_clip_config.json is not valid JSON/);
  err({ model_cfg: { ...base(), embed_dim: undefined } }, /model_cfg.embed_dim is missing/);
  err({ model_cfg: { ...base(), embed_dim: -1 } }, /embed_dim must be a positive integer, got -1/);
  const v = base();
  v.vision_cfg.image_size = 225;
  err({ model_cfg: v }, /image_size 225 is not a multiple of patch_size 32/);
  const t = base();
  t.text_cfg.heads = 7;
  err({ model_cfg: t }, /text_cfg.width 512 is not divisible by heads 7/);
  const ls = base();
  ls.vision_cfg.ls_init_value = 0.1;
  err({ model_cfg: ls }, /vision_cfg.ls_init_value = 0.1 is not supported/);
  const hfText = base();
  hfText.text_cfg.hf_model_name = "xlm-roberta-base";
  err({ model_cfg: hfText }, /hf_model_name/);
  err({ model_cfg: base(), preprocess_cfg: { mean: [1, 2] } }, /preprocess_cfg.mean must be three numbers/);
  err({ model_cfg: base(), preprocess_cfg: { resize_mode: "crop" } }, /resize_mode "crop" is not one of shortest, longest, squash/);
  const rn = JSON.parse(JSON.stringify(presetJson("RN50")));
  rn.vision_cfg.layers = [3, 4, 6];
  err({ model_cfg: rn }, /needs four positive stage depths/);
  // a bare model config (model_configs/*.json) is accepted too
  assert.equal(parseOpenClipConfig(presetJson("RN50")).config.embed_dim, 1024);
  assert.deepEqual(parseModelCfg({ ...presetJson("ViT-B-32"), vision_cfg: { ...presetJson("ViT-B-32").vision_cfg, image_size: [224, 224] } }).vision_cfg.image_size, 224);
});

test("checkState lists missing, unexpected and mis-shaped keys with shapes", () => {
  const { config } = fixtureConfig("vit-tiny");
  const shapes = fixtureShapes("vit-tiny");
  shapes.delete("visual.ln_post.bias");
  shapes.set("visual.extra", { shape: [3] });
  shapes.set("text_projection", { shape: [64, 31] });
  assert.throws(
    () => checkState(config, shapes, "m.safetensors"),
    (e: Error) =>
      e instanceof UserError &&
      e.message.includes("m.safetensors does not match its config") &&
      e.message.includes("1 missing keys:\n  visual.ln_post.bias [128]") &&
      e.message.includes("1 unexpected keys:\n  visual.extra [3]") &&
      e.message.includes("1 mis-shaped keys:\n  text_projection: got [64,31], expected [64,32]"),
  );
});
