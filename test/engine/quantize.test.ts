/** @file The int8 quantizer against NumPy (test/fixtures-gen/make_int8_golden.py): scales and rounding exact. */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { dequantizePerChannel, quantizePerChannel, roundHalfEven } from "../../src/nn/quantize.js";
import { ROOT } from "../helpers/shared.js";

interface Golden {
  shape: [number, number];
  w: number[];
  axis0: { scale: number[]; q: number[] };
  axis1: { scale: number[]; q: number[] };
}

const golden = JSON.parse(fs.readFileSync(path.join(ROOT, "test/fixtures/int8-quantize.json"), "utf8")) as Golden;

for (const axis of [0, 1] as const) {
  test(`per-channel int8 (axis ${axis}): scales and values equal NumPy's exactly`, () => {
    const [rows, cols] = golden.shape;
    const r = quantizePerChannel(Float32Array.from(golden.w), rows, cols, axis);
    const want = axis === 0 ? golden.axis0 : golden.axis1;
    assert.deepEqual(Array.from(r.scale), Array.from(Float32Array.from(want.scale)));
    assert.deepEqual(Array.from(r.q), want.q);
    // dequantized values lie within half a step of the originals
    const back = dequantizePerChannel(r, rows, cols, axis);
    for (let i = 0; i < back.length; i++) {
      const s = r.scale[axis === 0 ? Math.floor(i / cols) : i % cols];
      assert.ok(Math.abs(back[i] - golden.w[i]) <= s / 2 + 1e-6 * s, `element ${i}`);
    }
  });
}

test("rounding is half to even, as numpy.rint", () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 126.5, 0.49999997, 2.6].map(roundHalfEven), [0, 2, 2, -0, -2, -2, 126, 0, 3]);
});
