/** @file transformers.js q8 on the same weights (issue 16): our `clip bench --precision fp32|int8` against
 * transformers.js 4.3.1 (`@huggingface/transformers`, dtype "q8", and "fp32" unless --no-tjs-fp32) running
 * CLIPVisionModelWithProjection / CLIPTextModelWithProjection on ONNX files made from the same checkpoint,
 * all sides in their own processes, the order rotating between rounds; medians over rounds. Then the
 * agreement of the embeddings on real images and texts, each side through its own preprocessing and tokenizer.
 *
 * The transformers.js model folder is made offline, once per checkpoint (cached under --cache):
 * onnx/{vision,text}_model.onnx emitted by our ONNX layer with Hugging Face's input and output names
 * (pixel_values -> image_embeds, input_ids -> text_embeds), onnx/*_quantized.onnx from them by
 * bench/int8/tjs_quantize.py (transformers.js's own q8 settings, run by `python3` from PATH with onnx
 * and onnxruntime installed, or --python), config.json / preprocessor_config.json as our HF writer makes
 * them, and a tokenizer.json (CLIPTokenizerFast's) built from the checkpoint's vocab.json + merges.txt.
 *
 * Then all sides again in one process, a batch each in turn (--iters per side and tower; 0 skips it).
 *
 * Run: node dist/bench/int8/transformersjs.js --model DIR [--batch 16] [--threads 2] [--rounds 3]
 *        [--seconds 8] [--iters 15] [--cache DIR] [--python python3] [--no-tjs-fp32] [--images DIR] [--json]
 */
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as T from "../../src/ir/tensor.js";
import { encodeImage, encodeText, paramLeaves } from "../../src/models/clip/towers.js";
import { emitModel } from "../../src/onnx/emit.js";
import { timeRuns } from "../../src/cli/bench_model.js";
import { loadCheckpoint } from "../../src/weights/checkpoint.js";
import { hfConfigJson, hfPreprocessorJson } from "../../src/weights/hf.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "../../..");
const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const batch = Number(arg("--batch", "16"));
const threads = Number(arg("--threads", "2"));
const seconds = Number(arg("--seconds", "8"));
const modelArg = arg("--model", "");
if (!modelArg) {
  process.stderr.write("usage: node dist/bench/int8/transformersjs.js --model DIR [--rounds 3] (DIR: an open_clip checkpoint, e.g. from clip init --arch ViT-B-32)\n");
  process.exit(2);
}
const model = path.resolve(modelArg);
const cli = path.join(ROOT, "bin/clip.js");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface Rates {
  images_per_second: number;
  texts_per_second: number;
  peak_rss_mb?: number;
}

// ---------------------------------------------------------------- the transformers.js model folder

/**
 * CLIPTokenizerFast's tokenizer.json for a CLIP BPE vocabulary (vocab.json + merges.txt): field for field what
 * transformers 5.18's `AutoTokenizer.from_pretrained(dir).save_pretrained(...)` writes for the same two files
 * except merges as "a b" strings rather than pairs (checked: equal otherwise, and the same ids from both on
 * the 20 reference texts of shared/fixtures and 5 more).
 */
function clipTokenizerJson(vocabJson: string, mergesTxt: string): object {
  const vocab = JSON.parse(fs.readFileSync(vocabJson, "utf8")) as Record<string, number>;
  const merges = fs
    .readFileSync(mergesTxt, "utf8")
    .split("\n")
    .filter((l) => l.length > 0 && !l.startsWith("#version"));
  const special = (id: number, content: string): object => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const sot = "<|startoftext|>";
  const eot = "<|endoftext|>";
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(vocab[sot], sot), special(vocab[eot], eot)],
    normalizer: { type: "Sequence", normalizers: [{ type: "NFC" }, { type: "Replace", pattern: { Regex: "\\s+" }, content: " " }, { type: "Lowercase" }] },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" }, behavior: "Removed", invert: true },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: { type: "RobertaProcessing", sep: [eot, vocab[eot]], cls: [sot, vocab[sot]], trim_offsets: false, add_prefix_space: false },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: eot, continuing_subword_prefix: "", end_of_word_suffix: "</w>", fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges },
  };
}

