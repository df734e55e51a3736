/**
 * @file The text tower at the batch's own length (up to its last end-of-text token) against the
 * same weights run at the full context length: the tower is causal and pools at the end-of-text
 * token, so the features must agree to float rounding.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ClipModel } from "../../src/clip/model.js";
import * as T from "../../src/ir/tensor.js";
import { encodeText, paramLeaves } from "../../src/models/clip/towers.js";
import { CompiledGraph } from "../../src/runtime/session.js";
import { loadCheckpoint } from "../../src/weights/checkpoint.js";
import { REFERENCE } from "../helpers/shared.js";

const DIR = path.join(REFERENCE, "vit-tiny");

/** The features of ids [n, ctx] from a graph fixed at the full context length (the tower before trimming). */
async function fullLength(ids: BigInt64Array, n: number): Promise<Float32Array> {
  const ck = loadCheckpoint(DIR);
  const ctx = ck.config.text_cfg.context_length;
  const g = await CompiledGraph.compile(
    { features: encodeText(ck.config, T.input("tokens", "int64", ["B", ctx]), paramLeaves(ck.config)) },
    { weights: (k) => ck.state.get(k)?.data, threads: 2 },
  );
  try {
    return (await g.run({ tokens: { data: ids, shape: [n, ctx] } })).features.data as Float32Array;
  } finally {
    await g.release();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

test("texts run at their batch's length give the full context's features", async () => {
  const model = await ClipModel.load(DIR, { threads: 2, batchSize: 4 });
  try {
    const long = Array.from({ length: 70 }, (_v, i) => `w${i}`).join(" ");
    // batches of 4: short texts only (a few positions), one long text among short ones, the empty text
    const texts = ["a cat", "a photo of a dog", "hi", "a diagram of a small red house", "x", long, "a b c", "", "the end"];
    const ids = model.tokenize(texts);
    const want = await fullLength(ids, texts.length);
    const got = (await model.encodeTokens(ids, texts.length, { normalize: false })).data;
    let scale = 0;
    for (const v of want) scale = Math.max(scale, Math.abs(v));
    const err = maxAbsDiff(got, want);
    assert.ok(err <= 1e-6 * Math.max(1, scale), `max |trimmed - full| = ${err} (largest feature ${scale})`);
  } finally {
    await model.close();
  }
});

test("a text that fills the whole context runs at the full length", async () => {
  const model = await ClipModel.load(DIR, { threads: 2, truncate: "silent" });
  try {
    const text = Array.from({ length: 200 }, (_v, i) => `w${i}`).join(" ");
    const ids = model.tokenize([text]);
    assert.equal(ids[ids.length - 1], BigInt(model.tokenizer.eotToken), "truncated to end in the end-of-text token");
    const got = (await model.encodeTokens(ids, 1, { normalize: false })).data;
    assert.ok(maxAbsDiff(got, await fullLength(ids, 1)) <= 1e-6);
  } finally {
    await model.close();
  }
});

test("encodeTokens refuses ids that are not [n, context_length]", async () => {
  const model = await ClipModel.load(DIR, { threads: 1 });
  try {
    await assert.rejects(model.encodeTokens(new BigInt64Array(10), 1), /encodeTokens: 10 ids for 1 texts of 77/);
  } finally {
    await model.close();
  }
});
