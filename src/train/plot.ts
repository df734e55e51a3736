/** @file A dependency-free SVG plot of the training loss and validation metrics over steps. */

export interface Series {
  name: string;
  points: [number, number][];
  color: string;
  /** Plot on the right axis (0..1 metrics) instead of the left (loss). */
  right?: boolean;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A 720x360 line chart: loss on the left axis, metrics in [0, 1] on the right. */
export function lineChartSvg(title: string, series: Series[]): string {
  const W = 720;
  const H = 360;
  const m = { l: 60, r: 60, t: 36, b: 40 };
  const all = series.flatMap((s) => s.points);
  const xmax = Math.max(1, ...all.map((p) => p[0]));
  const left = series.filter((s) => !s.right).flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  const ymax = left.length ? Math.max(...left) * 1.05 : 1;
  const ymin = left.length ? Math.min(0, Math.min(...left)) : 0;
  const x = (v: number): number => m.l + ((W - m.l - m.r) * v) / xmax;
  const yl = (v: number): number => H - m.b - ((H - m.t - m.b) * (v - ymin)) / (ymax - ymin || 1);
  const yr = (v: number): number => H - m.b - (H - m.t - m.b) * v;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#444"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#444"/>`,
    `<line x1="${W - m.r}" y1="${m.t}" x2="${W - m.r}" y2="${H - m.b}" stroke="#444"/>`,
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">step</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const lv = ymin + ((ymax - ymin) * i) / 4;
    out.push(`<text x="${m.l - 6}" y="${yl(lv) + 4}" text-anchor="end">${lv.toFixed(2)}</text>`);
    out.push(`<text x="${W - m.r + 6}" y="${yr(i / 4) + 4}">${(i / 4).toFixed(2)}</text>`);
    out.push(`<text x="${x((xmax * i) / 4)}" y="${H - m.b + 16}" text-anchor="middle">${Math.round((xmax * i) / 4)}</text>`);
  }
  series.forEach((s, k) => {
    const y = s.right ? yr : yl;
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length) out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ")}"/>`);
    if (pts.length < 30) for (const p of pts) out.push(`<circle cx="${x(p[0]).toFixed(1)}" cy="${y(p[1]).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    out.push(`<rect x="${m.l + 10}" y="${m.t + 6 + 16 * k}" width="10" height="10" fill="${s.color}"/>`);
    out.push(`<text x="${m.l + 26}" y="${m.t + 15 + 16 * k}">${esc(s.name)}${s.right ? " (right axis)" : ""}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