/** Writes (once; cached by the weights file's size and mtime) the transformers.js folder for the checkpoint. */
function exportTjs(cacheRoot: string, python: string): string {
  const ck = loadCheckpoint(model);
  const st = fs.statSync(ck.weightsFile);
  const key = crypto.createHash("sha256").update(`${ck.weightsFile}:${st.size}:${st.mtimeMs}`).digest("hex").slice(0, 16);
  const dir = path.join(cacheRoot, key);
  const done = path.join(dir, ".complete");
  if (fs.existsSync(done)) return dir;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, "onnx"), { recursive: true });
  const c = ck.config;
  const ls = ck.state.get("logit_scale")?.data[0];
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(hfConfigJson(c, ls), null, 2));
  fs.writeFileSync(path.join(dir, "preprocessor_config.json"), JSON.stringify(hfPreprocessorJson(ck.preprocess), null, 2));
  const { vocabJson, merges } = ck.tokenizer;
  if (!vocabJson || !merges) throw new Error(`${model}: the bench builds tokenizer.json from vocab.json + merges.txt, which this checkpoint lacks`);
  fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(clipTokenizerJson(vocabJson, merges)));
  fs.writeFileSync(
    path.join(dir, "tokenizer_config.json"),
    JSON.stringify(
      { tokenizer_class: "CLIPTokenizer", bos_token: "<|startoftext|>", eos_token: "<|endoftext|>", pad_token: "<|endoftext|>", unk_token: "<|endoftext|>", do_lower_case: true, model_max_length: c.text_cfg.context_length },
      null,
      2,
    ),
  );
  const weights = (n: string): Float32Array | undefined => ck.state.get(n)?.data;
  const P = paramLeaves(c);
  const S = c.vision_cfg.image_size;
  const towers: { name: string; out: Record<string, T.Tensor> }[] = [
    { name: "vision_model", out: { image_embeds: encodeImage(c, T.input("pixel_values", "float32", ["batch_size", 3, S, S]), P) } },
    { name: "text_model", out: { text_embeds: encodeText(c, T.input("input_ids", "int64", ["batch_size", c.text_cfg.context_length]), P) } },
  ];
  for (const t of towers) {
    const file = path.join(dir, "onnx", `${t.name}.onnx`);
    fs.writeFileSync(file, emitModel(t.out, { weights, graphName: t.name }).bytes);
    const q = path.join(dir, "onnx", `${t.name}_quantized.onnx`);
    process.stderr.write(execFileSync(python, [path.join(ROOT, "bench/int8/tjs_quantize.py"), file, q], { encoding: "utf8" }));
  }
  fs.writeFileSync(done, "");
  return dir;
}

// ---------------------------------------------------------------- child processes: one side each

/** The same synthetic inputs as `clip bench` (src/cli/bench_model.ts): pixels in [-2, 2), 8-19 tokens per text. */
function benchInputs(S: number, L: number, vocab: number): { pixels: Float32Array; ids: BigInt64Array } {
  const pixels = new Float32Array(batch * 3 * S * S);
  let seed = 1;
  for (let i = 0; i < pixels.length; i++) pixels[i] = ((seed = (seed * 16807) % 2147483647) / 2147483647) * 4 - 2;
  const ids = new BigInt64Array(batch * L);
  for (let b = 0; b < batch; b++) {
    const len = 8 + (b % 12);
    ids[b * L] = BigInt(vocab - 2);
    for (let j = 1; j < len; j++) ids[b * L + j] = BigInt((seed = (seed * 16807) % 2147483647) % (vocab - 2));
    ids[b * L + len] = BigInt(vocab - 1);
  }
  return { pixels, ids };
}


// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Tjs = any;
/** transformers.js on the local folder only: no hub, no remote files. */
async function tjs(dir: string): Promise<Tjs> {
  const t: Tjs = await import("@huggingface/transformers");
  t.env.allowRemoteModels = false;
  t.env.allowLocalModels = true;
  t.env.localModelPath = path.dirname(dir);
  t.env.useBrowserCache = false;
  t.env.useFSCache = false;
  return t;
}
const tjsOptions = (dtype: string): object => ({ dtype, device: "cpu", session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 } });

