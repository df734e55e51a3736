/**
 * @file The page's CLIP model: a checkpoint from fetched bytes, the tokenizer from the vocabulary's
 * bytes, the reference-exact image path (our JPEG/GIF/BMP decoders, image/png.ts for PNG, PIL
 * resampling) and one ONNX Runtime session per tower (onnxruntime-web in the page). Browser-safe core only.
 */
import { gunzipSync, strFromU8 } from "fflate";
import { UserError } from "../../errors.js";
import { imageConfig, type PreprocessConfig } from "../../image/config.js";
import { DEFAULT_MAX_PIXELS, sniffFormat } from "../../image/decode.js";
import { preprocessBytesSync } from "../../image/pipeline.js";
import { decodePng } from "../../image/png.js";
import { preprocessRGB } from "../../image/transform.js";
import * as T from "../../ir/tensor.js";
import type { ClipConfig, PreprocessCfg, StateDict } from "../../models/clip/config.js";
import { encodeImage, encodeText, paramLeaves } from "../../models/clip/towers.js";
import { type Backend, CompiledGraph } from "../../runtime/core.js";
import { ClipTokenizer } from "../../tokenizer/tokenizer.js";
import { normalizeRows } from "../../util/vector.js";
import { checkpointFromBytes } from "../../weights/bytes.js";

/** The files of a checkpoint directory, as bytes. */
export interface CheckpointBytes {
  config: Uint8Array;
  weights: Uint8Array;
  /** bpe_simple_vocab_16e6.txt.gz (or the text itself); without it only images embed. */
  vocab?: Uint8Array;
}

/** Embeddings: [n, dim] row-major float32. */
export interface Rows {
  data: Float32Array;
  n: number;
  dim: number;
}

/** Preprocesses encoded image bytes into out[offset ...] as Node's pipeline does (PNG through image/png.ts). */
export function preprocessEncoded(bytes: Uint8Array, cfg: PreprocessConfig, out: Float32Array, offset: number, name = "<bytes>"): void {
  if (preprocessBytesSync(bytes, cfg, out, offset, { name })) return;
  if (sniffFormat(bytes) !== "png") throw new UserError(`${name}: this image format needs Node's decoder (the page reads JPEG, PNG, GIF and BMP)`);
  preprocessRGB(decodePng(bytes, DEFAULT_MAX_PIXELS), cfg, out, offset);
}

/** A CLIP checkpoint in the page. */
export class WebClip {
  readonly embedDim: number;
  readonly logitScale: number;
  private imageGraph?: Promise<CompiledGraph>;
  private textGraph?: Promise<CompiledGraph>;

  constructor(
    readonly config: ClipConfig,
    readonly preprocess: PreprocessCfg,
    private readonly state: StateDict,
    readonly tokenizer?: ClipTokenizer,
    /** Rows per session run. */
    readonly batchSize = 16,
    /** The ONNX Runtime adapter (default: the loaded one; the page's entry loads onnxruntime-web's). */
    private readonly backend?: Backend,
  ) {
    this.embedDim = config.embed_dim;
    const ls = state.get("logit_scale");
    this.logitScale = ls ? Math.exp(ls.data[0]) : 100;
  }

  /** From the bytes of open_clip_config.json, open_clip_model.safetensors and the vocabulary. */
  static fromBytes(files: CheckpointBytes, where = "checkpoint"): WebClip {
    const ck = checkpointFromBytes(strFromU8(files.config), files.weights, where);
    let tok: ClipTokenizer | undefined;
    if (files.vocab) {
      const v = files.vocab;
      const text = strFromU8(v[0] === 0x1f && v[1] === 0x8b ? gunzipSync(v) : v);
      const t = ck.config.text_cfg;
      tok = ClipTokenizer.fromMergesText(text, { vocabSize: t.vocab_size, contextLength: t.context_length, source: `${where}/vocab` });
    }
    return new WebClip(ck.config, ck.preprocess, ck.state, tok);
  }

  private compile(features: T.Tensor): Promise<CompiledGraph> {
    return CompiledGraph.compile({ features }, { weights: (n) => this.state.get(n)?.data, backend: this.backend });
  }

  /** Preprocessed pixels [n, 3, S, S] of encoded images. */
  pixels(images: Uint8Array[], names?: string[]): Float32Array {
    const S = this.config.vision_cfg.image_size;
    const per = 3 * S * S;
    const cfg = imageConfig(this.preprocess);
    const out = new Float32Array(images.length * per);
    images.forEach((b, i) => preprocessEncoded(b, cfg, out, i * per, names?.[i]));
    return out;
  }

  /** Embeds encoded images (L2-normalized unless normalize is false). */
  async embedImages(images: Uint8Array[], normalize = true, names?: string[]): Promise<Rows> {
    return this.encodePixels(this.pixels(images, names), images.length, normalize);
  }

  /** Embeds preprocessed pixels [n, 3, S, S]. */
  async encodePixels(pixels: Float32Array, n: number, normalize = true): Promise<Rows> {
    const S = this.config.vision_cfg.image_size;
    const per = 3 * S * S;
    this.imageGraph ??= this.compile(encodeImage(this.config, T.input("pixels", "float32", ["B", 3, S, S]), paramLeaves(this.config)));
    const g = await this.imageGraph;
    return this.batched(n, normalize, (i, k) => g.run({ pixels: { data: pixels.subarray(i * per, (i + k) * per), shape: [k, 3, S, S] } }));
  }

  /** Embeds texts tokenized as `clip.tokenize` does. */
  async embedTexts(texts: string[], normalize = true): Promise<Rows> {
    if (!this.tokenizer) throw new UserError("this checkpoint has no vocabulary file (bpe_simple_vocab_16e6.txt.gz): texts cannot be tokenized");
    const L = this.config.text_cfg.context_length;
    const { data } = this.tokenizer.tokenizeTensor(texts, { contextLength: L, truncate: "silent" });
    const ids = BigInt64Array.from(data, (x) => BigInt(x));
    this.textGraph ??= this.compile(encodeText(this.config, T.input("tokens", "int64", ["B", L]), paramLeaves(this.config)));
    const g = await this.textGraph;
    return this.batched(texts.length, normalize, (i, k) => g.run({ tokens: { data: ids.subarray(i * L, (i + k) * L), shape: [k, L] } }));
  }

  private async batched(total: number, normalize: boolean, run: (start: number, n: number) => Promise<Record<string, { data: unknown }>>): Promise<Rows> {
    const out = new Float32Array(total * this.embedDim);
    for (let i = 0; i < total; i += this.batchSize) {
      const k = Math.min(this.batchSize, total - i);
      out.set((await run(i, k)).features.data as Float32Array, i * this.embedDim);
    }
    if (normalize) normalizeRows(out, this.embedDim);
    return { data: out, n: total, dim: this.embedDim };
  }

  /** Releases the sessions. */
  async dispose(): Promise<void> {
    const gs = await Promise.all([this.imageGraph, this.textGraph]);
    await Promise.all(gs.map((g) => g?.release()));
  }
}
