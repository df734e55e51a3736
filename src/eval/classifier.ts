/**
 * @file ZeroShotClassifier: the paper's zero-shot classification as one object. Class names are
 * filled into prompt templates, the prompts embedded and ensembled (normalize, mean, normalize) into
 * one weight row per class; an image's class probabilities are softmax(logitScale * cosine).
 */
import type { ClipModel, ImageInput, Matrix } from "../clip/model.js";
import { getTemplates, templatesForClassnames } from "./templates.js";
import { buildZeroShotClassifier, buildZeroShotClassifierFromPrompts, classify, type ZeroShotWeights } from "./zeroshot.js";
import { UserError } from "../errors.js";

/** One label of a classification, with its probability. */
export interface LabelScore {
  label: string;
  prob: number;
}

/** Options of `ZeroShotClassifier.create`. */
export interface ZeroShotClassifierOptions {
  /**
   * Prompt templates with `{}` for the class name, or the name of a built-in set ("imagenet": the
   * paper's 80, "cifar10", "cifar100", "simple": `a photo of a {}.`, ...). Default: the paper's set
   * when the class names are those of a dataset it evaluated, else "imagenet".
   */
  templates?: readonly string[] | string;
  /**
   * Each class's own prompts instead of templates (prompts[c] for classnames[c], CuPL-style), for
   * phrasings a template cannot give; ensembled the same way.
   */
  prompts?: readonly (readonly string[])[];
  /** Cache the weights in this folder, keyed by `modelId`, the class names and the templates. */
  cacheDir?: string;
  modelId?: unknown;
}

/** Zero-shot classifier over a fixed set of class names. */
export class ZeroShotClassifier {
  private constructor(
    readonly model: ClipModel,
    private readonly weights: ZeroShotWeights,
  ) {}

  /** Embeds every class name x template once and keeps the ensembled class weights. */
  static async create(model: ClipModel, classnames: readonly string[], options: ZeroShotClassifierOptions = {}): Promise<ZeroShotClassifier> {
    const cache = { cacheDir: options.cacheDir, modelId: options.modelId };
    if (options.prompts) {
      if (options.templates !== undefined) throw new UserError("ZeroShotClassifier.create: pass templates or prompts, not both");
      return new ZeroShotClassifier(model, await buildZeroShotClassifierFromPrompts(model, classnames, options.prompts, cache));
    }
    const t = options.templates ?? templatesForClassnames(classnames) ?? "imagenet";
    const templates = typeof t === "string" ? getTemplates(t) : [...t];
    const weights = await buildZeroShotClassifier(model, classnames, templates, cache);
    return new ZeroShotClassifier(model, weights);
  }

  /** The class names, in weight-row order. */
  get classnames(): readonly string[] {
    return this.weights.classnames;
  }

  /** The templates the weights were ensembled from (empty when built from per-class prompts). */
  get templates(): readonly string[] {
    return this.weights.templates;
  }

  /** Each class's prompts, as ensembled into its weight row. */
  get prompts(): readonly (readonly string[])[] {
    return this.weights.prompts;
  }

  /** [classes, embedDim] unit-norm class embeddings. */
  get classWeights(): Matrix {
    return { data: this.weights.data, dims: [this.weights.n, this.weights.dim] };
  }

  /** Class probabilities of already-embedded images (normalized rows), `topK` labels per image, most probable first. */
  classifyEmbeddings(images: Matrix, topK = this.classnames.length): LabelScore[][] {
    const r = classify({ data: images.data, n: images.dims[0], dim: images.dims[1] }, this.weights, this.model.logitScale, Math.min(topK, this.classnames.length));
    return r.top.map((row) => row.map((p) => ({ label: this.classnames[p.index]!, prob: p.prob })));
  }

  /** Embeds and classifies images (paths, encoded bytes or RGB pixels): `topK` labels per image, most probable first. */
  async classify(images: ImageInput[], topK = this.classnames.length): Promise<LabelScore[][]> {
    return this.classifyEmbeddings(await this.model.embedImages(images), topK);
  }
}
