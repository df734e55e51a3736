/// <reference lib="dom" />
/**
 * @file The page's interface: loads the site's checkpoint, then zero-shot classifies dropped images
 * against the labels typed in, and ranks the dropped images against a text query. Everything runs
 * in the page (onnxruntime-web); the server only serves files.
 */
import type { Rows, WebClip } from "./model.js";

const TEMPLATE = "a photo of a {}.";

/** Row-major a @ b^T of normalized rows: cosine similarities [a.n, b.n]. */
function cosine(a: Rows, b: Rows): Float32Array {
  const out = new Float32Array(a.n * b.n);
  for (let i = 0; i < a.n; i++) {
    for (let j = 0; j < b.n; j++) {
      let s = 0;
      for (let k = 0; k < a.dim; k++) s += a.data[i * a.dim + k] * b.data[j * b.dim + k];
      out[i * b.n + j] = s;
    }
  }
  return out;
}

function softmax(row: Float32Array, scale: number): number[] {
  const m = Math.max(...row);
  const e = Array.from(row, (x) => Math.exp(scale * (x - m)));
  const z = e.reduce((x, y) => x + y, 0);
  return e.map((x) => x / z);
}

interface Dropped {
  name: string;
  url: string;
  bytes: Uint8Array;
}

/** Wires the page's elements to `model` (elements found by id; absent ones are skipped). */
export function startUi(model: WebClip, status: (s: string) => void): void {
  const $ = <E extends HTMLElement>(id: string): E | null => document.getElementById(id) as E | null;
  const drop = $("drop");
  const labels = $<HTMLInputElement>("labels");
  const query = $<HTMLInputElement>("query");
  const results = $("results");
  if (!drop || !labels || !query || !results) return;
  let images: Dropped[] = [];
  let embedded: Rows | undefined;

  async function render(): Promise<void> {
    if (!images.length) return;
    const t0 = performance.now();
    embedded ??= await model.embedImages(images.map((d) => d.bytes), true, images.map((d) => d.name));
    const names = labels!.value.split(",").map((s) => s.trim()).filter(Boolean);
    const q = query!.value.trim();
    const lab = names.length ? await model.embedTexts(names.map((n) => TEMPLATE.replace("{}", n))) : undefined;
    const sim = q ? cosine(embedded, await model.embedTexts([q])) : undefined;
    const order = images.map((_d, i) => i);
    if (sim) order.sort((a, b) => sim[b] - sim[a]);
    results!.replaceChildren(...order.map((i) => {
      const card = document.createElement("figure");
      card.className = "card";
      const img = document.createElement("img");
      img.src = images[i].url;
      const cap = document.createElement("figcaption");
      const lines = [images[i].name + (sim ? `  cos ${sim[i].toFixed(3)}` : "")];
      if (lab) {
        const p = softmax(cosine({ data: embedded!.data.subarray(i * embedded!.dim, (i + 1) * embedded!.dim), n: 1, dim: embedded!.dim }, lab), model.logitScale);
        names.map((n, j) => [n, p[j]] as const).sort((a, b) => b[1] - a[1]).slice(0, 3).forEach(([n, v]) => lines.push(`${n}: ${(100 * v).toFixed(1)}%`));
      }
      cap.textContent = lines.join("\n");
      card.append(img, cap);
      return card;
    }));
    status(`${images.length} images, ${(performance.now() - t0).toFixed(0)} ms`);
  }

  const run = (): void => void render().catch((e: Error) => status(`error: ${e.message}`));
  drop.addEventListener("dragover", (e) => e.preventDefault());
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    const files = Array.from(e.dataTransfer?.files ?? []);
    void Promise.all(files.map(async (f) => ({ name: f.name, url: URL.createObjectURL(f), bytes: new Uint8Array(await f.arrayBuffer()) }))).then((d) => {
      images = images.concat(d);
      embedded = undefined;
      run();
    });
  });
  labels.addEventListener("change", run);
  query.addEventListener("change", run);
}