/** transformers.js's two tower models at one dtype, timed on the bench inputs (the model call: session run and its tensor wrapping). */
async function tjsBench(dir: string, dtype: string): Promise<Rates> {
  const t = await tjs(dir);
  const name = path.basename(dir);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
  const S = cfg.vision_config.image_size;
  const L = cfg.text_config.max_position_embeddings;
  const { pixels, ids } = benchInputs(S, L, cfg.text_config.vocab_size);
  const vision = await t.CLIPVisionModelWithProjection.from_pretrained(name, tjsOptions(dtype));
  const pixel_values = new t.Tensor("float32", pixels, [batch, 3, S, S]);
  const img = await timeRuns(() => vision({ pixel_values }), seconds);
  await vision.dispose();
  const text = await t.CLIPTextModelWithProjection.from_pretrained(name, tjsOptions(dtype));
  const input_ids = new t.Tensor("int64", ids, [batch, L]);
  const txt = await timeRuns(() => text({ input_ids }), seconds);
  await text.dispose();
  return { images_per_second: batch / img, texts_per_second: batch / txt, peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024) };
}

/**
 * Every side in this one process, one batch each in turn (images, then texts), so a burst of load from
 * other jobs hits all of them alike: median seconds per batch of each. Our sides are ClipModel (what
 * `clip bench` times), transformers.js's its tower models.
 */
async function interleaved(dir: string, dtypes: string[], iters: number): Promise<Record<string, Rates>> {
  const { ClipModel } = await import("../../src/clip/model.js");
  const t = await tjs(dir);
  const name = path.basename(dir);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
  const S = cfg.vision_config.image_size;
  const L = cfg.text_config.max_position_embeddings;
  const { pixels, ids } = benchInputs(S, L, cfg.text_config.vocab_size);
  const pixel_values = new t.Tensor("float32", pixels, [batch, 3, S, S]);
  const input_ids = new t.Tensor("int64", ids, [batch, L]);
  const sides: { name: string; image: () => Promise<unknown>; text: () => Promise<unknown>; close: () => Promise<unknown> }[] = [];
  for (const precision of ["fp32", "int8"] as const) {
    const m = await ClipModel.load(model, { threads, precision, batchSize: batch });
    sides.push({ name: `ours ${precision}`, image: () => m.encodePixels(pixels, batch), text: () => m.encodeTokens(ids, batch), close: () => m.close() });
  }
  for (const dtype of dtypes) {
    const vision = await t.CLIPVisionModelWithProjection.from_pretrained(name, tjsOptions(dtype));
    const text = await t.CLIPTextModelWithProjection.from_pretrained(name, tjsOptions(dtype));
    sides.push({ name: `tjs ${dtype}`, image: () => vision({ pixel_values }), text: () => text({ input_ids }), close: async () => (await vision.dispose(), await text.dispose()) });
  }
  const times: Record<string, { image: number[]; text: number[] }> = Object.fromEntries(sides.map((x) => [x.name, { image: [], text: [] }]));
  for (const tower of ["image", "text"] as const) {
    for (const x of sides) await x[tower](); // warm-up
    for (let i = 0; i < iters; i++) {
      for (let k = 0; k < sides.length; k++) {
        const x = sides[(k + i) % sides.length]; // the order rotates each iteration
        const t0 = performance.now();
        await x[tower]();
        times[x.name][tower].push((performance.now() - t0) / 1000);
      }
    }
  }
  for (const x of sides) await x.close();
  return Object.fromEntries(sides.map((x) => [x.name, { images_per_second: batch / median(times[x.name].image), texts_per_second: batch / median(times[x.name].text) }]));
}

const TEXTS = [
  "a photo of a cat.",
  "A Photo Of A DOG!!",
  "a diagram",
  "a red bicycle leaning against a brick wall, late afternoon",
  "two people walking on the beach at sunset",
  "a bowl of ramen with chopsticks",
  "Hello   world\tand\nnewlines",
  "numbers 1234 and symbols #&* mixed in",
  "don't you'll we've they're it's I'm",
  "café naïve résumé",
];

function imageFiles(): string[] {
  const d = path.resolve(arg("--images", path.join(ROOT, "../shared/fixtures/reference/images")));
  return fs
    .readdirSync(d)
    .filter((f) => /\.(png|jpe?g)$/i.test(f))
    .sort()
    .map((f) => path.join(d, f));
}

/** Row cosines of two [n, d] row-major matrices. */
function rowCos(a: Float32Array, b: Float32Array, d: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.length / d; i++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let j = i * d; j < (i + 1) * d; j++) {
      ab += a[j] * b[j];
      aa += a[j] * a[j];
      bb += b[j] * b[j];
    }
    out.push(ab / Math.sqrt(aa * bb));
  }
  return out;
}

