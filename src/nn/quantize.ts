/**
 * @file int8 weight quantization, per output channel and symmetric: the math behind `precision:
 * "int8"` and `clip quantize`. Pure (no Node APIs); float32 arithmetic throughout, so the result
 * equals NumPy's `np.clip(np.rint(w / scale), -127, 127)` with `scale = absmax / 127` in float32.
 */

/** int8 values and their per-channel scales: w ~= q * scale[channel]. */
export interface QuantizedTensor {
  q: Int8Array;
  scale: Float32Array;
}

/** Rounds to the nearest integer, ties to even (numpy.rint, ONNX QuantizeLinear). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Quantizes a row-major [rows, cols] matrix with one scale per channel along `axis` (0: a scale per
 * row, as for torch.nn.Linear weights [out, in]; 1: a scale per column, as for `x @ proj`).
 * scale = max |w| / 127 over the channel (1 for an all-zero channel); q = round(w / scale) in
 * [-127, 127] (the symmetric int8 range: -128 is never used, as ONNX Runtime's quantizer does).
 */
export function quantizePerChannel(w: Float32Array, rows: number, cols: number, axis: 0 | 1): QuantizedTensor {
  if (w.length !== rows * cols) throw new Error(`internal: quantizePerChannel: ${w.length} values for [${rows}, ${cols}]`);
  const channels = axis === 0 ? rows : cols;
  const absmax = new Float32Array(channels);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const c = axis === 0 ? i : j;
      const a = Math.abs(w[i * cols + j]);
      if (a > absmax[c]) absmax[c] = a;
    }
  const scale = new Float32Array(channels);
  for (let c = 0; c < channels; c++) scale[c] = absmax[c] > 0 ? Math.fround(absmax[c] / 127) : 1;
  const q = new Int8Array(w.length);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const s = scale[axis === 0 ? i : j];
      const v = roundHalfEven(Math.fround(w[i * cols + j] / s));
      q[i * cols + j] = v > 127 ? 127 : v < -127 ? -127 : v;
    }
  return { q, scale };
}

/** w ~= q * scale back in float32 (for error measurements). */
export function dequantizePerChannel(t: QuantizedTensor, rows: number, cols: number, axis: 0 | 1): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = Math.fround(t.q[i * cols + j] * t.scale[axis === 0 ? i : j]);
  return out;
}
