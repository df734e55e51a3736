/**
 * @file Validation of a model on a dataset: zero-shot when it has class names and labels (the
 * dataset's own per-class prompts or templates, else the given templates), retrieval when it has captions.
 */
import { openDataset } from "../data/index.js";
import type { Embedder } from "../clip/embedder.js";
import { embedCaptions, embedImages } from "../eval/embed_dataset.js";
import { retrievalRecall } from "../eval/retrieval.js";
import { datasetTemplates, getTemplates } from "../eval/templates.js";
import { buildZeroShotClassifier, buildZeroShotClassifierFromPrompts, evaluateZeroShot } from "../eval/zeroshot.js";

export interface ValidationOptions {
  /** Templates when the dataset ships none (default: the generic list). */
  templates?: string[];
  limit?: number;
}

/**
 * Metrics of `model` on `spec`: `zeroshot_top1`, `zeroshot_top5`, `zeroshot_mean_recall` for labeled data
 * with class names, `t2i_R@k` / `i2t_R@k` for captioned data.
 */
export async function validate(model: Embedder, spec: string, opts: ValidationOptions = {}): Promise<Record<string, number>> {
  const ds = openDataset(spec, { requireImage: true });
  await ds.ready();
  const emb = await embedImages(model, ds, { limit: opts.limit });
  const out: Record<string, number> = {};
  if (ds.classnames && emb.labels) {
    const templates = ds.templates ? datasetTemplates(ds.templates) : opts.templates ?? getTemplates("generic");
    const weights = ds.classPrompts
      ? await buildZeroShotClassifierFromPrompts(model, ds.classnames, ds.classPrompts)
      : await buildZeroShotClassifier(model, ds.classnames, templates);
    const m = evaluateZeroShot(emb.images, emb.labels, weights, model.logitScale);
    out.zeroshot_top1 = m.top1;
    out.zeroshot_top5 = m.top5;
    out.zeroshot_mean_recall = m.meanPerClassRecall;
  }
  if (emb.captions.some((c) => c.length > 0)) {
    const txt = await embedCaptions(model, emb.captions);
    const r = retrievalRecall(emb.images, txt.texts, txt.textToImage, { ks: [1, 5, 10] });
    for (const [k, v] of Object.entries(r.textToImage)) out[`t2i_${k}`] = v;
    for (const [k, v] of Object.entries(r.imageToText)) out[`i2t_${k}`] = v;
  }
  return out;
}