/** Embeddings of every side on real images and texts, each through its own preprocessing and tokenizer, and their cosines. */
async function agreement(dir: string, withFp32: boolean): Promise<object> {
  const { ClipModel } = await import("../../src/clip/model.js");
  const files = imageFiles();
  const t = await tjs(dir);
  const name = path.basename(dir);
  const tokenizer = await t.AutoTokenizer.from_pretrained(name);
  const processor = await t.AutoProcessor.from_pretrained(name);
  const images = await Promise.all(files.map((f) => t.RawImage.read(f)));
  const pixel = await processor(images);
  const ours: Record<string, { img: Float32Array; txt: Float32Array; ids: BigInt64Array; imgTjsPixels: Float32Array }> = {};
  for (const precision of ["fp32", "int8"] as const) {
    const m = await ClipModel.load(model, { threads, precision, batchSize: batch });
    ours[precision] = {
      img: (await m.embedImages(files)).data,
      txt: (await m.embedTexts(TEXTS)).data,
      ids: m.tokenize(TEXTS),
      // transformers.js's own pixel_values through our tower: the difference of the towers alone
      imgTjsPixels: (await m.encodePixels(pixel.pixel_values.data as Float32Array, files.length)).data,
    };
    await m.close();
  }
  const L = ours.fp32.ids.length / TEXTS.length;
  const enc = tokenizer(TEXTS, { padding: "max_length", max_length: L, truncation: true });
  // token ids on the embedded texts and the tokenizer reference texts of shared/fixtures (ftfy and HTML cases among them)
  const refFile = path.join(ROOT, "../shared/fixtures/reference/tokenizer.json");
  const idTexts = [...TEXTS, ...(fs.existsSync(refFile) ? (JSON.parse(fs.readFileSync(refFile, "utf8")) as { cases: { text: string }[] }).cases.map((c) => c.text) : [])];
  const { ClipTokenizer } = await import("../../src/tokenizer/index.js");
  const ourTok = await ClipTokenizer.fromDir(model, { contextLength: L });
  const ourIds = ourTok.tokenizeTensor(idTexts, { contextLength: L, truncate: "silent" }).data;
  const tjsIds = tokenizer(idTexts, { padding: "max_length", max_length: L, truncation: true }).input_ids.data as BigInt64Array;
  // our ids pad with 0 after <|endoftext|>, transformers.js's with <|endoftext|>: compare up to the first <|endoftext|>
  const eot = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8")).text_config.vocab_size - 1;
  let sameIds = 0;
  const mismatches: string[] = [];
  for (let i = 0; i < idTexts.length; i++) {
    const a = [...ourIds.slice(i * L, (i + 1) * L)].map(Number);
    const b = [...tjsIds.subarray(i * L, (i + 1) * L)].map(Number);
    const cut = (x: number[]): string => (x.includes(eot) ? x.slice(0, x.indexOf(eot) + 1) : x).join(" "); // no <|endoftext|>: the whole row
    if (cut(a) === cut(b)) sameIds++;
    else mismatches.push(`${JSON.stringify(idTexts[i])}: ours ${cut(a)} / transformers.js ${cut(b)}`);
  }
  const embed = await t.CLIPVisionModelWithProjection.from_pretrained(name, tjsOptions("q8"));
  const result: Record<string, object> = {};
  const sides: Record<string, { img: Float32Array; txt: Float32Array }> = {};
  for (const dtype of withFp32 ? ["q8", "fp32"] : ["q8"]) {
    const vision = dtype === "q8" ? embed : await t.CLIPVisionModelWithProjection.from_pretrained(name, tjsOptions(dtype));
    const text = await t.CLIPTextModelWithProjection.from_pretrained(name, tjsOptions(dtype));
    sides[`tjs_${dtype}`] = { img: (await vision(pixel)).image_embeds.data as Float32Array, txt: (await text({ input_ids: enc.input_ids })).text_embeds.data as Float32Array };
    await vision.dispose();
    await text.dispose();
  }
  const d = ours.fp32.img.length / files.length;
  const stats = (xs: number[]): { mean: number; min: number } => ({ mean: xs.reduce((s, x) => s + x, 0) / xs.length, min: Math.min(...xs) });
  const pairs: [string, { img: Float32Array; txt: Float32Array }, string, { img: Float32Array; txt: Float32Array }][] = [
    ["int8", ours.int8, "fp32", ours.fp32],
    ...Object.entries(sides).flatMap(([k, v]): [string, { img: Float32Array; txt: Float32Array }, string, { img: Float32Array; txt: Float32Array }][] => [
      [k, v, "fp32", ours.fp32],
      [k, v, "int8", ours.int8],
    ]),
  ];
  for (const [a, x, b, y] of pairs) result[`${a} vs ours ${b}`] = { images: stats(rowCos(x.img, y.img, d)), texts: stats(rowCos(x.txt, y.txt, d)) };
  // the same pixels (transformers.js's preprocessing) into every tower: quantization alone, no resize differences
  const same: Record<string, object> = {};
  for (const [k, v] of Object.entries(sides)) {
    same[`${k} vs ours fp32`] = stats(rowCos(v.img, ours.fp32.imgTjsPixels, d));
    same[`${k} vs ours int8`] = stats(rowCos(v.img, ours.int8.imgTjsPixels, d));
  }
  same["ours int8 vs ours fp32"] = stats(rowCos(ours.int8.imgTjsPixels, ours.fp32.imgTjsPixels, d));
  if (sides.tjs_fp32) {
    same["tjs_q8 vs tjs_fp32"] = stats(rowCos(sides.tjs_q8.img, sides.tjs_fp32.img, d));
    result["tjs_q8 vs tjs_fp32"] = { images: same["tjs_q8 vs tjs_fp32"], texts: stats(rowCos(sides.tjs_q8.txt, sides.tjs_fp32.txt, d)) };
  }
  return { images: files.map((f) => path.basename(f)), texts: TEXTS.length, token_ids_equal: `${sameIds}/${idTexts.length}`, token_mismatches: mismatches, cosine: result, image_cosine_same_pixels: same };
}

