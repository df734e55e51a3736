/// <reference lib="dom" />
/**
 * @file The browser bundle's entry: configures onnxruntime-web from the page's location, loads a
 * checkpoint's files over HTTP, and exposes the API on `globalThis.clipWeb` (the page's UI and the
 * tests drive it from there).
 */
import { setDefaultBackend } from "../../runtime/core.js";
import { configureWebRuntime, webBackend, webThreads } from "../../runtime/ort.web.js";
import { type Rows, WebClip } from "./model.js";
import { trainRun } from "./train.js";
import { startUi } from "./ui.js";
import { runDemo } from "./demo.js";
import { startDemoUi } from "./demo_ui.js";
import { checkpointFromBytes } from "../../weights/bytes.js";
import { readSafetensors } from "../../weights/safetensors.js";

/** Fetches a URL's bytes; a failed response throws with its status. */
export async function fetchBytes(url: string): Promise<Uint8Array> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`GET ${url}: ${r.status} ${r.statusText}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** Loads the checkpoint served under `base` (open_clip_config.json, open_clip_model.safetensors, bpe_simple_vocab_16e6.txt.gz). */
export async function loadModel(base: string): Promise<WebClip> {
  const u = (f: string): string => new URL(f, new URL(base, location.href)).href;
  const [config, weights, vocab] = await Promise.all([
    fetchBytes(u("open_clip_config.json")),
    fetchBytes(u("open_clip_model.safetensors")),
    fetchBytes(u("bpe_simple_vocab_16e6.txt.gz")).catch(() => undefined),
  ]);
  return WebClip.fromBytes({ config, weights, vocab }, base);
}

/** Copies a Rows' data into a plain array (for structured clone out of the page). */
function plain(r: Rows): { data: number[]; n: number; dim: number } {
  return { data: Array.from(r.data), n: r.n, dim: r.dim };
}


configureWebRuntime({ wasmBase: new URL("ort/", location.href).href });
setDefaultBackend(webBackend);

/** The page's API. */
export const api = { runDemo, loadModel, fetchBytes, plain, WebClip, trainRun, webThreads, checkpointFromBytes, readSafetensors };
(globalThis as { clipWeb?: typeof api }).clipWeb = api;

// the site's page names its checkpoint in <body data-model="model/">; test pages have none
const body = typeof document === "undefined" ? null : document.getElementById("app");
const status = (s: string): void => {
  const el = document.getElementById("status");
  if (el) el.textContent = s;
};
if (body?.dataset.page === "demo") startDemoUi(status);
if (body?.dataset.model) {
  status("loading the model...");
  loadModel(body.dataset.model).then(
    (m) => {
      status(`model ready (${m.embedDim}-d, ${webThreads()} WASM threads): drop images`);
      startUi(m, status);
    },
    (e: Error) => status(`error: ${e.message}`),
  );
}
