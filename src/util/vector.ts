/** @file Dense row-major vector math shared by every layer: unit-normalizing rows and dot products (float64 accumulation). */

/** Scales each row of a row-major [n, dim] array to unit L2 norm, in place (sums in float64; zero rows stay zero). */
export function normalizeRows<A extends Float32Array | Float64Array>(data: A, dim: number): A {
  for (let o = 0; o < data.length; o += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[o + j]! * data[o + j]!;
    const r = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < dim; j++) data[o + j]! *= r;
  }
  return data;
}

/** Dot product of a[ao..ao+d) and b[bo..bo+d), four accumulators (float64). */
export function dot(a: Float32Array | Float64Array, ao: number, b: Float32Array | Float64Array, bo: number, d: number): number {
  let s0 = 0,
    s1 = 0,
    s2 = 0,
    s3 = 0;
  let j = 0;
  for (; j + 3 < d; j += 4) {
    s0 += a[ao + j]! * b[bo + j]!;
    s1 += a[ao + j + 1]! * b[bo + j + 1]!;
    s2 += a[ao + j + 2]! * b[bo + j + 2]!;
    s3 += a[ao + j + 3]! * b[bo + j + 3]!;
  }
  for (; j < d; j++) s0 += a[ao + j]! * b[bo + j]!;
  return s0 + s1 + s2 + s3;
}
