/** @file The HTML of the page `clip web` writes (and the tests load): the layout, styles and the bundle's script tag. */

/** Options of `pageHtml`. */
export interface PageOptions {
  /** URL (relative to the page) of the checkpoint's folder; none: the page only loads the bundle. */
  model?: string;
  title?: string;
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page: a drop zone, zero-shot labels, a search box and the results grid. */
export function pageHtml(o: PageOptions = {}): string {
  const title = esc(o.title ?? "CLIP in the browser");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 960px; padding: 0 1rem; color: #222; }
#drop { border: 2px dashed #888; border-radius: 8px; padding: 2rem; text-align: center; color: #555; }
label { display: block; margin: .8rem 0 .2rem; font-weight: 600; }
input { width: 100%; padding: .4rem; font: inherit; box-sizing: border-box; }
#status { color: #555; margin: .8rem 0; }
#results { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 1rem; }
figure { margin: 0; } figure img { width: 100%; border-radius: 6px; } figcaption { white-space: pre-line; font-size: 13px; }
</style>
</head>
<body id="app"${o.model ? ` data-model="${esc(o.model)}"` : ""}>
<h1>${title}</h1>
<p>Everything runs in this page: our graphs on onnxruntime-web (WASM), our tokenizer and reference-exact image preprocessing. No image leaves your machine.</p>
<div id="drop">Drop images here (JPEG, PNG, GIF, BMP)</div>
<label for="labels">Zero-shot labels (comma-separated)</label>
<input id="labels" value="cat, dog, car, tree">
<label for="query">Search the dropped images</label>
<input id="query" placeholder="a photo of ...">
<div id="status"></div>
<div id="results"></div>
<script type="module" src="clip.js"></script>
</body>
</html>
`;
}
