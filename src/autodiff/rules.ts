/** @file Gradient rule of every op: given the op's output `y` and its cotangent `g`, the cotangent of each input.
 * Unbroadcasting, accumulation and skipping unused inputs happen once, in grad.ts. */
import type { OpAttrs, OpName } from "../ir/ops.js";
import { normAxis } from "../ir/shape.js";
import * as T from "../ir/tensor.js";
import type { Tensor } from "../ir/tensor.js";
import { InternalError } from "../errors.js";

/** `needs[i]` says whether input i wants a gradient; return null where it does not. */
type Rule<A> = (y: Tensor, g: Tensor, attrs: A, needs: boolean[]) => (Tensor | null)[];

/** Marks ops whose outputs carry no gradient (integer/bool results, barriers, leaves). */
export const NONDIFF = "nondiff" as const;

function zerosLike(shape: readonly (number | string)[], dtype: Tensor["dtype"]): Tensor {
  return T.expand(T.scalar(0, dtype), [...shape]);
}

/** Inverse permutation. */
function invPerm(perm: number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** Reinserts reduced axes as size 1 so `g` broadcasts against the input. */
function keepReduced(g: Tensor, x: Tensor, axes: number[], keepdims: boolean): Tensor {
  if (keepdims) return g;
  const r = x.rank;
  const ax = axes.map((a) => normAxis(a, r));
  // spell the dims out (-1 for a symbolic one): 0 would copy g's dim at the same index, which shifts
  let j = 0;
  const target = x.shape.map((d, i) => {
    if (ax.includes(i)) return 1;
    const gd = g.shape[j++];
    return typeof gd === "number" ? gd : -1;
  });
  return T.reshape(g, target);
}

/**
 * dB = A^T g of a matmul. When B is one matrix shared by a batch of A's rows (a linear layer over
 * [..., K] inputs), the batch dims fold into the rows: one [K, M] x [M, N] product with M the
 * batch's rows, instead of a [..., K, N] product per batch element that the driver then sums
 * (what torch's linear backward does too).
 */
function sharedRightGrad(a: Tensor, b: Tensor, g: Tensor): Tensor {
  const K = a.shape[a.rank - 1];
  const N = g.shape[g.rank - 1];
  if (b.rank !== 2 || a.rank <= 2 || typeof K !== "number" || typeof N !== "number") return T.matmul(T.mT(a), g);
  return T.matmul(T.mT(T.reshape(a, [-1, K])), T.reshape(g, [-1, N])); // [K, M] x [M, N] -> [K, N]
}

function count(x: Tensor, axes: number[]): number {
  return axes.reduce((s, a) => s * x.dim(a), 1);
}

/** dW of y = conv(x, w): correlate x with g (stride and dilation swap roles), per group. */
function convWeightGrad(x: Tensor, g: Tensor, kh: number, kw: number, a: OpAttrs["conv2d"]): Tensor {
  if (a.groups === 1 && (a.stride.every((s) => s === 1) || kh * kw <= MAX_STRIDED_TAPS)) return convWeightGradByTaps(x, g, kh, kw, a);
  const groups = a.groups;
  const cin = x.dim(1) / groups;
  const cout = g.dim(1) / groups;
  const parts: Tensor[] = [];
  for (let k = 0; k < groups; k++) {
    const xs = groups === 1 ? x : T.slice(x, 1, k * cin, (k + 1) * cin);
    const gs = groups === 1 ? g : T.slice(g, 1, k * cout, (k + 1) * cout);
    const xt = T.transpose(xs, [1, 0, 2, 3]); // [N, C, H, W] -> [C, N, H, W]
    const gt = T.transpose(gs, [1, 0, 2, 3]); // [N, O, h, w] -> [O, N, h, w]
    let dw = T.conv2d(xt, gt, { stride: a.dilation, dilation: a.stride, padding: a.pad }); // [C, O, kh', kw']
    if (dw.dim(2) !== kh) dw = T.slice(dw, 2, 0, kh);
    if (dw.dim(3) !== kw) dw = T.slice(dw, 3, 0, kw);
    parts.push(T.transpose(dw, [1, 0, 2, 3])); // [C, O, kh, kw] -> [O, C, kh, kw]
  }
  return parts.length === 1 ? parts[0] : T.concat(parts, 0);
}

/** n positions of x along axis from start, step apart: a slice unless it is the whole axis. */
function window(x: Tensor, axis: number, start: number, step: number, n: number): Tensor {
  return start === 0 && step === 1 && x.dim(axis) === n ? x : T.slice(x, axis, start, start + step * (n - 1) + 1, step);
}

/** Kernel taps up to which a strided ungrouped conv takes its weight gradient by taps (a ResNet stem's 3x3, not a ViT's patch kernel). */
const MAX_STRIDED_TAPS = 9;

/**
 * dW of an ungrouped conv as one matmul per kernel tap (i, j): dW[:, :, i, j] is g as [O, N*h*w]
 * times the input window at (i, j) (rows i*d, i*d + s, ..., h of them; columns likewise) as
 * [C, N*h*w], transposed. The whole batch is one well-shaped GEMM per tap; the correlation above
 * hands ORT's Conv a kernel as large as the output and a skinny im2col GEMM per input channel.
 */
function convWeightGradByTaps(x: Tensor, g: Tensor, kh: number, kw: number, a: OpAttrs["conv2d"]): Tensor {
  const C = x.dim(1);
  const O = g.dim(1);
  const h = g.dim(2);
  const w = g.dim(3);
  const [sh, sw] = a.stride;
  const [dh, dw] = a.dilation;
  let xp = x;
  if (a.pad[0] || a.pad[2]) xp = T.pad(xp, 2, a.pad[0], a.pad[2]);
  if (a.pad[1] || a.pad[3]) xp = T.pad(xp, 3, a.pad[1], a.pad[3]);
  const xt = T.transpose(xp, [1, 0, 2, 3]); // [N, C, Hp, Wp] -> [C, N, Hp, Wp]
  const gt = T.reshape(T.transpose(g, [1, 0, 2, 3]), [O, -1]); // [N, O, h, w] -> [O, N, h, w] -> [O, N*h*w]
  const taps: Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const win = window(window(xt, 2, i * dh, sh, h), 3, j * dw, sw, w); // [C, N, Hp, Wp] -> [C, N, h, w]
      taps.push(T.reshape(T.matmul(gt, T.mT(T.reshape(win, [C, -1]))), [O, C, 1])); // [O, N*h*w] x [N*h*w, C] -> [O, C] -> [O, C, 1]
    }
  }
  return T.reshape(taps.length === 1 ? taps[0]! : T.concat(taps, 2), [O, C, kh, kw]); // [O, C, kh*kw] -> [O, C, kh, kw]
}

