"""Golden values for the int8 quantizer (src/nn/quantize.ts), computed with NumPy in float32.

Writes test/fixtures/int8-quantize.json: a small matrix (random rows, rows of exact ties, a zero
row, a row whose extreme is negative) and, per channel axis, NumPy's scales and int8 values:
    scale = max|w| / 127 over the channel (float32; 1 for an all-zero channel)
    q     = clip(rint(w / scale), -127, 127)   (rint: ties to even)
Run: python3 test/fixtures-gen/make_int8_golden.py
"""
import json
import os

import numpy as np

rng = np.random.default_rng(16)
rows = [
    rng.standard_normal(8).astype(np.float32) * np.float32(0.05),
    rng.standard_normal(8).astype(np.float32) * np.float32(3.0),
    np.array([127, 2.5, -3.5, 0.5, -0.5, 126.5, 1.5, -126.5], dtype=np.float32),  # scale 1: every value a tie
    np.zeros(8, dtype=np.float32),
    np.array([-9.75, 0.1, 1e-4, 3.3, -2.2, 9.0, -0.0, 4.875], dtype=np.float32),
    rng.uniform(-1, 1, 8).astype(np.float32),
]
w = np.stack(rows)


def quantize(w, axis):
    absmax = np.abs(w).max(axis=1 - axis).astype(np.float32)
    scale = np.where(absmax > 0, absmax / np.float32(127), np.float32(1)).astype(np.float32)
    s = scale[:, None] if axis == 0 else scale[None, :]
    q = np.clip(np.rint(w / s), -127, 127).astype(np.int8)
    return scale, q


out = {"shape": list(w.shape), "w": [float(v) for v in w.ravel()]}
for axis in (0, 1):
    scale, q = quantize(w, axis)
    out[f"axis{axis}"] = {"scale": [float(v) for v in scale], "q": [int(v) for v in q.ravel()]}
path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "int8-quantize.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
print("wrote", os.path.normpath(path))
