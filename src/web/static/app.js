// clip serve's page script: search by text, image or "more like this" (GET/POST /v1/search),
// thumbnails from /v1/images/:id, and the zero-shot playground (POST /v1/classify).
// Plain ES module, no dependencies, no build step.

const $ = (id) => document.getElementById(id);
const K = 24;

/** The last search, re-run when the minimum score changes. */
let last = null;

function showError(message) {
  const el = $("error");
  el.textContent = message;
  el.hidden = !message;
}

async function call(url, init) {
  const r = await fetch(url, init);
  const body = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return body;
}

function minScore() {
  return Number($("min-score").value);
}

async function runSearch(query) {
  last = query;
  showError("");
  const status = $("search-status");
  status.textContent = "Searching…";
  try {
    let body;
    if (query.image) {
      const form = new FormData();
      form.append("image", query.image, query.image.name || "query-image");
      form.append("k", String(K));
      if (minScore() > 0) form.append("min_score", String(minScore()));
      body = await call("/v1/search", { method: "POST", body: form });
    } else {
      const p = new URLSearchParams({ k: String(K) });
      if (query.text) p.set("q", query.text);
      if (query.like) p.set("like", query.like);
      if (minScore() > 0) p.set("min_score", String(minScore()));
      body = await call(`/v1/search?${p}`);
    }
    render(body.results);
    const what = query.text ? `“${query.text}”` : query.like ? `images like ${query.like}` : "your image";
    status.textContent = `${body.results.length} result${body.results.length === 1 ? "" : "s"} for ${what}`;
  } catch (e) {
    status.textContent = "";
    showError(e.message);
  }
}

function render(results) {
  const list = $("results");
  list.replaceChildren();
  for (const r of results) {
    const li = document.createElement("li");
    li.className = "card";
    li.dataset.id = r.id;
    const name = r.path ? String(r.path).split(/[\\/]/).pop() : r.id;
    const img = document.createElement("img");
    img.src = `/v1/images/${encodeURIComponent(r.id)}`;
    img.alt = name;
    img.loading = "lazy";
    const meta = document.createElement("div");
    meta.className = "meta";
    const title = document.createElement("span");
    title.className = "name";
    title.textContent = name;
    title.title = r.path || r.id;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = r.score.toFixed(3);
    score.setAttribute("aria-label", `score ${r.score.toFixed(3)}`);
    const more = document.createElement("button");
    more.type = "button";
    more.className = "more";
    more.textContent = "More like this";
    more.setAttribute("aria-label", `More like ${name}`);
    more.addEventListener("click", () => {
      $("q").value = "";
      runSearch({ like: r.id });
    });
    meta.append(title, score);
    li.append(img, meta, more);
    list.append(li);
  }
}

function imageFrom(items) {
  for (const item of items || []) {
    if (item.kind === "file" && item.type.startsWith("image/")) return item.getAsFile();
    if (item instanceof File && item.type.startsWith("image/")) return item;
  }
  return null;
}

function setupSearch(enabled) {
  $("search-off").hidden = enabled;
  for (const el of document.querySelectorAll("#search-form input, #search-form button, #search-file, #min-score")) el.disabled = !enabled;
  $("drop").setAttribute("aria-disabled", String(!enabled));
  if (!enabled) return;

  $("search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("q").value.trim();
    if (text) runSearch({ text });
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (ev) => {
    ev.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    const file = imageFrom(ev.dataTransfer.files);
    if (file) runSearch({ image: file });
  });
  drop.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" || ev.key === " ") {
      ev.preventDefault();
      $("search-file").click();
    }
  });
  $("search-file").addEventListener("change", (ev) => {
    const file = ev.target.files[0];
    if (file) runSearch({ image: file });
  });
  document.addEventListener("paste", (ev) => {
    if ($("zeroshot").contains(document.activeElement)) return;
    const file = imageFrom(ev.clipboardData && ev.clipboardData.items);
    if (file) {
      ev.preventDefault();
      runSearch({ image: file });
    }
  });
  let timer;
  $("min-score").addEventListener("input", () => {
    $("min-score-value").textContent = minScore().toFixed(2);
    clearTimeout(timer);
    timer = setTimeout(() => last && runSearch(last), 200);
  });
}

function setupPlayground() {
  const file = $("zs-file");
  const preview = $("zs-preview");
  file.addEventListener("change", () => {
    const f = file.files[0];
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.hidden = !f;
    if (f) {
      preview.src = URL.createObjectURL(f);
      preview.alt = `Image to classify: ${f.name}`;
    }
  });
  $("classify-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError("");
    const f = file.files[0];
    if (!f) return;
    const form = new FormData();
    form.append("image", f, f.name);
    form.append("labels", $("labels").value);
    form.append("templates", $("templates").value);
    const status = $("classify-status");
    status.textContent = "Classifying…";
    try {
      const r = await call("/v1/classify", { method: "POST", body: form });
      drawBars(r.labels, r.probs);
      status.textContent = `Most likely: ${r.labels[0]} (${(100 * r.probs[0]).toFixed(1)}%)`;
    } catch (e) {
      status.textContent = "";
      showError(e.message);
    }
  });
}

function drawBars(labels, probs) {
  const list = $("bars");
  list.replaceChildren();
  labels.forEach((label, i) => {
    const pct = 100 * probs[i];
    const li = document.createElement("li");
    li.className = "bar-row";
    const name = document.createElement("span");
    name.className = "bar-label";
    name.textContent = label;
    const track = document.createElement("span");
    track.className = "bar-track";
    track.setAttribute("role", "meter");
    track.setAttribute("aria-valuemin", "0");
    track.setAttribute("aria-valuemax", "100");
    track.setAttribute("aria-valuenow", pct.toFixed(1));
    track.setAttribute("aria-label", label);
    const fill = document.createElement("span");
    fill.className = "bar-fill";
    fill.style.width = `${Math.max(pct, 0.5)}%`;
    track.append(fill);
    const value = document.createElement("span");
    value.className = "bar-value";
    value.textContent = `${pct.toFixed(1)}%`;
    li.append(name, track, value);
    list.append(li);
  });
}

async function init() {
  setupPlayground();
  try {
    const h = await call("/health");
    const m = h.model;
    const src = String(m.source).split(/[\\/]/).filter(Boolean).pop();
    $("model-status").textContent = `Model ${src} · ${m.embed_dim}-d` + (h.search ? ` · ${h.search.images} images indexed` : " · no index");
    setupSearch(Boolean(h.search));
    document.body.dataset.ready = "true";
  } catch (e) {
    $("model-status").textContent = "Server unreachable";
    showError(e.message);
  }
}

init();