/**
 * dX of y = conv(x, w): a transposed convolution of g, padded out to x's size. For a stride-1,
 * undilated, ungrouped conv over 16x16 or more it is the same sum as a convolution of g with w
 * transposed and flipped, padded by k - 1 - p, which ORT runs 1.5-6x faster there (its ConvTranspose
 * is a GEMM and a col2im; bench/train/conv_grad.ts) and no faster on smaller grids.
 */
function convInputGrad(g: Tensor, w: Tensor, xShape: readonly (number | string)[], a: OpAttrs["conv2d"]): Tensor {
  const kh = w.dim(2);
  const kw = w.dim(3);
  const flipPad = [kh - 1 - a.pad[0], kw - 1 - a.pad[1], kh - 1 - a.pad[2], kw - 1 - a.pad[3]] as [number, number, number, number];
  const grid = (xShape[2] as number) * (xShape[3] as number);
  if (a.groups === 1 && a.stride.every((s) => s === 1) && a.dilation.every((d) => d === 1) && kh * kw > 1 && grid >= 256 && flipPad.every((p) => p >= 0)) {
    const reverse = (k: number): Tensor => T.constant(BigInt64Array.from({ length: k }, (_v, i) => BigInt(k - 1 - i)), [k]);
    const flipped = T.gather(T.gather(T.transpose(w, [1, 0, 2, 3]), reverse(kh), 2), reverse(kw), 3); // [O, C, kh, kw] -> [C, O, kh, kw], taps reversed
    return T.conv2d(g, flipped, { padding: flipPad });
  }
  const full = (i: number, k: number, s: number, p0: number, p1: number, d: number): number => s * (g.dim(i) - 1) + (k - 1) * d + 1 - p0 - p1;
  const op: [number, number] = [
    (xShape[2] as number) - full(2, kh, a.stride[0], a.pad[0], a.pad[2], a.dilation[0]),
    (xShape[3] as number) - full(3, kw, a.stride[1], a.pad[1], a.pad[3], a.dilation[1]),
  ];
  return T.convTranspose2d(g, w, { stride: a.stride, padding: a.pad, dilation: a.dilation, groups: a.groups, outputPadding: op });
}

