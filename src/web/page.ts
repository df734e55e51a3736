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
<p><a href="demo.html">Train a small CLIP in this page</a>. Everything runs in this page: our graphs on onnxruntime-web (WASM), our tokenizer and reference-exact image preprocessing. No image leaves your machine.</p>
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

/** The demo page: `clip demo` trained in the browser with a live loss curve and the zero-shot table. */
export function demoPageHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Train CLIP in the browser</title>
<style>
body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 960px; padding: 0 1rem; color: #222; }
input { width: 6rem; } svg { width: 100%; height: 200px; border: 1px solid #ccc; border-radius: 6px; }
table { border-collapse: collapse; margin: 1rem 0; } td, th { border: 1px solid #ccc; padding: .3rem .6rem; }
</style>
</head>
<body id="app" data-page="demo">
<h1>Train CLIP in the browser</h1>
<p>The procedural world of <code>clip demo</code> is rendered in this page, a vocabulary is learned from its captions and a small CLIP (ViT 64 px, 4 layers; text transformer, 3 layers) is trained from scratch here, on onnxruntime-web. At the end: zero-shot accuracy on color-shape pairs never seen in training, and the checkpoint (open_clip layout) to download.</p>
<p><label>steps <input id="steps" type="number" value="200" min="1"></label>
<label>batch <input id="batch" type="number" value="64" min="2"></label>
<label>scenes <input id="scenes" type="number" value="4000" min="100"></label>
<label>evaluation scenes <input id="evaln" type="number" value="200" min="10"></label>
<button id="train">Train</button></p>
<div id="status"></div>
<svg id="curve" viewBox="0 0 600 200" preserveAspectRatio="none"></svg>
<table id="zeroshot"></table>
<ul id="files"></ul>
<script type="module" src="clip.js"></script>
</body>
</html>
`;
}
