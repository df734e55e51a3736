/** @file Prompt templates for zero-shot classification: the built-in lists and user template files. */
import { existsSync } from "node:fs";
import { UserError } from "../errors.js";
import { readTextFile } from "../util/files.node.js";

/** The placeholder every template must contain; replaced by the class name. */
export const PLACEHOLDER = "{}";

/** The single prompt CLIP's paper uses as its baseline. */
const SIMPLE = ["a photo of a {}."];

/**
 * The 80 ImageNet templates of the paper (openai/CLIP notebooks/Prompt_Engineering_for_ImageNet.ipynb),
 * in the notebook's order.
 */
const IMAGENET = [
  "a bad photo of a {}.",
  "a photo of many {}.",
  "a sculpture of a {}.",
  "a photo of the hard to see {}.",
  "a low resolution photo of the {}.",
  "a rendering of a {}.",
  "graffiti of a {}.",
  "a bad photo of the {}.",
  "a cropped photo of the {}.",
  "a tattoo of a {}.",
  "the embroidered {}.",
  "a photo of a hard to see {}.",
  "a bright photo of a {}.",
  "a photo of a clean {}.",
  "a photo of a dirty {}.",
  "a dark photo of the {}.",
  "a drawing of a {}.",
  "a photo of my {}.",
  "the plastic {}.",
  "a photo of the cool {}.",
  "a close-up photo of a {}.",
  "a black and white photo of the {}.",
  "a painting of the {}.",
  "a painting of a {}.",
  "a pixelated photo of the {}.",
  "a sculpture of the {}.",
  "a bright photo of the {}.",
  "a cropped photo of a {}.",
  "a plastic {}.",
  "a photo of the dirty {}.",
  "a jpeg corrupted photo of a {}.",
  "a blurry photo of the {}.",
  "a photo of the {}.",
  "a good photo of the {}.",
  "a rendering of the {}.",
  "a {} in a video game.",
  "a photo of one {}.",
  "a doodle of a {}.",
  "a close-up photo of the {}.",
  "a photo of a {}.",
  "the origami {}.",
  "the {} in a video game.",
  "a sketch of a {}.",
  "a doodle of the {}.",
  "a origami {}.",
  "a low resolution photo of a {}.",
  "the toy {}.",
  "a rendition of the {}.",
  "a photo of the clean {}.",
  "a photo of a large {}.",
  "a rendition of a {}.",
  "a photo of a nice {}.",
  "a photo of a weird {}.",
  "a blurry photo of a {}.",
  "a cartoon {}.",
  "art of a {}.",
  "a sketch of the {}.",
  "a embroidered {}.",
  "a pixelated photo of a {}.",
  "itap of the {}.",
  "a jpeg corrupted photo of the {}.",
  "a good photo of a {}.",
  "a plushie {}.",
  "a photo of the nice {}.",
  "a photo of the small {}.",
  "a photo of the weird {}.",
  "the cartoon {}.",
  "art of the {}.",
  "a drawing of the {}.",
  "a photo of the large {}.",
  "a black and white photo of a {}.",
  "the plushie {}.",
  "a dark photo of a {}.",
  "itap of a {}.",
  "graffiti of the {}.",
  "a toy {}.",
  "itap of my {}.",
  "a photo of a cool {}.",
  "a photo of a small {}.",
  "a tattoo of the {}.",
];

/** The 7-template subset the same notebook found by sequential forward selection. */
const IMAGENET7 = [
  "itap of a {}.",
  "a bad photo of the {}.",
  "a origami {}.",
  "a photo of the large {}.",
  "a {} in a video game.",
  "art of the {}.",
  "a photo of the small {}.",
];

/** CIFAR-10 and CIFAR-100 share these 18 templates (openai/CLIP data/prompts.md). */
const CIFAR = [
  "a photo of a {}.",
  "a blurry photo of a {}.",
  "a black and white photo of a {}.",
  "a low contrast photo of a {}.",
  "a high contrast photo of a {}.",
  "a bad photo of a {}.",
  "a good photo of a {}.",
  "a photo of a small {}.",
  "a photo of a big {}.",
  "a photo of the {}.",
  "a blurry photo of the {}.",
  "a black and white photo of the {}.",
  "a low contrast photo of the {}.",
  "a high contrast photo of the {}.",
  "a bad photo of the {}.",
  "a good photo of the {}.",
  "a photo of the small {}.",
  "a photo of the big {}.",
];

/** EuroSAT (openai/CLIP data/prompts.md). */
const EUROSAT = [
  "a centered satellite photo of {}.",
  "a centered satellite photo of a {}.",
  "a centered satellite photo of the {}.",
];

/** RESISC45 (openai/CLIP data/prompts.md). */
const RESISC45 = [
  "satellite imagery of {}.",
  "aerial imagery of {}.",
  "satellite photo of {}.",
  "aerial photo of {}.",
  "satellite view of {}.",
  "aerial view of {}.",
  "satellite imagery of a {}.",
  "aerial imagery of a {}.",
  "satellite photo of a {}.",
  "aerial photo of a {}.",
  "satellite view of a {}.",
  "aerial view of a {}.",
  "satellite imagery of the {}.",
  "aerial imagery of the {}.",
  "satellite photo of the {}.",
  "aerial photo of the {}.",
  "satellite view of the {}.",
  "aerial view of the {}.",
];

/**
 * Object-agnostic renditions (photo, painting, toy, sketch...): the paper's Caltech101 list
 * (openai/CLIP data/prompts.md), which suits any "kinds of things" label set.
 */
