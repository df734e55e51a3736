/** @file Element types of graph tensors and the typed arrays that hold them. */

/** Element types of the graph IR. */
export type DType = "float32" | "float64" | "int64" | "int32" | "bool";

export const FLOAT_DTYPES: readonly DType[] = ["float32", "float64"];

export function isFloat(d: DType): boolean {
  return d === "float32" || d === "float64";
}

/** Typed array for each dtype as held on the host (int64 as BigInt64Array, bool as Uint8Array). */
export type HostArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export function allocHost(dtype: DType, size: number): HostArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(size);
    case "float64":
      return new Float64Array(size);
    case "int64":
      return new BigInt64Array(size);
    case "int32":
      return new Int32Array(size);
    case "bool":
      return new Uint8Array(size);
  }
}

/** The dtype a host array carries. */
export function dtypeOfHost(a: HostArray): DType {
  if (a instanceof Float32Array) return "float32";
  if (a instanceof Float64Array) return "float64";
  if (a instanceof BigInt64Array) return "int64";
  if (a instanceof Int32Array) return "int32";
  return "bool";
}
