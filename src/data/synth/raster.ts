/** @file Rasterizing the synthetic scenes into RGB buffers: textured backgrounds, anti-aliased shapes, bitmap words. */
import type { Rng } from "../../util/rng.js";
import { FONT, GLYPH_H, GLYPH_W } from "./font.js";

export type RGB = readonly [number, number, number];

export const SHAPES = ["circle", "square", "triangle", "star", "ring", "cross", "diamond", "hexagon"] as const;
export type Shape = (typeof SHAPES)[number];

export const BACKGROUNDS = ["plain", "striped", "checkered", "dotted", "gradient", "noisy"] as const;
export type Background = (typeof BACKGROUNDS)[number];

/** Polygon outlines at unit radius, pointing up (image y grows downward). */
function unitPolygon(shape: Shape): [number, number][] | null {
  const ring = (n: number, r: number, phase: number): [number, number][] =>
    Array.from({ length: n }, (_, i) => [r * Math.cos(phase + (2 * Math.PI * i) / n), r * Math.sin(phase + (2 * Math.PI * i) / n)] as [number, number]);
  switch (shape) {
    case "square":
      return [[-0.78, -0.78], [0.78, -0.78], [0.78, 0.78], [-0.78, 0.78]];
    case "triangle":
      return ring(3, 1.08, -Math.PI / 2).map(([x, y]) => [x, y + 0.15] as [number, number]);
    case "star":
      return Array.from({ length: 10 }, (_, i) => {
        const r = i % 2 ? 0.45 : 1.05;
        const a = -Math.PI / 2 + (Math.PI * i) / 5;
        return [r * Math.cos(a), r * Math.sin(a)] as [number, number];
      });
    case "diamond":
      return [[0, -1.05], [0.68, 0], [0, 1.05], [-0.68, 0]];
    case "hexagon":
      return ring(6, 0.95, 0);
    case "cross": {
      const a = 0.3;
      const b = 0.95;
      return [[-a, -b], [a, -b], [a, -a], [b, -a], [b, a], [a, a], [a, b], [-a, b], [-a, a], [-b, a], [-b, -a], [-a, -a]];
    }
    default:
      return null;
  }
}

/** Inscribed and circumscribed radii (unit radius) of each outline, for the fast paths. */
const RADII: Record<Shape, [number, number]> = {
  circle: [0.9, 0.9],
  ring: [0, 0.95],
  square: [0.78, 1.11],
  triangle: [0.38, 1.25],
  star: [0.35, 1.06],
  diamond: [0.57, 1.06],
  hexagon: [0.82, 0.96],
  cross: [0.3, 1.0],
};

/** Signed distance from (px, py) to a polygon (negative inside), after Inigo Quilez's sdPolygon. */
function sdPolygon(px: number, py: number, vx: Float64Array, vy: Float64Array): number {
  const n = vx.length;
  let d = (px - vx[0]!) ** 2 + (py - vy[0]!) ** 2;
  let s = 1;
  for (let i = 0, j = n - 1; i < n; j = i, i++) {
    const ex = vx[j]! - vx[i]!;
    const ey = vy[j]! - vy[i]!;
    const wx = px - vx[i]!;
    const wy = py - vy[i]!;
    let t = (wx * ex + wy * ey) / (ex * ex + ey * ey);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const bx = wx - ex * t;
    const by = wy - ey * t;
    const dd = bx * bx + by * by;
    if (dd < d) d = dd;
    const c1 = py >= vy[i]!;
    const c2 = py < vy[j]!;
    const c3 = ex * wy > ey * wx;
    if ((c1 && c2 && c3) || (!c1 && !c2 && !c3)) s = -s;
  }
  return s * Math.sqrt(d);
}

/** An RGB image being drawn. */
export class Canvas {
  readonly data: Uint8Array;

  constructor(readonly size: number) {
    this.data = new Uint8Array(size * size * 3);
  }

  /** Blends color c over pixel (x, y) with coverage a in [0, 1]. */
  private blend(x: number, y: number, c: RGB, a: number): void {
    const o = (y * this.size + x) * 3;
    const d = this.data;
    if (a >= 1) {
      d[o] = c[0];
      d[o + 1] = c[1];
      d[o + 2] = c[2];
    } else {
      d[o] = d[o]! + (c[0] - d[o]!) * a + 0.5;
      d[o + 1] = d[o + 1]! + (c[1] - d[o + 1]!) * a + 0.5;
      d[o + 2] = d[o + 2]! + (c[2] - d[o + 2]!) * a + 0.5;
    }
  }