const GENERIC = [
  "a photo of a {}.",
  "a painting of a {}.",
  "a plastic {}.",
  "a sculpture of a {}.",
  "a sketch of a {}.",
  "a tattoo of a {}.",
  "a toy {}.",
  "a rendition of a {}.",
  "a embroidered {}.",
  "a cartoon {}.",
  "a {} in a video game.",
  "a plushie {}.",
  "a origami {}.",
  "art of a {}.",
  "graffiti of a {}.",
  "a drawing of a {}.",
  "a doodle of a {}.",
  "a photo of the {}.",
  "a painting of the {}.",
  "the plastic {}.",
  "a sculpture of the {}.",
  "a sketch of the {}.",
  "a tattoo of the {}.",
  "the toy {}.",
  "a rendition of the {}.",
  "the embroidered {}.",
  "the cartoon {}.",
  "the {} in a video game.",
  "the plushie {}.",
  "the origami {}.",
  "art of the {}.",
  "graffiti of the {}.",
  "a drawing of the {}.",
  "a doodle of the {}.",
];

/** Built-in template lists by name (`--templates NAME`). */
export const TEMPLATE_SETS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  simple: SIMPLE,
  generic: GENERIC,
  imagenet: IMAGENET,
  imagenet7: IMAGENET7,
  cifar10: CIFAR,
  cifar100: CIFAR,
  eurosat: EUROSAT,
  resisc45: RESISC45,
  // both satellite lists, EuroSAT's first
  satellite: [...EUROSAT, ...RESISC45],
});

/** CIFAR-10's class names, in label order (torchvision's and the paper's). */
const CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/**
 * The built-in template list the paper uses for a dataset recognised by its class names (CIFAR-10
 * by its ten names, in any order and case), else undefined.
 */
export function templatesForClassnames(classnames: readonly string[]): string | undefined {
  const names = classnames.map((c) => c.trim().toLowerCase()).sort();
  if (names.length === CIFAR10_CLASSES.length && names.every((c, i) => c === CIFAR10_CLASSES[i])) return "cifar10";
  return undefined;
}

/**
 * A dataset's own templates in our format: CLIP_benchmark's `zeroshot_classification_templates.txt`
 * (and the synthetic world) write the class slot as `{c}`, ours is `{}`.
 */
export function datasetTemplates(templates: readonly string[]): string[] {
  return templates.map((t) => t.split("{c}").join(PLACEHOLDER));
}

/** Names accepted by `getTemplates`, sorted. */
export function templateSetNames(): string[] {
  return Object.keys(TEMPLATE_SETS).sort();
}

/** A copy of the built-in list `name`; UserError naming the valid ones otherwise. */
export function getTemplates(name: string): string[] {
  const set = Object.hasOwn(TEMPLATE_SETS, name) ? TEMPLATE_SETS[name] : undefined;
  if (!set) {
    throw new UserError(`unknown template set "${name}" (built-in: ${templateSetNames().join(", ")})`);
  }
  return [...set];
}

/** Fills a template with a class name: every `{}` is replaced. */
export function fillTemplate(template: string, classname: string): string {
  return template.split(PLACEHOLDER).join(classname);
}

/**
 * Checks a template list before any work: non-empty, every template contains `{}`, no duplicates
 * (a duplicate would silently weight one prompt twice in the ensemble).
 */
export function validateTemplates(templates: readonly string[], source = "templates"): void {
  if (templates.length === 0) throw new UserError(`${source}: no templates`);
  const seen = new Map<string, number>();
  templates.forEach((t, i) => {
    if (!t.includes(PLACEHOLDER)) {
      throw new UserError(`${source}: template ${i + 1} ${JSON.stringify(t)} has no "{}" placeholder for the class name`);
    }
    const prev = seen.get(t);
    if (prev !== undefined) {
      throw new UserError(`${source}: template ${i + 1} ${JSON.stringify(t)} repeats template ${prev + 1}`);
    }
    seen.set(t, i);
  });
}

/**
 * Parses a template file: one template per line; blank lines and lines starting with `#` are
 * skipped; surrounding whitespace (and `\r`) is trimmed. Errors name the file and the line.
 */
export function parseTemplates(text: string, file: string): string[] {
  const out: string[] = [];
  const firstLine = new Map<string, number>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === "" || t.startsWith("#")) continue;
    const where = `${file}:${i + 1}`;
    if (!t.includes(PLACEHOLDER)) {
      throw new UserError(`${where}: template ${JSON.stringify(t)} has no "{}" placeholder for the class name`);
    }
    const prev = firstLine.get(t);
    if (prev !== undefined) throw new UserError(`${where}: template ${JSON.stringify(t)} repeats line ${prev}`);
    firstLine.set(t, i + 1);
    out.push(t);
  }
  if (out.length === 0) throw new UserError(`${file}: no templates (one per line, each containing "{}")`);
  return out;
}

/** Reads and parses a template file (see `parseTemplates`). */
export async function loadTemplatesFile(file: string): Promise<string[]> {
  const text = await readTextFile(file, "templates file");
  return parseTemplates(text, file);
}

/**
 * `--templates` value: a built-in name, else a file path. Undefined gives `fallback` (a name).
 */
export async function resolveTemplates(nameOrFile: string | undefined, fallback = "simple"): Promise<string[]> {
  const v = nameOrFile ?? fallback;
  if (Object.hasOwn(TEMPLATE_SETS, v)) return getTemplates(v);
  if (!existsSync(v) && !/[/\\.]/.test(v)) getTemplates(v); // a name, not a path: throws listing the names
  return loadTemplatesFile(v);
}