export const GRAD_RULES: { [K in OpName]: Rule<OpAttrs[K]> | typeof NONDIFF } = {
  input: NONDIFF,
  param: () => [],
  const: NONDIFF,
  // d(-x) = -dx
  neg: (_y, g) => [T.neg(g)],
  // d exp(x) = exp(x) dx
  exp: (y, g) => [T.mul(g, y)],
  // d log(x) = dx / x
  log: (y, g) => [T.div(g, y.inputs[0])],
  // d sqrt(x) = dx / (2 sqrt(x))
  sqrt: (y, g) => [T.div(T.mul(g, 0.5), y)],
  // d (1/x) = -dx / x^2
  reciprocal: (y, g) => [T.neg(T.mul(g, T.mul(y, y)))],
  // d tanh(x) = (1 - tanh^2) dx
  tanh: (y, g) => [T.mul(g, T.sub(1, T.mul(y, y)))],
  // d sigmoid(x) = s (1 - s) dx
  sigmoid: (y, g) => [T.mul(g, T.mul(y, T.sub(1, y)))],
  // d erf(x) = 2/sqrt(pi) exp(-x^2) dx
  erf: (y, g) => {
    const x = y.inputs[0];
    return [T.mul(g, T.mul(T.exp(T.neg(T.mul(x, x))), 2 / Math.sqrt(Math.PI)))];
  },
  // d|x| = sign(x) dx
  abs: (y, g) => {
    const x = y.inputs[0];
    return [T.mul(g, T.sub(T.cast(T.greater(x, 0), x.dtype), T.cast(T.less(x, 0), x.dtype)))];
  },
  // d relu(x) = [x > 0] dx
  relu: (y, g) => [T.where(T.greater(y.inputs[0], 0), g, 0)],
  // d(a+b) = da + db
  add: (_y, g) => [g, g],
  // d(a-b) = da - db
  sub: (_y, g, _a, needs) => [g, needs[1] ? T.neg(g) : null],
  // d(a*b) = b da + a db
  mul: (y, g, _a, needs) => [needs[0] ? T.mul(g, y.inputs[1]) : null, needs[1] ? T.mul(g, y.inputs[0]) : null],
  // d(a/b) = da / b - a db / b^2
  div: (y, g, _a, needs) => {
    const b = y.inputs[1];
    return [needs[0] ? T.div(g, b) : null, needs[1] ? T.neg(T.div(T.mul(g, y), b)) : null];
  },
  // d(a^b) = b a^(b-1) da + a^b log(a) db
  pow: (y, g, _a, needs) => {
    const [a, b] = y.inputs;
    return [needs[0] ? T.mul(g, T.mul(b, T.pow(a, T.sub(b, 1)))) : null, needs[1] ? T.mul(g, T.mul(y, T.log(a))) : null];
  },
  // ties split the gradient equally, as torch.maximum does
  maximum: (y, g, _a, needs) => {
    const [a, b] = y.inputs;
    const half = T.mul(T.cast(T.equal(a, b), g.dtype), 0.5);
    const ma = T.add(T.cast(T.greater(a, b), g.dtype), half);
    return [needs[0] ? T.mul(g, ma) : null, needs[1] ? T.mul(g, T.sub(1, ma)) : null];
  },
  minimum: (y, g, _a, needs) => {
    const [a, b] = y.inputs;
    const half = T.mul(T.cast(T.equal(a, b), g.dtype), 0.5);
    const ma = T.add(T.cast(T.less(a, b), g.dtype), half);
    return [needs[0] ? T.mul(g, ma) : null, needs[1] ? T.mul(g, T.sub(1, ma)) : null];
  },
  less: NONDIFF,
  greater: NONDIFF,
  equal: NONDIFF,
  // d where(c, a, b) = where(c, da, db)
  where: (y, g, _a, needs) => [null, needs[1] ? T.where(y.inputs[0], g, 0) : null, needs[2] ? T.where(y.inputs[0], 0, g) : null],
  cast: (y, g) => [T.cast(g, y.inputs[0].dtype)],
  // d(A B) = dA B + A dB: dA = g B^T, dB = A^T g (batch broadcasting undone by the driver)
  matmul: (y, g, _a, needs) => {
    const [a, b] = y.inputs;
    return [needs[0] ? T.matmul(g, T.mT(b)) : null, needs[1] ? sharedRightGrad(a, b, g) : null];
  },
  // straight-through: the rounding of x counts as identity, so with D = w * scale:
  // dx = g D^T, dscale = sum over rows of g * (x @ w), dbias = g; w is integer and takes none
  matmulInt8: (y, g, _a, needs) => {
    const [x, w, scale] = y.inputs;
    const wf = T.cast(w, "float32");
    return [
      needs[0] ? T.matmul(g, T.mT(T.mul(wf, scale))) : null,
      null,
      needs[2] ? T.mul(g, T.matmul(x, wf)) : null,
      g,
    ];
  },
  reshape: (y, g) => {
    const x = y.inputs[0];
    const target = x.shape.map((d, i) => (typeof d === "number" ? d : g.shape[i] === d ? 0 : -1));
    return [T.reshape(g, target)];
  },
  transpose: (_y, g, a) => [T.transpose(g, invPerm(a.perm))],
  // the driver sums g over the broadcast axes
  expand: (_y, g) => [g],
  // split g back along the axis
  concat: (y, g, a, needs) => {
    const ax = normAxis(a.axis, y.rank);
    let off = 0;
    return y.inputs.map((x, i) => {
      const n = x.dim(ax);
      const part = needs[i] ? T.slice(g, ax, off, off + n) : null;
      off += n;
      return part;
    });
  },
  // d pad = the unpadded part of g
  pad: (y, g, a) => [T.slice(g, a.axis, a.before, a.before + y.inputs[0].dim(a.axis))],
  // zero-pad g back to the input (step 1), or scatter it into zeros at the sliced positions
  slice: (y, g, a) => {
    const x = y.inputs[0];
    const ax = normAxis(a.axis, x.rank);
    const n = x.dim(ax);
    const idx: bigint[] = [];
    const s = a.start < 0 ? Math.max(a.start + n, 0) : Math.min(a.start, n);
    const e = a.end < 0 ? Math.max(a.end + n, 0) : Math.min(a.end, n);
    if (a.step === 1) return [T.pad(g, ax, s, n - s - g.dim(ax))];
    for (let i = s; i < e; i += a.step) idx.push(BigInt(i));
    const perm = [ax, ...x.shape.keys()].filter((v, i) => i === 0 || v !== ax);
    const gt = T.transpose(g, perm); // axis first
    const base = zerosLike(perm.map((p) => x.shape[p]), g.dtype);
    const out = T.scatterAdd(base, T.constant(BigInt64Array.from(idx), [idx.length]), gt);
    return [T.transpose(out, invPerm(perm))];
  },
  // rows gathered are scattered back (accumulating repeats)
  gather: (y, g, a, needs) => {
    if (!needs[0]) return [null, null];
    const [x, idx] = y.inputs;
    const ax = normAxis(a.axis, x.rank);
    const i64 = T.cast(idx, "int64");
    if (ax === 0) return [T.scatterAdd(zerosLike(x.shape, g.dtype), i64, g), null];
    const ri = idx.rank;
    // g: [x0..x(ax-1), I..., x(ax+1)..] -> [I..., x0..x(ax-1), x(ax+1)..]
    const gperm = [...Array(ri).keys()].map((i) => ax + i).concat([...Array(ax).keys()], [...Array(x.rank - ax - 1).keys()].map((i) => ax + ri + i));
    const xperm = [ax, ...[...Array(x.rank).keys()].filter((i) => i !== ax)];
    const base = zerosLike(xperm.map((p) => x.shape[p]), g.dtype);
    const out = T.scatterAdd(base, i64, T.transpose(g, gperm));
    return [T.transpose(out, invPerm(xperm)), null];
  },
  scatterAdd: (y, g, _a, needs) => [needs[0] ? g : null, null, needs[2] ? T.gather(g, y.inputs[1], 0) : null],
  // d sum = broadcast g
  reduceSum: (y, g, a) => [T.expand(keepReduced(g, y.inputs[0], a.axes, a.keepdims), [...y.inputs[0].shape])],
  reduceMean: (y, g, a) => {
    const x = y.inputs[0];
    return [T.expand(T.div(keepReduced(g, x, a.axes, a.keepdims), count(x, a.axes)), [...x.shape])];
  },
  // the gradient goes to the maxima, split among ties
  reduceMax: (y, g, a) => {
    const x = y.inputs[0];
    const m = keepReduced(y, x, a.axes, a.keepdims);
    const mask = T.cast(T.equal(x, m), x.dtype);
    const n = T.reduceSum(mask, a.axes, true);
    return [T.mul(T.div(mask, n), keepReduced(g, x, a.axes, a.keepdims))];
  },
  argmax: NONDIFF,
  oneHot: NONDIFF,
  // d softmax = y (g - sum(g y))
  softmax: (y, g, a) => [T.mul(y, T.sub(g, T.reduceSum(T.mul(g, y), [a.axis], true)))],
  // with xh = (x - mean) r, r = 1/sqrt(var + eps), gw = g w:
  // dx = r (gw - mean(gw) - xh mean(gw xh)), dw = sum(g xh), db = sum(g)
  layerNorm: (y, g, a, needs) => {
    const [x, w] = y.inputs;
    const mu = T.reduceMean(x, [-1], true);
    const xc = T.sub(x, mu);
    const r = T.rsqrt(T.add(T.reduceMean(T.mul(xc, xc), [-1], true), a.eps));
    const xh = T.mul(xc, r);
    let dx: Tensor | null = null;
    if (needs[0]) {
      const gw = T.mul(g, w);
      dx = T.mul(r, T.sub(T.sub(gw, T.reduceMean(gw, [-1], true)), T.mul(xh, T.reduceMean(T.mul(gw, xh), [-1], true))));
    }
    return [dx, needs[1] ? T.mul(g, xh) : null, needs[2] ? g : null];
  },
  // BatchNorm's whole backward (the statistics are x's, stopped by the caller: see OpAttrs.batchNormTrain).
  // Per channel, with a = invstd w, M = N*H*W, Sg = sum(g), S = sum(g xc):
  // dxc = a (g - Sg/M) - xc a invstd^2 S/M, dw = invstd S, db = Sg
  batchNormTrain: (y, g, _a, needs) => {
    const [xc, r, w] = y.inputs;
    if (needs[1]) throw new InternalError("batchNormTrain: invstd must be the stopped batch statistic of its input (its gradient is in the rule)");
    const c = xc.dim(1);
    const m = xc.dim(0) * xc.dim(2) * xc.dim(3);
    const r3 = T.reshape(r, [c, 1, 1]); // [C] -> [C, 1, 1]
    const sumG = T.reduceSum(g, [0, 2, 3], true); // [1, C, 1, 1]
    const s = T.reduceSum(T.mul(g, xc), [0, 2, 3], true); // [1, C, 1, 1]
    let dx: Tensor | null = null;
    if (needs[0]) {
      const a3 = T.mul(r3, T.reshape(w, [c, 1, 1])); // [C, 1, 1]
      const k = T.mul(T.mul(a3, T.mul(r3, r3)), T.div(s, m)); // [1, C, 1, 1]
      dx = T.sub(T.mul(T.sub(g, T.div(sumG, m)), a3), T.mul(xc, k));
    }
    return [dx, null, needs[2] ? T.reshape(T.mul(s, r3), [c]) : null, needs[3] ? T.reshape(sumG, [c]) : null];
  },
  conv2d: (y, g, a, needs) => {
    const [x, w] = y.inputs;
    return [needs[0] ? convInputGrad(g, w, x.shape, a) : null, needs[1] ? convWeightGrad(x, g, w.dim(2), w.dim(3), a) : null];
  },
  // convTranspose(x, w) is the input-gradient of conv(., w): its own gradients swap roles
  convTranspose2d: (y, g, a, needs) => {
    const [x, w] = y.inputs;
    const conv = { stride: a.stride, pad: a.pad, dilation: a.dilation, groups: a.groups };
    return [needs[0] ? T.conv2d(g, w, { stride: a.stride, padding: a.pad, dilation: a.dilation, groups: a.groups }) : null, needs[1] ? convWeightGrad(g, x, w.dim(2), w.dim(3), conv) : null];
  },
  // average pooling is a depthwise convolution with a constant 1/(kh kw) kernel; when its windows
  // tile the input (ModifiedResNet's), each input's share is its window's g / (kh kw): each row of g
  // spread over kw columns by a [w, w*kw] matmul, then each row repeated kh times (ORT's depthwise
  // ConvTranspose and its Expand of single elements are both slower)
  avgPool2d: (y, g, a) => {
    const x = y.inputs[0];
    const [kh, kw] = a.kernel;
    const dims = g.shape.every((d) => typeof d === "number") ? (g.shape as number[]) : undefined;
    if (dims && kh === a.stride[0] && kw === a.stride[1] && a.pad.every((p) => p === 0) && x.shape[2] === dims[2]! * kh && x.shape[3] === dims[3]! * kw) {
      const [n, c, h, w] = dims as [number, number, number, number];
      const spread = new Float32Array(w * w * kw);
      for (let j = 0; j < w; j++) spread.fill(1 / (kh * kw), j * w * kw + j * kw, j * w * kw + j * kw + kw);
      const wide = T.matmul(g, T.cast(T.constant(spread, [w, w * kw]), g.dtype)); // [N, C, h, w] x [w, w*kw] -> [N, C, h, w*kw]
      const rows = T.expand(T.reshape(wide, [n, c, h, 1, w * kw]), [n, c, h, kh, w * kw]); // [N, C, h, 1, w*kw] -> [N, C, h, kh, w*kw]
      return [T.reshape(rows, [n, c, h * kh, w * kw])]; // [N, C, h, kh, w*kw] -> [N, C, h*kh, w*kw]
    }
    const c = x.dim(1);
    const k = a.kernel[0] * a.kernel[1];
    const ones = new Float32Array(c * k).fill(1 / k);
    const w = T.cast(T.constant(ones, [c, 1, a.kernel[0], a.kernel[1]]), x.dtype);
    return [convInputGrad(g, w, x.shape, { stride: a.stride, pad: a.pad, dilation: [1, 1], groups: c })];
  },
  stopGradient: NONDIFF,
};
