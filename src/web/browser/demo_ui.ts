/// <reference lib="dom" />
/**
 * @file The demo page's interface: trains `runDemo` on a button press with a live loss curve, then
 * shows the zero-shot table `clip demo` prints and links to the trained checkpoint's files.
 */
import { runDemo } from "./demo.js";

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** Draws losses as an SVG polyline into `svg` (viewBox 0 0 600 200). */
function drawCurve(svg: SVGElement, losses: number[], steps: number): void {
  const max = Math.max(...losses), min = Math.min(0, ...losses);
  const pts = losses.map((l, i) => `${((600 * i) / Math.max(1, steps - 1)).toFixed(1)},${(195 - (190 * (l - min)) / (max - min || 1)).toFixed(1)}`);
  svg.innerHTML = `<polyline fill="none" stroke="#2266cc" stroke-width="2" points="${pts.join(" ")}"/>`;
}

/** Wires the demo page's elements (found by id). */
export function startDemoUi(status: (s: string) => void): void {
  const $ = <E extends Element>(id: string): E => document.getElementById(id) as unknown as E;
  const button = $<HTMLButtonElement>("train");
  button.addEventListener("click", () => {
    button.disabled = true;
    const steps = Number($<HTMLInputElement>("steps").value);
    const batch = Number($<HTMLInputElement>("batch").value);
    const n = Number($<HTMLInputElement>("scenes").value);
    const losses: number[] = [];
    const t0 = performance.now();
    runDemo({
      n, steps, batch, seed: 0, evalN: Number($<HTMLInputElement>("evaln").value),
      onMessage: status,
      onStep: (s, loss) => {
        losses.push(loss);
        drawCurve($<SVGElement>("curve"), losses, steps);
        status(`step ${s + 1}/${steps}: loss ${loss.toFixed(3)} (${(((s + 1) * batch) / ((performance.now() - t0) / 1000)).toFixed(1)} samples/s)`);
      },
    }).then((r) => {
      const rows = (["shape", "color", "count"] as const).map((t) => `<tr><td>${t}</td><td>${pct(r.zeroshot![t].heldout)}</td><td>${pct(r.zeroshot![t].seen)}</td><td>${pct(r.zeroshot![t].chance)}</td></tr>`);
      $("zeroshot").innerHTML = `<tr><th>attribute</th><th>held-out color-shape pairs</th><th>seen pairs</th><th>chance</th></tr>${rows.join("")}`;
      $("files").replaceChildren(...Object.entries(r.files).map(([name, bytes]) => {
        const a = document.createElement("a");
        a.href = URL.createObjectURL(new Blob([bytes as BlobPart]));
        a.download = name;
        a.textContent = name;
        const li = document.createElement("li");
        li.append(a);
        return li;
      }));
      status(`trained ${steps} steps, final loss ${r.losses.at(-1)!.toFixed(3)}, ${r.samplesPerSecond.toFixed(1)} samples/s`);
    }, (e: Error) => status(`error: ${e.message}`)).finally(() => (button.disabled = false));
  });
}
