/** @file Classification metrics (top-1, top-k, mean per-class recall, confusion matrix) and their Markdown report. */
import { InternalError, UserError } from "../errors.js";
import { argmaxRow, rankOf } from "./matrix.js";
import { markdownTable, pct } from "./report.js";

/** Every label must be an integer class index in [0, numClasses); `keys` name the offending sample. */
export function validateLabels(labels: ArrayLike<number>, numClasses: number, source = "dataset", keys?: readonly string[]): void {
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) {
      const who = keys?.[i] !== undefined ? `sample "${keys[i]}"` : `sample ${i}`;
      throw new UserError(`${source}: ${who} has class ${y}, outside the ${numClasses} class names (valid: 0..${numClasses - 1})`);
    }
  }
}

/** Top-1/top-5 accuracy, mean per-class recall and per-class counts of a classification. */
export interface ClassificationMetrics {
  /** Number of samples. */
  n: number;
  numClasses: number;
  /** Fractions in [0, 1]. */
  top1: number;
  /** Top-min(5, numClasses). */
  top5: number;
  /** Mean over classes with at least one sample of their recall (= sklearn balanced accuracy). */
  meanPerClassRecall: number;
  /** Per class: recall, null when the class has no sample. */
  perClassRecall: (number | null)[];
  /** Samples per class. */
  support: number[];
  /** confusion[true][predicted] counts (sklearn's orientation). */
  confusion: number[][];
}

/**
 * Metrics from [n, C] scores (logits or probabilities) and true labels. The prediction is the
 * arg-max with ties to the lowest class index; a sample is top-k correct when its label's rank
 * under the same tie rule is below k.
 */
export function classificationMetrics(scores: Float32Array | Float64Array, n: number, numClasses: number, labels: ArrayLike<number>): ClassificationMetrics {
  const C = numClasses;
  if (scores.length !== n * C) throw new InternalError(`scores length ${scores.length} is not n*C = ${n}*${C}`);
  if (labels.length !== n) throw new InternalError(`${labels.length} labels for ${n} samples`);
  validateLabels(labels, C, "labels");
  const k5 = Math.min(5, C);
  const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  const support = new Array<number>(C).fill(0);
  let c1 = 0;
  let c5 = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    const pred = argmaxRow(scores, i * C, C);
    confusion[y]![pred]!++;
    support[y]!++;
    if (pred === y) c1++;
    if (rankOf(scores, i * C, C, y) < k5) c5++;
  }
  const perClassRecall = support.map((s, c) => (s > 0 ? confusion[c]![c]! / s : null));
  const present = perClassRecall.filter((r): r is number => r !== null);
  return {
    n,
    numClasses: C,
    top1: n > 0 ? c1 / n : NaN,
    top5: n > 0 ? c5 / n : NaN,
    meanPerClassRecall: present.length > 0 ? present.reduce((a, b) => a + b, 0) / present.length : NaN,
    perClassRecall,
    support,
    confusion,
  };
}

/**
 * A Markdown report: the headline metrics, then per-class recall and the confusion matrix
 * (the matrix only up to `maxConfusionClasses` classes; the JSON output always has it).
 */
export function renderClassificationMarkdown(
  m: ClassificationMetrics,
  classnames: readonly string[],
  opts: { title?: string; maxConfusionClasses?: number } = {},
): string {
  const parts: string[] = [];
  if (opts.title) parts.push(`## ${opts.title}`, "");
  parts.push(
    markdownTable(
      ["metric", "value (%)"],
      [
        ["top-1 accuracy", pct(m.top1)],
        [`top-${Math.min(5, m.numClasses)} accuracy`, pct(m.top5)],
        ["mean per-class recall", pct(m.meanPerClassRecall)],
        ["samples", m.n],
      ],
      ["l", "r"],
    ),
  );
  parts.push(
    "",
    markdownTable(
      ["class", "samples", "recall (%)"],
      m.perClassRecall.map((r, c) => [classnames[c] ?? String(c), m.support[c]!, pct(r)]),
      ["l", "r", "r"],
    ),
  );
  const maxC = opts.maxConfusionClasses ?? 20;
  if (m.numClasses <= maxC) {
    const names = m.confusion.map((_, c) => classnames[c] ?? String(c));
    parts.push(
      "",
      "Confusion matrix (rows: true class, columns: predicted):",
      "",
      markdownTable(
        ["true \\ predicted", ...names],
        m.confusion.map((row, c) => [names[c]!, ...row]),
        ["l", ...names.map(() => "r" as const)],
      ),
    );
  } else {
    parts.push("", `(confusion matrix of ${m.numClasses} classes omitted; it is in the --json output)`);
  }
  return parts.join("\n");
}
