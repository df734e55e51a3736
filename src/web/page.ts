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
<link rel="stylesheet" href="style.css">
<style>
/* the rest of the look is clip serve's stylesheet (style.css, copied into the site) */
figure.card { margin: 0; }
.card figcaption { white-space: pre-line; padding: .4rem .6rem .6rem; font-size: .85rem; }
</style>
</head>
<body id="app"${o.model ? ` data-model="${esc(o.model)}"` : ""}>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<h1>clip <span class="dim">web</span></h1>
<p class="dim">${title}: everything runs in this page (our graphs on onnxruntime-web, our tokenizer and reference-exact preprocessing); no image leaves your machine. <a href="demo.html">Train a small CLIP in this page</a>.</p>
</header>
<main id="main">
<section aria-labelledby="images-title">
<h2 id="images-title">Zero-shot and search over your images</h2>
<div id="drop" class="drop" tabindex="0">Drop images here (JPEG, PNG, GIF, BMP)</div>
<label for="labels">Zero-shot labels (comma-separated)</label>
<input id="labels" type="text" value="cat, dog, car, tree">
<label for="query">Search the dropped images</label>
<input id="query" type="search" placeholder="a photo of ...">
<p id="status" class="status" role="status" aria-live="polite"></p>
<div id="results" class="grid" aria-label="Images"></div>
</section>
</main>
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
<link rel="stylesheet" href="style.css">
<style>
#steps, #batch, #scenes, #evaln { width: 6rem; } svg { width: 100%; height: 200px; border: 1px solid var(--line); border-radius: 10px; }
table { border-collapse: collapse; margin: 1rem 0; } td, th { border: 1px solid var(--line); padding: .3rem .6rem; }
</style>
</head>
<body id="app" data-page="demo">
<header class="top">
<h1>clip <span class="dim">web: train CLIP in the browser</span></h1>
</header>
<main id="main">
<section>
<p>The procedural world of <code>clip demo</code> is rendered in this page, a vocabulary is learned from its captions and a small CLIP (ViT 64 px, 4 layers; text transformer, 3 layers) is trained from scratch here, on onnxruntime-web. At the end: zero-shot accuracy on color-shape pairs never seen in training, and the checkpoint (open_clip layout) to download.</p>
<p><label>steps <input id="steps" type="number" value="200" min="1"></label>
<label>batch <input id="batch" type="number" value="64" min="2"></label>
<label>scenes <input id="scenes" type="number" value="4000" min="100"></label>
<label>evaluation scenes <input id="evaln" type="number" value="200" min="10"></label>
<button id="train">Train</button></p>
<p id="status" class="status" role="status" aria-live="polite"></p>
<svg id="curve" viewBox="0 0 600 200" preserveAspectRatio="none"></svg>
<table id="zeroshot"></table>
<ul id="files"></ul>
</section>
</main>
<script type="module" src="clip.js"></script>
</body>
</html>
`;
}
