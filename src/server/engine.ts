/**
 * @file The model behind the server: one Batcher per tower over a ClipModel, text and image
 * checks made per request before anything is queued (so one caller's bad input fails only that
 * caller), and the zero-shot classifiers of recent label sets.
 */
import { InternalError, UserError } from "../errors.js";
import type { Embedder, Embeddings } from "../clip/embedder.js";
import type { EmbedOptions, ImageInput, Matrix } from "../clip/model.js";
import { normalizeRows } from "../util/vector.js";
import { buildZeroShotClassifier, classify, type ZeroShotWeights } from "../eval/zeroshot.js";
import { probeImage } from "../image/decode.node.js";
import { Batcher, type BatcherOptions } from "./batcher.js";
import { badRequest, tooLarge } from "./http_error.js";
import type { ServerMetrics } from "./metrics.js";

/**
 * What the server needs from a model: `ClipModel` has it, and so has `ThreadedClipModel` (what
 * `clip serve` uses: the sessions in a worker thread, so the event loop keeps serving while a
 * batch runs). Load it with `truncate: "error"` so an over-long text is refused (400) instead of
 * cut, and with `batchSize` >= `maxBatch` so one batch is one session run.
 */
export interface ServeModel {
  readonly embedDim: number;
  readonly logitScale: number;
  readonly imageSize: number;
  readonly contextLength: number;
  readonly source: string;
  tokenize(texts: string[]): BigInt64Array;
  embedTexts(texts: string[], opts?: EmbedOptions): Promise<Matrix>;
  embedImages(inputs: ImageInput[], opts?: EmbedOptions): Promise<Matrix>;
}

/** Per-input limits checked before queueing. */
export interface InputLimits {
  /** Characters per text (400 beyond). */
  maxTextChars: number;
  /** Decoded pixels per image, from its headers (413 beyond, nothing decoded). */
  maxPixels: number;
}

/** Splits [n, d] into n rows (copies, so the batch buffer can go). */
function rows(m: Matrix): Float32Array[] {
  const [n, d] = m.dims;
  return Array.from({ length: n }, (_v, i) => m.data.slice(i * d, (i + 1) * d));
}

/** One probability per label, best first. */
export interface Classification {
  labels: string[];
  probs: number[];
}

/** The batched model: embed texts and images, classify images zero-shot. */
export class Engine {
  readonly texts: Batcher<string, Float32Array>;
  readonly images: Batcher<Uint8Array, Float32Array>;
  private classifiers = new Map<string, Promise<ZeroShotWeights>>();
  private static readonly MAX_CLASSIFIERS = 32;

  constructor(
    readonly model: ServeModel,
    batching: BatcherOptions,
    readonly limits: InputLimits,
    metrics?: ServerMetrics,
  ) {
    const hooks = (tower: string) => ({
      onBatch: (items: number, _jobs: number, seconds: number) => {
        metrics?.modelCalls.inc({ tower });
        metrics?.batchSize.observe(items, { tower });
        metrics?.batchSeconds.observe(seconds, { tower });
      },
      onReject: (reason: string) => metrics?.rejected.inc({ tower, reason }),
    });
    // raw rows from the batch; each caller normalizes its own (identical to embedTexts' own normalization)
    this.texts = new Batcher("text", async (t) => rows(await model.embedTexts(t, { normalize: false })), batching, hooks("text"));
    this.images = new Batcher("image", async (b) => rows(await model.embedImages(b, { normalize: false })), batching, hooks("image"));
  }

  /** 400 naming `field[i]` for an empty, over-long or untokenizable text. */
  checkTexts(texts: string[], field: string): void {
    texts.forEach((t, i) => {
      if (t.length > this.limits.maxTextChars) throw badRequest(`${field}[${i}]`, `${t.length} characters, more than the limit of ${this.limits.maxTextChars}`);
      try {
        this.model.tokenize([t]);
      } catch (e) {
        if (e instanceof UserError) throw badRequest(`${field}[${i}]`, e.message.replace(/^text 0 /, "text "));
        throw e;
      }
    });
  }

