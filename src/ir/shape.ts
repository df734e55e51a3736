/** @file Shapes with concrete or named symbolic dimensions, and numpy broadcasting over them. */

/** A dimension: a number, or a name for a size known only at run time (e.g. "B"). */
export type Dim = number | string;
export type Shape = readonly Dim[];

export { fmtShape } from "../errors.js";

export function isConcrete(s: Shape): s is readonly number[] {
  return s.every((d) => typeof d === "number");
}

export function numel(s: readonly number[]): number {
  let n = 1;
  for (const d of s) n *= d;
  return n;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Numpy broadcasting; returns null when the shapes are incompatible. */
export function broadcastShapes(a: Shape, b: Shape): Dim[] | null {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else return null;
  }
  return out;
}

/** Normalizes a possibly negative axis against a rank. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  return a;
}

/** Row-major strides of a concrete shape. */
export function strides(s: readonly number[]): number[] {
  const st = new Array<number>(s.length);
  let acc = 1;
  for (let i = s.length - 1; i >= 0; i--) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

/** Multiplies dims symbolically: numbers multiply, names join with '*'. */
export function mulDims(dims: readonly Dim[]): Dim {
  let n = 1;
  const names: string[] = [];
  for (const d of dims) {
    if (typeof d === "number") n *= d;
    else names.push(d);
  }
  if (names.length === 0) return n;
  return n === 1 ? names.join("*") : `${names.join("*")}*${n}`;
}
