/** @file Engine behaviour beyond single ops: edge cases of grad, a transformer block, errors, emission. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { grad } from "../../src/autodiff/grad.js";
import { fromHost, interpret } from "../../src/ir/interpret.js";
import * as T from "../../src/ir/tensor.js";
import type { Tensor } from "../../src/ir/tensor.js";
import { causalMask, linear, quickGelu, selfAttention } from "../../src/nn/functional.js";
import { emitModel } from "../../src/onnx/emit.js";
import { ModelProto } from "../../src/onnx/schema.js";
import { CompiledGraph } from "../../src/runtime/session.js";
import { UserError } from "../../src/errors.js";
import { makeInputs, maxAbs, maxAbsDiff } from "./harness.js";

const layerNormParams = (w: Tensor, b: Tensor) => (x: Tensor): Tensor => T.layerNorm(x, w, b);

test("an input that does not reach the output gets a zero gradient", () => {
  const b = makeInputs([{ shape: [2, 3] }, { shape: [4] }], "float64", 1);
  const [x, unused] = b.inputs;
  const [gx, gu] = interpret(grad(T.reduceSum(T.exp(x), [0, 1]), [x, unused]), b.feeds);
  assert.deepEqual(gu.shape, [4]);
  assert.equal(maxAbs(gu.data), 0);
  assert.ok(maxAbsDiff(gx.data, b.feeds.x0.data.map(Math.exp)) < 1e-12);
});

test("broadcast inputs receive gradients summed over the broadcast axes", () => {
  const b = makeInputs([{ shape: [2, 3] }, { shape: [1, 3] }, { shape: [] }], "float64", 2);
  const [a, row, s] = b.inputs;
  const [ga, grow, gs] = interpret(grad(T.reduceSum(T.mul(T.add(a, row), s), [0, 1]), [a, row, s]), b.feeds);
  assert.deepEqual(grow.shape, [1, 3]);
  assert.deepEqual(gs.shape, []);
  const sv = b.feeds.x2.data[0];
  assert.ok(maxAbsDiff(ga.data, new Float64Array(6).fill(sv)) < 1e-12);
  assert.ok(maxAbsDiff(grow.data, new Float64Array(3).fill(2 * sv)) < 1e-12);
  const total = Array.from(b.feeds.x0.data).reduce((p, v) => p + v, 0) + 2 * Array.from(b.feeds.x1.data).reduce((p, v) => p + v, 0);
  assert.ok(Math.abs(gs.data[0] - total) < 1e-12);
});

test("a weight shared by a batch (a linear layer) gets its gradient from one folded matmul, equal to the per-element sum", () => {
  const b = makeInputs([{ shape: [3, 4, 5] }, { shape: [5, 6] }, { shape: [3, 4, 6] }], "float64", 3);
  const [x, w, seed] = b.inputs;
  const [gw] = grad(T.reduceSum(T.mul(T.matmul(x, w), seed), [0, 1, 2]), [w]);
  // the gradient is a rank-2 matmul of the folded rows: no [3, 5, 6] product summed afterwards
  assert.equal(gw.op, "matmul");
  assert.deepEqual(gw.inputs.map((t) => t.rank), [2, 2]);
  const [got] = interpret([gw], b.feeds);
  const X = b.feeds.x0.data, G = b.feeds.x2.data;
  const want = new Float64Array(30);
  for (let n = 0; n < 3; n++) for (let t = 0; t < 4; t++) for (let k = 0; k < 5; k++) for (let j = 0; j < 6; j++) want[k * 6 + j] += X[(n * 4 + t) * 5 + k] * G[(n * 4 + t) * 6 + j];
  assert.deepEqual(got.shape, [5, 6]);
  assert.ok(maxAbsDiff(got.data, want) < 1e-12);
});

test("integer inputs refuse gradients; non-scalar outputs need a seed", () => {
  const ids = T.input("ids", "int64", [4]);
  const x = T.input("x", "float32", [4]);
  assert.throws(() => grad(T.reduceSum(x, [0]), [ids]), /cannot differentiate with respect to int64/);
  assert.throws(() => grad(T.exp(x), [x]), /is not a scalar; pass a seed of shape \[4\]/);
  const seeded = grad(T.exp(x), [x], [T.constant(new Float32Array(4).fill(1), [4])]);
  assert.deepEqual(seeded[0].shape, [4]);
});

function transformerBlock(prefix: string, x: Tensor, d: number, heads: number, mask: Tensor, params: Tensor[]): Tensor {
  const p = (name: string, shape: number[]): Tensor => {
    const t = T.input(`${prefix}.${name}`, "float64", shape);
    params.push(t);
    return t;
  };
  const ln1 = layerNormParams(p("ln_1.weight", [d]), p("ln_1.bias", [d]));
  const attn = {
    inProjWeight: p("attn.in_proj_weight", [3 * d, d]),
    inProjBias: p("attn.in_proj_bias", [3 * d]),
    outProjWeight: p("attn.out_proj.weight", [d, d]),
    outProjBias: p("attn.out_proj.bias", [d]),
  };
  const ln2 = layerNormParams(p("ln_2.weight", [d]), p("ln_2.bias", [d]));
  const fc = [p("mlp.c_fc.weight", [4 * d, d]), p("mlp.c_fc.bias", [4 * d])];
  const proj = [p("mlp.c_proj.weight", [d, 4 * d]), p("mlp.c_proj.bias", [d])];
  const h = T.add(x, selfAttention(ln1(x), attn, heads, mask));
  return T.add(h, linear(quickGelu(linear(ln2(h), fc[0], fc[1])), proj[0], proj[1]));
}

test("a two-layer pre-LN transformer block: forward and every parameter gradient", async () => {
  const [B, L, D, H] = [2, 5, 8, 2];
  const x = T.input("x", "float64", [B, L, D]);
  const params: Tensor[] = [];
  const mask = T.cast(causalMask(L), "float64");
  let h = transformerBlock("resblocks.0", x, D, H, mask, params);
  h = transformerBlock("resblocks.1", h, D, H, mask, params);
  const inputs = [x, ...params];
  const specs = inputs.map((t) => ({ shape: t.shape as number[], gen: t.shape.length === 1 && /ln_\d\.weight/.test((t.attrs as { name: string }).name) ? ("positive" as const) : undefined }));
  const b = makeInputs(specs, "float64", 7);
  // makeInputs names inputs x0..; rebuild feeds under the real names
  const feeds: Record<string, ReturnType<typeof fromHost>> = {};
  inputs.forEach((t, i) => (feeds[(t.attrs as { name: string }).name] = { shape: t.shape as number[], data: b.feeds[`x${i}`].data.map((v) => v * (i === 0 ? 1 : 0.5)) }));
  const built = { inputs, values: inputs.map((_t, i) => Float64Array.from(feeds[(inputs[i].attrs as { name: string }).name].data)), feeds };
  // forward: ORT against the interpreter
  const [ref] = interpret([h], feeds);
  const g = await CompiledGraph.compile({ h }, { threads: 1 });
  const feedHost: Record<string, { data: Float64Array; shape: number[] }> = {};
  inputs.forEach((t, i) => (feedHost[(t.attrs as { name: string }).name] = { data: built.values[i], shape: t.shape as number[] }));
  const got = await g.run(feedHost);
  await g.release();
  assert.ok(maxAbsDiff(got.h.data as Float64Array, ref.data) < 1e-10);
  // the causal mask: the first position's output does not depend on the last position's input
  const first = T.reduceSum(T.slice(h, 1, 0, 1), [0, 1, 2]);
  const [gx] = interpret(grad(first, [x]), feeds);
  for (let bi = 0; bi < B; bi++) for (let j = 0; j < D; j++) assert.equal(gx.data[(bi * L + L - 1) * D + j], 0);
  // gradients: one directional finite-difference check per parameter (and the input)
  assert.equal(params.length, 24);
  for (let k = 0; k < inputs.length; k++) {
    const name = (inputs[k].attrs as { name: string }).name;
    const res = fdCheckNamed(h, inputs[k], feeds, 100 + k);
    assert.ok(Math.abs(res.analytic - res.numeric) <= 1e-6 * Math.max(1, Math.abs(res.numeric)), `${name}: analytic ${res.analytic} vs numeric ${res.numeric}`);
  }
});

/** Directional finite difference for one named input of a graph. */
function fdCheckNamed(y: Tensor, wrt: Tensor, feeds: Record<string, ReturnType<typeof fromHost>>, seed: number): { analytic: number; numeric: number } {
  let s = seed;
  const r = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const yshape = y.shape as number[];
  const rv = Float64Array.from({ length: yshape.reduce((a, b) => a * b, 1) }, r);
  const loss = T.reduceSum(T.mul(y, T.constant(rv, yshape)), [...yshape.keys()]);
  const [gt] = grad(loss, [wrt]);
  const name = (wrt.attrs as { name: string }).name;
  const gv = interpret([gt], feeds)[0].data;
  const base = feeds[name];
  const dir = Float64Array.from({ length: base.data.length }, r);
  const analytic = gv.reduce((acc, v, i) => acc + v * dir[i], 0);
  const eps = 1e-6;
  const at = (sign: number): number => interpret([loss], { ...feeds, [name]: { shape: base.shape, data: base.data.map((v, i) => v + sign * eps * dir[i]) } })[0].data[0];
  return { analytic, numeric: (at(1) - at(-1)) / (2 * eps) };
}

