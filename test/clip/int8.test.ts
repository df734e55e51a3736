/** @file int8 inference on the reference fixtures: accuracy against the reference features, and int8 checkpoints read back exactly. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ClipModel } from "../../src/clip/model.js";
import { int8Keys, quantizeState } from "../../src/models/clip/int8.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/weights/checkpoint.js";
import { readSafetensorsFile } from "../../src/weights/files.js";
import { REFERENCE } from "../helpers/shared.js";

function rowCosines(got: Float32Array, want: ArrayLike<number>, dim: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < want.length / dim; r++) {
    let d = 0;
    let a = 0;
    let b = 0;
    for (let j = 0; j < dim; j++) {
      d += got[r * dim + j] * want[r * dim + j];
      a += got[r * dim + j] ** 2;
      b += want[r * dim + j] ** 2;
    }
    out.push(d / Math.sqrt(a * b));
  }
  return out;
}

/** Raw image and text features of fixture `name`'s reference pixels and tokens. */
async function features(name: string, model: ClipModel): Promise<{ img: Float32Array; txt: Float32Array; dim: number }> {
  const f = readSafetensorsFile(path.join(REFERENCE, name, "forward.safetensors")).tensors;
  const pixels = f.get("pixels")!;
  const tokens = f.get("tokens")!;
  try {
    const img = await model.encodePixels(pixels.data as Float32Array, pixels.shape[0], { normalize: false });
    const txt = await model.encodeTokens(tokens.data as BigInt64Array, tokens.shape[0], { normalize: false });
    return { img: img.data, txt: txt.data, dim: img.dim };
  } finally {
    await model.close();
  }
}

for (const name of ["vit-tiny", "rn-tiny"]) {
  const dir = path.join(REFERENCE, name);

  test(`${name}: int8 features, every row's cosine to the reference >= 0.99, and not the fp32 ones`, async () => {
    const f = readSafetensorsFile(path.join(dir, "forward.safetensors")).tensors;
    const q = await features(name, await ClipModel.load(dir, { threads: 2, precision: "int8" }));
    const fp = await features(name, await ClipModel.load(dir, { threads: 2 }));
    const ci = rowCosines(q.img, f.get("image_features")!.data as Float32Array, q.dim);
    const ct = rowCosines(q.txt, f.get("text_features")!.data as Float32Array, q.dim);
    for (const c of [...ci, ...ct]) assert.ok(c >= 0.99, `cosine ${c} (images ${ci.map((x) => x.toFixed(5))}, texts ${ct.map((x) => x.toFixed(5))})`);
    // the int8 layers really ran: the features moved off the fp32 ones
    assert.ok(q.img.some((v, i) => v !== fp.img[i]) && q.txt.some((v, i) => v !== fp.txt[i]));
  });

  test(`${name}: an int8 checkpoint written and read back gives the outputs of quantizing at load, bit for bit`, async () => {
    const ck = loadCheckpoint(dir);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "clip-ts-int8-"));
    try {
      saveCheckpoint(tmp, ck.config, ck.state, { preprocess: ck.preprocess, int8: quantizeState(ck.config, ck.state) });
      const back = loadCheckpoint(tmp);
      assert.deepEqual([...back.int8.keys()], int8Keys(ck.config));
      const fromFile = await features(name, await ClipModel.load(tmp, { threads: 2, precision: "int8" }));
      const atLoad = await features(name, await ClipModel.load(dir, { threads: 2, precision: "int8" }));
      assert.deepEqual(fromFile.img, atLoad.img);
      assert.deepEqual(fromFile.txt, atLoad.txt);
      // the int8 file is smaller, and at fp32 it runs from the dequantized weights
      assert.ok(fs.statSync(path.join(tmp, "open_clip_model.safetensors")).size < fs.statSync(path.join(dir, "open_clip_model.safetensors")).size);
      const f = readSafetensorsFile(path.join(dir, "forward.safetensors")).tensors;
      const deq = await features(name, await ClipModel.load(tmp, { threads: 2 }));
      for (const c of rowCosines(deq.img, f.get("image_features")!.data as Float32Array, deq.dim)) assert.ok(c >= 0.99, `fp32 from int8 weights: cosine ${c}`);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}