// ---------------------------------------------------------------- the driver

const child = arg("--child", "");
if (child) {
  const dir = arg("--dir", "");
  const withFp32 = !process.argv.includes("--no-tjs-fp32");
  const out =
    child === "agreement" ? await agreement(dir, withFp32) : child === "interleaved" ? await interleaved(dir, withFp32 ? ["q8", "fp32"] : ["q8"], Number(arg("--iters", "15"))) : await tjsBench(dir, child);
  process.stdout.write(JSON.stringify(out) + "\n");
} else {
  const rounds = Number(arg("--rounds", "3"));
  const withFp32 = !process.argv.includes("--no-tjs-fp32");
  const dir = exportTjs(path.resolve(arg("--cache", path.join(os.homedir(), ".cache/clip-ts/transformersjs"))), arg("--python", "python3"));
  process.stderr.write(`transformers.js model folder: ${dir}\n`);
  const self = fileURLToPath(import.meta.url);
  const sideNames = ["ours fp32", "ours int8", "tjs q8", ...(withFp32 ? ["tjs fp32"] : [])];
  const run = (side: string): Rates => {
    if (side.startsWith("ours")) {
      const precision = side.split(" ")[1];
      return JSON.parse(execFileSync(process.execPath, [cli, "bench", "--model", model, "--batch", String(batch), "--threads", String(threads), "--seconds", String(seconds), "--precision", precision, "--json"], { encoding: "utf8" })) as Rates;
    }
    const out = execFileSync(process.execPath, [self, "--child", side.split(" ")[1], "--dir", dir, "--batch", String(batch), "--threads", String(threads), "--seconds", String(seconds)], { encoding: "utf8" });
    return JSON.parse(out.trim().split("\n").at(-1)!) as Rates;
  };
  const loadavg = (): string => os.loadavg().map((x) => x.toFixed(1)).join(" ");
  const runs: { rates: Record<string, Rates>; load: string }[] = [];
  for (let r = 0; r < rounds; r++) {
    // the order rotates between rounds so a burst of load from other jobs hits every side
    const order = sideNames.map((_, i) => sideNames[(i + r) % sideNames.length]);
    const rates: Record<string, Rates> = {};
    for (const s of order) rates[s] = run(s);
    runs.push({ rates, load: loadavg() });
    process.stderr.write(`round ${r + 1} (${order.join(", ")}): ${sideNames.map((s) => `${s} ${rates[s].images_per_second.toFixed(2)} img/s ${rates[s].texts_per_second.toFixed(2)} txt/s`).join("; ")} (load ${runs.at(-1)!.load})\n`);
  }
  const med = Object.fromEntries(
    sideNames.map((s) => [
      s,
      {
        images_per_second: median(runs.map((x) => x.rates[s].images_per_second)),
        texts_per_second: median(runs.map((x) => x.rates[s].texts_per_second)),
        peak_rss_mb: Math.max(...runs.map((x) => x.rates[s].peak_rss_mb ?? 0)),
      },
    ]),
  );
  // all sides in one process, a batch each in turn: the ratios least disturbed by other jobs' load
  const iters = Number(arg("--iters", "15"));
  const inter = (iters > 0
    ? JSON.parse(
        execFileSync(process.execPath, [self, "--child", "interleaved", "--dir", dir, "--model", model, "--threads", String(threads), "--batch", String(batch), "--iters", String(iters), ...(withFp32 ? [] : ["--no-tjs-fp32"])], { encoding: "utf8" }).trim().split("\n").at(-1)!,
      )
    : undefined) as Record<string, Rates> | undefined;
  const agree = JSON.parse(
    execFileSync(process.execPath, [self, "--child", "agreement", "--dir", dir, "--model", model, "--threads", String(threads), "--batch", String(batch), ...(withFp32 ? [] : ["--no-tjs-fp32"]), "--images", arg("--images", path.join(ROOT, "../shared/fixtures/reference/images"))], { encoding: "utf8" }).trim().split("\n").at(-1)!,
  );
  const f = (x: number): string => x.toFixed(2);
  const q8 = med["tjs q8"];
  console.log(`\nViT-B-32 ${model}, batch ${batch}, ${threads} threads, ${rounds} rounds (medians), ${os.cpus()[0]?.model ?? "cpu"}\n`);
  console.log("| side | images/s | texts/s | vs transformers.js q8 (images / texts) | peak RSS MB |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const s of sideNames) console.log(`| ${s} | ${f(med[s].images_per_second)} | ${f(med[s].texts_per_second)} | ${f(med[s].images_per_second / q8.images_per_second)}x / ${f(med[s].texts_per_second / q8.texts_per_second)}x | ${med[s].peak_rss_mb} |`);
  console.log(`\nload average after each round: ${runs.map((x) => x.load).join(" | ")}`);
  if (inter) {
    const q = inter["tjs q8"];
    console.log(`\nAll sides in one process, one batch each in turn, ${iters} batches per side and tower (medians; load after: ${loadavg()}):\n`);
    console.log("| side | images/s | texts/s | vs transformers.js q8 (images / texts) |");
    console.log("| --- | --- | --- | --- |");
    for (const s of sideNames) console.log(`| ${s} | ${f(inter[s].images_per_second)} | ${f(inter[s].texts_per_second)} | ${f(inter[s].images_per_second / q.images_per_second)}x / ${f(inter[s].texts_per_second / q.texts_per_second)}x |`);
  }
  console.log(`token ids transformers.js = ours: ${agree.token_ids_equal}${agree.token_mismatches.length ? `\n  ${agree.token_mismatches.join("\n  ")}` : ""}`);
  console.log(`\n| embedding cosine (${agree.images.length} images, ${agree.texts} texts) | images mean / min | texts mean / min |`);
  console.log("| --- | --- | --- |");
  for (const [k, v] of Object.entries(agree.cosine as Record<string, { images: { mean: number; min: number }; texts: { mean: number; min: number } }>)) {
    console.log(`| ${k} | ${v.images.mean.toFixed(5)} / ${v.images.min.toFixed(5)} | ${v.texts.mean.toFixed(5)} / ${v.texts.min.toFixed(5)} |`);
  }
  console.log(`\n| image embedding cosine, the same pixel_values (transformers.js's preprocessing) into every tower | mean / min |`);
  console.log("| --- | --- |");
  for (const [k, v] of Object.entries(agree.image_cosine_same_pixels as Record<string, { mean: number; min: number }>)) console.log(`| ${k} | ${v.mean.toFixed(5)} / ${v.min.toFixed(5)} |`);
  const json = { batch, threads, rounds, medians: med, per_round: runs, interleaved: inter, agreement: agree };
  if (process.argv.includes("--json")) console.log(JSON.stringify(json, null, 2));
}