  /** Fills the canvas with a texture in two tones. */
  background(kind: Background, base: RGB, alt: RGB, rng: Rng): void {
    const n = this.size;
    const period = Math.max(3, n * rng.uniform(0.06, 0.14));
    const angle = rng.pick([0, Math.PI / 2, Math.PI / 4, -Math.PI / 4]);
    const ca = Math.cos(angle);
    const sa = Math.sin(angle);
    const dotR2 = (period * rng.uniform(0.2, 0.32)) ** 2;
    const t = new Float32Array(n * n); // 0 = base tone, 1 = alternate tone
    switch (kind) {
      case "plain":
        break;
      case "striped":
        for (let y = 0, o = 0; y < n; y++) for (let x = 0; x < n; x++, o++) t[o] = Math.floor((x * ca + y * sa) / period) & 1;
        break;
      case "checkered":
        for (let y = 0, o = 0; y < n; y++) {
          const ry = Math.floor(y / period);
          for (let x = 0; x < n; x++, o++) t[o] = (Math.floor(x / period) + ry) & 1;
        }
        break;
      case "dotted":
        for (let y = 0, o = 0; y < n; y++) {
          const dy = (y % period) - period / 2;
          for (let x = 0; x < n; x++, o++) {
            const dx = (x % period) - period / 2;
            t[o] = dx * dx + dy * dy < dotR2 ? 1 : 0;
          }
        }
        break;
      case "gradient":
        for (let y = 0, o = 0; y < n; y++) {
          for (let x = 0; x < n; x++, o++) {
            const v = ((x * ca + y * sa) / n + 1) / 2;
            t[o] = v < 0 ? 0 : v > 1 ? 1 : v;
          }
        }
        break;
      case "noisy":
        for (let o = 0; o < n * n; o++) t[o] = rng.next() * 0.8;
        break;
    }
    const d = this.data;
    const [b0, b1, b2] = base;
    const d0 = alt[0] - b0;
    const d1 = alt[1] - b1;
    const d2 = alt[2] - b2;
    for (let o = 0, p = 0; o < n * n; o++, p += 3) {
      const v = t[o]!;
      d[p] = b0 + d0 * v;
      d[p + 1] = b1 + d1 * v;
      d[p + 2] = b2 + d2 * v;
    }
  }

  /** Draws an anti-aliased shape of radius r centred at (cx, cy), rotated by rot radians. */
  shape(shape: Shape, cx: number, cy: number, r: number, rot: number, color: RGB): void {
    const n = this.size;
    const x0 = Math.max(0, Math.floor(cx - r * 1.2 - 1));
    const x1 = Math.min(n - 1, Math.ceil(cx + r * 1.2 + 1));
    const y0 = Math.max(0, Math.floor(cy - r * 1.2 - 1));
    const y1 = Math.min(n - 1, Math.ceil(cy + r * 1.2 + 1));
    const poly = unitPolygon(shape);
    // pixels beyond the outer radius are empty and inside the inner radius are full: no distance needed
    const [inner, outer] = RADII[shape];
    const rIn2 = Math.max(0, inner * r - 1) ** 2;
    const rOut2 = (outer * r + 1) ** 2;
    let vx = new Float64Array(0);
    let vy = new Float64Array(0);
    if (poly) {
      const c = Math.cos(rot);
      const s = Math.sin(rot);
      vx = Float64Array.from(poly, ([x, y]) => cx + r * (x * c - y * s));
      vy = Float64Array.from(poly, ([x, y]) => cy + r * (x * s + y * c));
    }
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const px = x + 0.5;
        const py = y + 0.5;
        const q2 = (px - cx) ** 2 + (py - cy) ** 2;
        if (q2 >= rOut2) continue;
        if (q2 < rIn2 && shape !== "ring") {
          this.blend(x, y, color, 1);
          continue;
        }
        let dist: number;
        if (shape === "circle") dist = Math.hypot(px - cx, py - cy) - 0.9 * r;
        else if (shape === "ring") dist = Math.abs(Math.hypot(px - cx, py - cy) - 0.68 * r) - 0.27 * r;
        else dist = sdPolygon(px, py, vx, vy);
        const a = 0.5 - dist;
        if (a > 0) this.blend(x, y, color, a > 1 ? 1 : a);
      }
    }
  }

  /** Draws an upper-case word with the 5x7 font, each font pixel a scale x scale block, top-left at (x, y). */
  text(word: string, x: number, y: number, scale: number, color: RGB): void {
    const n = this.size;
    let cx = Math.round(x);
    const cy = Math.round(y);
    for (const ch of word.toUpperCase()) {
      const g = FONT[ch];
      if (g) {
        for (let gy = 0; gy < GLYPH_H; gy++) {
          for (let gx = 0; gx < GLYPH_W; gx++) {
            if (!g[gy * GLYPH_W + gx]) continue;
            for (let sy = 0; sy < scale; sy++) {
              for (let sx = 0; sx < scale; sx++) {
                const px = cx + gx * scale + sx;
                const py = cy + gy * scale + sy;
                if (px >= 0 && py >= 0 && px < n && py < n) this.blend(px, py, color, 1);
              }
            }
          }
        }
      }
      cx += (GLYPH_W + 1) * scale;
    }
  }
}

/** Width in pixels of a word drawn at `scale`. */
export function textWidth(word: string, scale: number): number {
  return (word.length * (GLYPH_W + 1) - 1) * scale;
}