  /** Reads each image's headers: 400 for an unreadable one, 413 beyond the pixel limit. */
  async checkImages(images: Uint8Array[], field: string): Promise<void> {
    for (let i = 0; i < images.length; i++) {
      const name = images.length === 1 && !field.endsWith("s") ? field : `${field}[${i}]`;
      let p;
      try {
        p = await probeImage(images[i]!, name);
      } catch (e) {
        if (e instanceof UserError) throw badRequest(name, e.message.startsWith(`${name}: `) ? e.message.slice(name.length + 2) : e.message);
        throw e;
      }
      const px = p.width * p.height;
      if (px > this.limits.maxPixels) throw tooLarge(name, `image is ${p.width}x${p.height} = ${px} pixels, more than the limit of ${this.limits.maxPixels}`);
    }
  }

  /** L2-normalized text embeddings, one per text (texts checked by `checkTexts`). */
  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    const r = await this.texts.submit(texts);
    return r.map((v) => normalizeRows(Float32Array.from(v), v.length));
  }

  /** L2-normalized image embeddings, one per image (headers checked by `checkImages`). */
  async embedImages(images: Uint8Array[], field = "images"): Promise<Float32Array[]> {
    try {
      const r = await this.images.submit(images);
      return r.map((v) => normalizeRows(Float32Array.from(v), v.length));
    } catch (e) {
      // headers were fine but the data is not (truncated, corrupt)
      if (e instanceof UserError) throw badRequest(field, e.message);
      throw e;
    }
  }

  /** The prompt-ensembled classifier of `labels` x `templates`, built through the text batcher and kept for reuse. */
  classifier(labels: string[], templates: string[]): Promise<ZeroShotWeights> {
    const key = JSON.stringify([labels, templates]);
    let w = this.classifiers.get(key);
    if (w) {
      // most recently used last
      this.classifiers.delete(key);
      this.classifiers.set(key, w);
      return w;
    }
    w = buildZeroShotClassifier(this.textEmbedder(), labels, templates);
    this.classifiers.set(key, w);
    w.catch(() => this.classifiers.delete(key));
    while (this.classifiers.size > Engine.MAX_CLASSIFIERS) this.classifiers.delete(this.classifiers.keys().next().value!);
    return w;
  }

  /** Zero-shot probabilities of one image over `labels`, best first. */
  async classify(image: Uint8Array, labels: string[], templates: string[]): Promise<Classification> {
    const [weights, [emb]] = await Promise.all([this.classifier(labels, templates), this.embedImages([image], "image")]);
    const r = classify({ data: emb!, n: 1, dim: emb!.length }, weights, this.model.logitScale, labels.length);
    return { labels: r.top[0]!.map((p) => labels[p.index]!), probs: r.top[0]!.map((p) => p.prob) };
  }

  /** Refuses new work and waits for the queued and running batches. */
  async close(): Promise<void> {
    await Promise.all([this.texts.close(), this.images.close()]);
  }

  /** The text side as an Embedder (what buildZeroShotClassifier takes), through the batcher. */
  private textEmbedder(): Embedder {
    const fail = (): never => {
      throw new InternalError("the classifier embedder encodes texts only");
    };
    return {
      embedDim: this.model.embedDim,
      logitScale: this.model.logitScale,
      imageSize: this.model.imageSize,
      encodeTexts: async (texts: string[]): Promise<Embeddings> => {
        const r = await this.texts.submit(texts);
        const out = new Float32Array(r.length * this.model.embedDim);
        r.forEach((v, i) => out.set(v, i * this.model.embedDim));
        return { data: out, n: r.length, dim: this.model.embedDim };
      },
      encodeImages: fail,
      encodePixels: fail,
    };
  }
}