test("shape errors name the op, the shapes and where the tensor was made", () => {
  const a = T.input("a", "float32", [8, 64]);
  const b = T.input("b", "float32", [32, 64]);
  assert.throws(() => T.matmul(a, b), /^ShapeError: matmul: \[8,64\] x \[32,64\]: inner dims 64 and 32 differ \(at .*graph\.test\.js/);
  assert.throws(() => T.add(a, T.input("c", "float32", [3])), /add: shapes \[8,64\] and \[3\] do not broadcast/);
  assert.throws(() => T.reshape(a, [3, -1]), /reshape: \[8,64\] -> \[3,-1\]: 512 elements do not divide by 3/);
  assert.throws(() => T.conv2d(T.input("x", "float32", [1, 3, 8, 8]), T.input("w", "float32", [4, 2, 3, 3])), /conv2d: input \[1,3,8,8\] has 3 channels/);
});

test("bad feeds are caught before ONNX Runtime sees them", async () => {
  const x = T.input("x", "float32", ["B", 4]);
  const y = T.input("y", "float32", ["B", 4]);
  const g = await CompiledGraph.compile({ out: T.add(x, y) });
  await assert.rejects(g.run({ x: { data: new Float32Array(8), shape: [2, 4] } }), (e: Error) => e instanceof UserError && /missing feed for input 'y'/.test(e.message));
  await assert.rejects(
    g.run({ x: { data: new Float32Array(8), shape: [2, 4] }, y: { data: new Float32Array(12), shape: [3, 4] } }),
    /dim 'B' is 2 in one feed and 3 in 'y'/,
  );
  await assert.rejects(g.run({ x: { data: new Float64Array(8), shape: [2, 4] }, y: { data: new Float32Array(8), shape: [2, 4] } }), /feed 'x' is float64, expected float32/);
  await assert.rejects(g.run({ x: { data: new Float32Array(8), shape: [2, 4] }, y: { data: new Float32Array(8), shape: [2, 4] }, z: { data: new Float32Array(1), shape: [1] } }), /unknown feed 'z'/);
  // a symbolic batch: one session, any batch size
  for (const n of [1, 3]) {
    const r = await g.run({ x: { data: new Float32Array(4 * n).fill(1), shape: [n, 4] }, y: { data: new Float32Array(4 * n).fill(2), shape: [n, 4] } });
    assert.deepEqual(r.out.shape, [n, 4]);
    assert.ok((r.out.data as Float32Array).every((v) => v === 3));
  }
  await g.release();
});

function smallModel(): Record<string, Tensor> {
  const x = T.input("x", "float32", ["B", 3]);
  const w = T.param("w", [3, 2]);
  return { y: T.softmax(T.add(T.matmul(x, w), T.scalar(0.5)), -1) };
}

test("equal graphs emit identical bytes", () => {
  const weights = (n: string): Float32Array | undefined => (n === "w" ? new Float32Array([1, 2, 3, 4, 5, 6]) : undefined);
  const a = emitModel(smallModel(), { weights }).bytes;
  const b = emitModel(smallModel(), { weights }).bytes;
  assert.equal(Buffer.compare(Buffer.from(a), Buffer.from(b)), 0);
});

test("params become initializers when given, inputs otherwise; external data runs the same", async () => {
  const w = new Float32Array(3 * 2).map((_v, i) => i / 7);
  const xv = { data: new Float32Array([1, 2, 3, -1, 0, 1]), shape: [2, 3] };
  const asInit = await CompiledGraph.compile(smallModel(), { weights: new Map([["w", w]]) });
  assert.deepEqual(asInit.inputs.map((i) => i.name), ["x"]);
  const asInput = await CompiledGraph.compile(smallModel());
  assert.deepEqual(asInput.inputs.map((i) => i.name).sort(), ["w", "x"]);
  const big = new Float32Array(600).map((_v, i) => Math.sin(i));
  const x = T.input("x", "float32", [1, 600]);
  const ext = await CompiledGraph.compile({ y: T.matmul(x, T.param("w", [600, 1])) }, { weights: new Map([["w", big]]), externalData: true });
  const r1 = await asInit.run({ x: xv });
  const r2 = await asInput.run({ x: xv, w: { data: w, shape: [3, 2] } });
  assert.deepEqual(Array.from(r1.y.data as Float32Array), Array.from(r2.y.data as Float32Array));
  const r3 = await ext.run({ x: { data: big, shape: [1, 600] } });
  const want = big.reduce((s, v) => s + v * v, 0);
  assert.ok(Math.abs((r3.y.data as Float32Array)[0] - want) < 1e-3 * want);
  await Promise.all([asInit.release(), asInput.release(), ext.release()]);
});

test("a weight used only transposed is stored transposed; one also used directly is not", () => {
  const x = T.input("x", "float32", ["B", 100]);
  const w = T.param("w", [3, 100]);
  const v = T.param("v", [100, 100]);
  const weights = (n: string): Float32Array | undefined => (n === "w" ? new Float32Array(300).map((_x, i) => i) : n === "v" ? new Float32Array(10000).map((_x, i) => -i) : undefined);
  const y = T.add(T.matmul(T.matmul(x, v), T.mT(w)), T.reduceSum(T.matmul(x, T.mT(v)), [1], true));
  const e = emitModel({ y }, { weights, externalData: { location: "x.bin" } });
  const graph = (ModelProto.decode(e.bytes) as unknown as { graph: { initializer: { name: string }[]; node: { opType: string }[] } }).graph;
  assert.deepEqual(graph.initializer.map((i) => i.name).filter((n) => /^[wv]/.test(n)).sort(), ["v", "w.T"]);
  assert.equal(graph.node.filter((n) => n.opType === "Transpose").length, 1, "only v's transpose remains");
  // the folded weight's bytes are w transposed: row j of w.T is column j of w
  const folded = e.external!.find((c) => c.byteLength === 1200)!;
  const wt = new Float32Array(folded.buffer, folded.byteOffset, 300);
  assert.deepEqual(Array.from(wt.subarray(0, 6)), [0, 100, 200, 1, 101, 201]);
  assert.deepEqual(Array.from(wt.subarray(297)), [99, 199, 299]);
});

test("large weights through the mapped file (folded transposes, streamed) match the interpreter, and the caller's copy can go first", async () => {
  const x = T.input("x", "float32", [2, 64]);
  const w1 = T.param("w1", [96, 64]);
  const w2 = T.param("w2", [64, 96]);
  const y = linear(quickGelu(linear(x, w1)), w2);
  const vals = new Map([
    ["w1", new Float32Array(96 * 64).map((_v, i) => Math.sin(i) * 0.1)],
    ["w2", new Float32Array(64 * 96).map((_v, i) => Math.cos(i) * 0.1)],
  ]);
  const xv = new Float32Array(128).map((_v, i) => Math.sin(3 * i));
  const want = interpret([y], { x: fromHost(Float64Array.from(xv), [2, 64]), w1: fromHost(Float64Array.from(vals.get("w1")!), [96, 64]), w2: fromHost(Float64Array.from(vals.get("w2")!), [64, 96]) })[0];
  const weights = new Map(vals);
  let copied = 0;
  const g = await CompiledGraph.compile({ y }, { weights, externalData: true, onWeightsCopied: () => (copied++, weights.clear()) });
  assert.equal(copied, 1);
  const got = (await g.run({ x: { data: xv, shape: [2, 64] } })).y.data as Float32Array;
  assert.ok(maxAbsDiff(got, want.data) < 1e-5, `max diff ${maxAbsDiff(got, want.data)}`);
  await g.release();
});

test("a weight that is an output as well as transposed is emitted as itself", async () => {
  const x = T.input("x", "float32", [1, 2]);
  const w = T.param("w", [3, 2]);
  const g = await CompiledGraph.compile({ y: T.matmul(x, T.mT(w)), wOut: w }, { weights: new Map([["w", new Float32Array([1, 2, 3, 4, 5, 6])]]) });
  const r = await g.run({ x: { data: new Float32Array([1, 1]), shape: [1, 2] } });
  assert.deepEqual(Array.from(r.y.data as Float32Array), [3, 7, 11]);
  assert.deepEqual(Array.from(r.wOut.data as Float32Array), [1, 2, 3, 4, 5, 6]);
  await g.release();
});
