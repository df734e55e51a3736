/** @file Tensor element types shared by the safetensors and PyTorch readers: sizes, typed arrays, fp16/bf16 conversion. */
import { UserError } from "../errors.js";

/** Element types, named as safetensors names them. */
export type DType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

/** The typed array holding each dtype's elements; F16 and BF16 are kept as their raw 16-bit patterns. */
export type TypedData =
  | Float64Array
  | Float32Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

/** A tensor as stored in a file: row-major, little-endian, any dtype. */
export interface RawTensor {
  dtype: DType;
  shape: number[];
  data: TypedData;
}

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export function isDType(s: string): s is DType {
  return Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

/** Number of elements of a shape ([] is a scalar: 1). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Typed array over `bytes` (little-endian). A view when `bytes` is suitably aligned, a copy
 * otherwise, so callers must not rely on either.
 */
export function typedFromBytes(dtype: DType, bytes: Uint8Array): TypedData {
  const size = DTYPE_BYTES[dtype];
  if (bytes.byteLength % size !== 0) {
    throw new UserError(`${dtype} data of ${bytes.byteLength} bytes is not a multiple of ${size}`);
  }
  const src = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const n = src.byteLength / size;
  switch (dtype) {
    case "F64":
      return new Float64Array(src.buffer, src.byteOffset, n);
    case "F32":
      return new Float32Array(src.buffer, src.byteOffset, n);
    case "F16":
    case "BF16":
      return new Uint16Array(src.buffer, src.byteOffset, n);
    case "I64":
      return new BigInt64Array(src.buffer, src.byteOffset, n);
    case "I32":
      return new Int32Array(src.buffer, src.byteOffset, n);
    case "I16":
      return new Int16Array(src.buffer, src.byteOffset, n);
    case "I8":
      return new Int8Array(src.buffer, src.byteOffset, n);
    case "U8":
    case "BOOL":
      return new Uint8Array(src.buffer, src.byteOffset, n);
  }
}

/** An empty typed array of `n` elements of `dtype`. */
export function allocTyped(dtype: DType, n: number): TypedData {
  return typedFromBytes(dtype, new Uint8Array(n * DTYPE_BYTES[dtype]));
}

/** The bytes of a typed array (a view, no copy). */
export function bytesOf(data: TypedData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** The dtype a typed array can hold without conversion (Uint16Array is taken as F16). */
export function dtypeOfTyped(data: TypedData): DType {
  if (data instanceof Float32Array) return "F32";
  if (data instanceof Float64Array) return "F64";
  if (data instanceof Uint16Array) return "F16";
  if (data instanceof BigInt64Array) return "I64";
  if (data instanceof Int32Array) return "I32";
  if (data instanceof Int16Array) return "I16";
  if (data instanceof Int8Array) return "I8";
  return "U8";
}

// fp16 -> fp32 by table: 65536 entries cover every bit pattern, one lookup per element.
let halfTable: Float32Array | undefined;
function getHalfTable(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24; // subnormal
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  halfTable = t;
  return t;
}

/** fp16 bit patterns -> float32 (exact). */
export function halfToFloat32(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const t = getHalfTable();
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
  return out;
}

/** bf16 bit patterns -> float32 (exact: bf16 is the top half of a float32). */
export function bf16ToFloat32(src: Uint16Array, out = new Float32Array(src.length)): Float32Array {
  const o = new Uint32Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < src.length; i++) o[i] = src[i] << 16;
  return out;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> fp16 bit pattern, round to nearest even (as torch's .half()). */
export function float32ToHalfBits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    // subnormal half (or zero)
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // may carry into the exponent: still correct
  e = h >>> 10;
  return sign | (e >= 31 ? 0x7c00 : h);
}

/** float32 -> bf16 bit pattern, round to nearest even (as torch's .bfloat16()). */
export function float32ToBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) return ((b >>> 16) | 0x40) & 0xffff; // quiet nan
  const rounded = b + 0x7fff + ((b >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** Float32 data -> F16 or BF16 bit patterns. */
export function float32ToHalf(src: Float32Array, dtype: "F16" | "BF16"): Uint16Array {
  const out = new Uint16Array(src.length);
  if (dtype === "F16") for (let i = 0; i < src.length; i++) out[i] = float32ToHalfBits(src[i]);
  else for (let i = 0; i < src.length; i++) out[i] = float32ToBf16Bits(src[i]);
  return out;
}

/**
 * Any tensor's elements as float32. F32 data is returned as is (no copy); F16/BF16 are upcast
 * exactly; integers, bools and F64 are converted element by element.
 */
export function toFloat32(t: RawTensor): Float32Array {
  const d = t.data;
  switch (t.dtype) {
    case "F32":
      return d as Float32Array;
    case "F16":
      return halfToFloat32(d as Uint16Array);
    case "BF16":
      return bf16ToFloat32(d as Uint16Array);
    case "I64": {
      const src = d as BigInt64Array;
      const out = new Float32Array(src.length);
      for (let i = 0; i < src.length; i++) out[i] = Number(src[i]);
      return out;
    }
    default:
      return Float32Array.from(d as ArrayLike<number>);
  }
}

/** Upcasts F16/BF16 tensors to F32; every other tensor is returned unchanged. */
export function upcastHalf(t: RawTensor): RawTensor {
  if (t.dtype !== "F16" && t.dtype !== "BF16") return t;
  return { dtype: "F32", shape: t.shape, data: toFloat32(t) };
}
