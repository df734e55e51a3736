/**
 * @file The procedural captioned world without Node: scenes of shapes x colors x sizes x positions,
 * counts, textures and words, rendered to RGB (world.ts adds the PNG samples; the page renders from here).
 */
import { Rng } from "../../util/rng.js";
import { grayscaleRGB } from "../../image/transform.js";
import { BACKGROUNDS, Canvas, SHAPES, textWidth, type Background, type RGB, type Shape } from "./raster.js";

export { SHAPES, BACKGROUNDS, type Shape, type Background };

export const COLORS = ["red", "orange", "yellow", "green", "blue", "purple", "white", "black"] as const;
export type Color = (typeof COLORS)[number];

const RGB_OF: Record<Color, RGB> = {
  red: [215, 35, 35],
  orange: [245, 135, 20],
  yellow: [240, 215, 25],
  green: [35, 160, 55],
  blue: [35, 85, 225],
  purple: [135, 45, 185],
  white: [245, 245, 245],
  black: [18, 18, 18],
};

export const COUNT_WORDS = ["one", "two", "three", "four"] as const;
/** The most hard negatives a caption can have (SynthOptions.negatives): the other shapes a color has in training. */
export const MAX_NEGATIVES = 6;
export const MAX_COUNT = COUNT_WORDS.length;

/**
 * Color-shape pairs that never occur in the train and val splits and always occur in heldout:
 * one per shape and one per color, so every shape and every color is still seen in training.
 */
export const HELDOUT_PAIRS: readonly (readonly [Color, Shape])[] = [
  ["purple", "star"],
  ["yellow", "ring"],
  ["green", "triangle"],
  ["blue", "cross"],
  ["red", "diamond"],
  ["white", "hexagon"],
  ["orange", "square"],
  ["black", "circle"],
];

export function isHeldout(color: Color, shape: Shape): boolean {
  return HELDOUT_PAIRS.some(([c, s]) => c === color && s === shape);
}

export type SynthSplit = "train" | "val" | "heldout" | "all";
export type SynthTask = "none" | "shape" | "color" | "count";

export interface SynthOptions {
  n: number;
  seed: number;
  /** Image side in pixels. Default 64. */
  size?: number;
  /** Default "train". */
  split?: SynthSplit;
  /** A classification view: every scene is k copies of one object, labelled by shape, color or count. Default "none". */
  task?: SynthTask;
  /**
   * Hard negatives for contrastive training: blocks of `group` consecutive scenes (items
   * g*group .. g*group+group-1) that differ only in their shapes. The block's first scene sets the
   * kind, colors, count, sizes, positions and background; every other item gets shapes of its own,
   * distinct within the block (as far as the 7 shapes each color has in training allow) and a
   * caption set of its own. A block whose first scene is a word scene stays independent scenes.
   * Only the train split of the plain world (task "none"); default 1, independent scenes.
   */
  group?: number;
  /**
   * The caption mix. "partial" also describes count and relation scenes by their shapes alone,
   * without their colors ("three stars", "a ring to the left of a square"), so that color alone
   * never tells those captions apart. Default "full": every caption of an object names its color and shape.
   */
  captions?: "full" | "partial";
  /**
   * The share of the plain world's scenes (task "none") drawn in shades of gray and described
   * without color words ("three small stars", "a ring to the left of a square"): in those scenes
   * shape, count and layout are all the captions name, so the image tower must see shape without
   * color. Drawn per item from a stream of its own, so the rest of the world is unchanged. Default 0.
   */
  mono?: number;
  /**
   * Hard-negative captions (NegCLIP, Yuksekgonul et al. 2023), this many per caption (0 to
   * MAX_NEGATIVES): negatives[j][t] is the same caption as captions[j] (same template and words) for
   * twin t of the scene, whose shapes differ: a count scene's shape, or one object's in a relation
   * scene (the two objects in turn); a word scene's twins have other words. A scene's twins differ
   * from each other, and none holds a held-out pair; the scene itself is unchanged. Drawn from a
   * stream of its own. Default 0.
   */
  negatives?: number;
}

export type Size = "small" | "large";
type Tone = "light" | "dark" | "gray";

export interface SceneObject {
  shape: Shape;
  color: Color;
  size: Size;
  /** Centre and radius as fractions of the image side. */
  x: number;
  y: number;
  r: number;
  rot: number;
}

export type Relation = "left of" | "right of" | "above" | "below";

export interface Scene {
  kind: "count" | "relation" | "word";
  objects: SceneObject[];
  /** relation scenes: objects[0] stands in this relation to objects[1]. */
  relation?: Relation;
  word?: string;
  wordColor?: Color;
  /** Single-object count scenes: where the object is, in words ("on the left"). */
  position?: string;
  background: Background;
  tone: Tone;
  /** Drawn in shades of gray, captions without color words (SynthOptions.mono). */
  mono?: boolean;
  captions: string[];
  /** SynthOptions.negatives: negatives[j][t] is captions[j] for twin t, a scene that differs in its shapes (or word). */
  negatives?: string[][];
  label?: number;
}

const WORDS = ["cat", "dog", "sun", "sky", "box", "car", "key", "map", "toy", "zoo", "hat", "cup", "pen", "go", "stop", "yes", "no", "hi", "run", "fox", "owl", "bee", "ice", "art", "jam", "kid", "top", "win", "fun", "joy"];
const TONE_RGB: Record<Tone, [RGB, RGB]> = {
  light: [[222, 218, 205], [185, 180, 168]],
  dark: [[48, 52, 60], [82, 88, 98]],
  gray: [[128, 128, 128], [160, 160, 160]],
};
const SIZE_WORDS: Record<Size, string[]> = { small: ["small", "little", "tiny"], large: ["large", "big"] };

/** Class names of a classification view, in label order. */
export function synthClassnames(task: SynthTask): string[] {
  if (task === "shape") return [...SHAPES];
  if (task === "color") return [...COLORS];
  if (task === "count") return [...COUNT_WORDS];
  return [];
}

/** Zero-shot prompt templates for a classification view (CLIP_benchmark format, {c} = class name). */
export function synthTemplates(task: SynthTask): string[] {
  if (task === "shape") return ["a {c}.", "a picture of a {c}.", "a drawing of a {c}.", "some {c} shapes.", "a {c} on a background."];
  if (task === "color") return ["a {c} shape.", "something {c}.", "a picture of {c} objects.", "a drawing in {c}.", "{c} shapes on a background."];
  if (task === "count") return ["{c} objects.", "a picture of {c} shapes.", "{c} shapes on a background.", "there are {c} things.", "a drawing of {c} objects."];
  return [];
}

/**
 * Each class's zero-shot prompts (prompts[c] for synthClassnames(task)[c]). Shapes take the forms the
 * captions use, in every color: "one red star", "two red stars", ..., "four black crosses" (a scene
 * of several stars is captioned with the word "stars", which the tokenizer learns as a token of its
 * own, and every caption names its objects' color, so "a star." alone is far from all of them);
 * averaged over the colors, no color is favoured. Colors and counts fill the task's templates.
 */
export function synthClassPrompts(task: SynthTask): string[][] {
  if (task === "shape") return SHAPES.map((s) => COLORS.flatMap((c) => COUNT_WORDS.map((n, k) => (k === 0 ? `one ${c} ${s}` : `${n} ${c} ${plural(s)}`))));
  const templates = synthTemplates(task);
  return synthClassnames(task).map((c) => templates.map((t) => t.split("{c}").join(c)));
}

const lum = (c: RGB): number => 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];

function plural(shape: Shape): string {
  return shape === "cross" ? "crosses" : `${shape}s`;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

/** Draws a color and shape obeying the split's held-out rule (`mustHold`: the pair must be held out). */
function pickPair(rng: Rng, split: SynthSplit, mustHold: boolean): [Color, Shape] {
  if (mustHold) {
    const [c, s] = rng.pick(HELDOUT_PAIRS);
    return [c, s];
  }
  for (;;) {
    const c = rng.pick(COLORS);
    const s = rng.pick(SHAPES);
    if (split === "heldout" || split === "all" || !isHeldout(c, s)) return [c, s];
  }
}

function radiusFor(size: Size, rng: Rng, crowd: number): number {
  const r = size === "small" ? rng.uniform(0.07, 0.095) : rng.uniform(0.13, 0.17);
  return crowd > 2 ? r * 0.9 : r;
}

/** Places k non-overlapping objects of radius r (fractions); shrinks them until they fit. */
function scatter(rng: Rng, k: number, r0: number): { x: number; y: number; r: number }[] {
  let r = r0;
  for (let round = 0; ; round++) {
    const out: { x: number; y: number; r: number }[] = [];
    for (let tries = 0; out.length < k && tries < 200; tries++) {
      const x = rng.uniform(r + 0.03, 1 - r - 0.03);
      const y = rng.uniform(r + 0.03, 1 - r - 0.03);
      if (out.every((o) => Math.hypot(o.x - x, o.y - y) > 2.3 * r)) out.push({ x, y, r });
    }
    if (out.length === k || round > 20) return out;
    r *= 0.9;
  }
}

const POSITIONS: { words: string[]; x: [number, number]; y: [number, number] }[] = [
  { words: ["on the left", "at the left"], x: [0.14, 0.27], y: [0.38, 0.62] },
  { words: ["on the right", "at the right"], x: [0.73, 0.86], y: [0.38, 0.62] },
  { words: ["at the top", "near the top"], x: [0.38, 0.62], y: [0.14, 0.27] },
  { words: ["at the bottom", "near the bottom"], x: [0.38, 0.62], y: [0.73, 0.86] },
  { words: ["in the middle", "in the center"], x: [0.44, 0.56], y: [0.44, 0.56] },
];

function rotationFor(shape: Shape, rng: Rng): number {
  if (shape === "circle" || shape === "ring") return 0;
  if (shape === "star" || shape === "hexagon") return rng.uniform(-0.6, 0.6);
  return rng.uniform(-0.2, 0.2); // squares stay squares, diamonds stay diamonds
}

/** Picks n distinct caption templates. */
function choose(rng: Rng, templates: (() => string)[], n: number): string[] {
  const order = rng.shuffle(templates.map((_, i) => i));
  return order.slice(0, n).map((i) => templates[i]!());
}

/** The shapes an object could take instead of its own without forming a held-out pair, in SHAPES order. */
function otherShapes(o: SceneObject): Shape[] {
  return SHAPES.filter((s) => s !== o.shape && !isHeldout(o.color, s));
}

/** The scene of item i: a pure function of (seed, split, task, group, i). */
export function synthScene(i: number, opts: SynthOptions): Scene {
  const group = opts.group ?? 1;
  if (group <= 1 || (opts.split ?? "train") !== "train" || (opts.task ?? "none") !== "none") return independentScene(i, opts);
  const first = i - (i % group);
  const base = independentScene(first, opts);
  if (i === first) return base;
  if (base.kind === "word") return independentScene(i, opts);
  // shapes of the block's other items, in an order of the block's; each color keeps out its held-out shape
  const rng = Rng.from(opts.seed, "synth", "group", first);
  const others = (o: SceneObject): Shape[] => rng.shuffle(otherShapes(o));
  const j = i - first - 1;
  const item = Rng.from(opts.seed, "synth", "group-item", i);
  const withShape = (o: SceneObject, shape: Shape): SceneObject => ({ ...o, shape, rot: rotationFor(shape, item) });
  let objects: SceneObject[];
  if (base.kind === "count") {
    const order = others(base.objects[0]!);
    objects = base.objects.map((o) => withShape(o, order[j % order.length]!));
  } else {
    const [a, b] = base.objects as [SceneObject, SceneObject];
    const [oa, ob] = [others(a), others(b)];
    const sa = oa[j % oa.length]!;
    let sb = ob[j % ob.length]!;
    if (a.color === b.color && sa === sb) sb = ob[(j + 1) % ob.length]!;
    objects = [withShape(a, sa), withShape(b, sb)];
  }
  const scene: Scene = { ...base, objects, captions: [] };
  describeScene(scene, item, opts, i);
  return scene;
}

/** A scene drawn on its own: a pure function of (seed, split, task, i). */
function independentScene(i: number, opts: SynthOptions): Scene {
  const split = opts.split ?? "train";
  const task = opts.task ?? "none";
  const rng = Rng.from(opts.seed, "synth", split, task, i);
  const heldout = split === "heldout";
  let kind: Scene["kind"];
  if (task !== "none") kind = "count";
  else {
    const u = rng.next();
    kind = u < 0.5 ? "count" : u < 0.82 || heldout ? "relation" : "word";
  }
  const objects: SceneObject[] = [];
  const scene: Scene = { kind, objects, background: rng.pick(BACKGROUNDS), tone: "gray", captions: [] };

  let position: string | undefined;
  if (kind === "count") {
    const k = 1 + rng.int(MAX_COUNT);
    const [color, shape] = pickPair(rng, split, heldout);
    const size: Size = rng.chance(0.5) ? "small" : "large";
    const r = radiusFor(size, rng, k);
    if (k === 1) {
      const p = rng.pick(POSITIONS);
      position = rng.pick(p.words);
      objects.push({ shape, color, size, x: rng.uniform(...p.x), y: rng.uniform(...p.y), r, rot: rotationFor(shape, rng) });
    } else {
      for (const c of scatter(rng, k, r)) objects.push({ shape, color, size, x: c.x, y: c.y, r: c.r, rot: rotationFor(shape, rng) });
    }
    if (task === "shape") scene.label = SHAPES.indexOf(shape);
    if (task === "color") scene.label = COLORS.indexOf(color);
    if (task === "count") scene.label = k - 1;
  } else if (kind === "relation") {
    const [ca, sa] = pickPair(rng, split, heldout);
    let cb: Color;
    let sb: Shape;
    do [cb, sb] = pickPair(rng, split, false);
    while (cb === ca && sb === sa);
    const relation = rng.pick(["left of", "right of", "above", "below"] as const);
    scene.relation = relation;
    const sizeA: Size = rng.chance(0.5) ? "small" : "large";
    const sizeB: Size = rng.chance(0.5) ? "small" : "large";
    const ra = radiusFor(sizeA, rng, 2) * 0.9;
    const rb = radiusFor(sizeB, rng, 2) * 0.9;
    // the leading object's main axis coordinate is low for "left of"/"above"
    const near = rng.uniform(0.22, 0.32);
    const far = rng.uniform(0.68, 0.78);
    const across = rng.uniform(0.35, 0.65);
    const jitter = rng.uniform(-0.08, 0.08);
    const [pa, pb] = relation === "left of" || relation === "above" ? [near, far] : [far, near];
    const horizontal = relation === "left of" || relation === "right of";
    const a = horizontal ? { x: pa, y: across } : { x: across, y: pa };
    const b = horizontal ? { x: pb, y: across + jitter } : { x: across + jitter, y: pb };
    objects.push({ shape: sa, color: ca, size: sizeA, ...a, r: ra, rot: rotationFor(sa, rng) });
    objects.push({ shape: sb, color: cb, size: sizeB, ...b, r: rb, rot: rotationFor(sb, rng) });
  } else {
    scene.word = rng.pick(WORDS);
    scene.wordColor = rng.pick(COLORS);
    if (rng.chance(0.5)) {
      const [color, shape] = pickPair(rng, split, false);
      const r = radiusFor("small", rng, 1);
      objects.push({ shape, color, size: "small", x: rng.uniform(0.2, 0.8), y: rng.chance(0.5) ? 0.2 : 0.8, r, rot: rotationFor(shape, rng) });
    }
  }

  // a background tone that every object (and the word) stands out from
  const colors = [...objects.map((o) => RGB_OF[o.color]), ...(scene.wordColor ? [RGB_OF[scene.wordColor]] : [])];
  const tones = rng.shuffle(["light", "dark", "gray"] as Tone[]);
  const score = (t: Tone): number => Math.min(...colors.map((c) => Math.abs(lum(c) - lum(TONE_RGB[t][0]))));
  scene.tone = tones.find((t) => score(t) > 45) ?? tones.reduce((a, b) => (score(b) > score(a) ? b : a));
  if (position !== undefined) scene.position = position;
  if (task === "none" && (opts.mono ?? 0) > 0 && Rng.from(opts.seed, "synth", "mono", split, i).next() < opts.mono!) scene.mono = true;
  describeScene(scene, rng, opts, i);
  return scene;
}

/**
 * Sets the scene's captions from `rng` and, with SynthOptions.negatives, its negatives: each twin
 * scene's captions drawn from the same generator state, so the same templates and words line up.
 */
function describeScene(scene: Scene, rng: Rng, opts: SynthOptions, i: number): void {
  const partial = opts.captions === "partial";
  const state = rng.state();
  scene.captions = captionsFor(scene, rng, scene.position, partial);
  const k = opts.negatives ?? 0;
  if (k <= 0) return;
  const twins = twinScenes(scene, Rng.from(opts.seed, "synth", "negative", opts.split ?? "train", opts.task ?? "none", i), k);
  const perTwin = twins.map((twin) => {
    const same = new Rng();
    same.setState(state);
    return captionsFor(twin, same, scene.position, partial);
  });
  scene.negatives = scene.captions.map((_c, j) => perTwin.map((caps) => caps[j]!));
}

/** Draws from `pool` without the values in `used` (the first draw is a plain pick of the whole pool). */
function pickUnused<T>(rng: Rng, pool: readonly T[], used: readonly T[]): T {
  const left = pool.filter((v) => !used.includes(v));
  return rng.pick(left.length > 0 ? left : pool);
}

/**
 * k scenes with other shapes (never a held-out pair), each different: every copy of a count scene
 * takes another shape; in a relation scene one object does (the first one drawn, then the other,
 * in turn). A word scene's twins get other words (each of its captions names the word, not each its shape).
 */
function twinScenes(scene: Scene, rng: Rng, k: number): Scene[] {
  if (scene.kind === "word") {
    const words: string[] = [scene.word!];
    return Array.from({ length: k }, () => {
      const word = pickUnused(rng, WORDS, words);
      words.push(word);
      return { ...scene, word };
    });
  }
  if (scene.kind === "relation") {
    const first = rng.int(2);
    const used: Shape[][] = scene.objects.map((o) => [o.shape]);
    return Array.from({ length: k }, (_v, t) => {
      const which = (first + t) % 2;
      const shape = pickUnused(rng, otherShapes(scene.objects[which]!), used[which]!);
      used[which]!.push(shape);
      return { ...scene, objects: scene.objects.map((o, j) => (j === which ? { ...o, shape } : o)) };
    });
  }
  const used: Shape[] = [];
  return Array.from({ length: k }, () => {
    const shape = pickUnused(rng, otherShapes(scene.objects[0]!), used);
    used.push(shape);
    return { ...scene, objects: scene.objects.map((o) => ({ ...o, shape })) };
  });
}

function bgPhrase(scene: Scene, rng: Rng): string {
  const toneWord = scene.tone === "gray" ? "gray" : scene.tone;
  switch (scene.background) {
    case "plain":
      return rng.chance(0.5) ? `plain ${toneWord}` : toneWord;
    case "noisy":
      return rng.pick(["noisy", "grainy"]);
    default:
      return rng.chance(0.3) ? `${toneWord} ${scene.background}` : scene.background;
  }
}

/** An object's name: "[size] color shape", without the color in a mono scene. */
function describe(o: SceneObject, rng: Rng, withSize: boolean, mono: boolean): string {
  return article([withSize ? rng.pick(SIZE_WORDS[o.size]) : "", mono ? "" : o.color, o.shape].filter(Boolean).join(" "));
}

/**
 * Caption templates: `full` name every object's color and shape; `partial` (SynthOptions.captions)
 * also name shapes alone; a mono scene's captions never name a color.
 */
function captionsFor(scene: Scene, rng: Rng, position: string | undefined, partial: boolean): string[] {
  const bg = (): string => bgPhrase(scene, rng);
  const howMany = 3 + rng.int(3);
  const mono = scene.mono === true;
  /** "color " in a color scene, nothing in a mono one. */
  const col = (c: Color): string => (mono ? "" : `${c} `);
  if (scene.kind === "count") {
    const o = scene.objects[0]!;
    const k = scene.objects.length;
    const size = (): string => rng.pick(SIZE_WORDS[o.size]);
    if (k === 1) {
      return choose(
        rng,
        [
          () => `${article(`${size()} ${col(o.color)}${o.shape}`)} ${position}`,
          () => `${article(`${col(o.color)}${o.shape}`)} on a ${bg()} background`,
          () => `one ${col(o.color)}${o.shape}`,
          () => `a picture of ${article(`${size()} ${col(o.color)}${o.shape}`)}`,
          () => `${article(`${col(o.color)}${o.shape}`)} ${position}, ${bg()} background`,
          () => `a single ${size()} ${o.shape}${mono ? "" : ` colored ${o.color}`}`,
          ...(partial && !mono ? [() => `${article(`${size()} ${o.shape}`)} ${position}`, () => `one ${o.shape} on a ${bg()} background`] : []),
        ],
        howMany,
      );
    }
    const cw = COUNT_WORDS[k - 1]!;
    const many = plural(o.shape);
    return choose(
      rng,
      [
        () => `${cw} ${size()} ${col(o.color)}${many} on a ${bg()} background`,
        () => `${cw} ${col(o.color)}${many}`,
        () => `a picture of ${cw} ${col(o.color)}${many}`,
        () => `there are ${cw} ${size()} ${many}${mono ? "" : `, all ${o.color}`}`,
        () => `${col(o.color)}${many}, ${cw} of them, on a ${bg()} background`,
        () => `an image with ${cw} ${size()} ${col(o.color)}${many}`,
        ...(partial && !mono ? [() => `${cw} ${many}`, () => `a picture of ${cw} ${size()} ${many}`] : []),
      ],
      howMany,
    );
  }
  if (scene.kind === "relation") {
    const [a, b] = scene.objects as [SceneObject, SceneObject];
    const rel = scene.relation!;
    const phrase = rel === "left of" ? "to the left of" : rel === "right of" ? "to the right of" : rel;
    const inverse = rel === "left of" ? "to the right of" : rel === "right of" ? "to the left of" : rel === "above" ? "below" : "above";
    const A = (): string => describe(a, rng, rng.chance(0.4), mono);
    const B = (): string => describe(b, rng, rng.chance(0.4), mono);
    const [first, second] = rel === "left of" || rel === "above" ? [A, B] : [B, A];
    const sides = rel === "left of" || rel === "right of" ? ["on the left", "on the right"] : ["at the top", "at the bottom"];
    return choose(
      rng,
      [
        () => `${A()} ${phrase} ${B()}`,
        () => `${B()} ${inverse} ${A()}`,
        () => `${A()} ${phrase} ${B()} on a ${bg()} background`,
        () => `a picture of ${A()} ${phrase} ${B()}`,
        () => `${first()} ${sides[0]} and ${second()} ${sides[1]}`,
        () => `${A()} and ${B()} on a ${bg()} background`,
        ...(partial && !mono ? [() => `${article(a.shape)} ${phrase} ${article(b.shape)}`, () => `${article(b.shape)} ${inverse} ${article(a.shape)}`] : []),
      ],
      howMany,
    );
  }
  const w = scene.word!;
  const col0 = scene.wordColor!;
  const extra = scene.objects[0];
  const next = (): string => (extra ? ` next to ${describe(extra, rng, false, mono)}` : "");
  return choose(
    rng,
    [
      () => `the word "${w}"${next()}`,
      () => (mono ? `the word "${w}" written on a ${bg()} background` : `the word "${w}" written in ${col0}`),
      () => `a sign that says "${w}"`,
      () => `${mono ? "" : `${col0} `}letters spelling "${w}" on a ${bg()} background`,
      () => `text reading "${w}"${next()}`,
    ],
    howMany,
  );
}

/** Renders a scene as RGB bytes at `size` pixels. */
export function renderScene(scene: Scene, size: number, seed: number, i: number): Uint8Array {
  const rng = Rng.from(seed, "texture", i);
  const canvas = new Canvas(size);
  const jitter = (c: RGB, amount: number): RGB => c.map((v) => Math.max(0, Math.min(255, v + rng.uniform(-amount, amount)))) as unknown as RGB;
  const [base, alt] = TONE_RGB[scene.tone];
  canvas.background(scene.background, jitter(base, 10), jitter(alt, 10), rng);
  for (const o of scene.objects) canvas.shape(o.shape, o.x * size, o.y * size, o.r * size, o.rot, jitter(RGB_OF[o.color], 14));
  if (scene.word) {
    let scale = Math.max(1, Math.floor(size / 32));
    while (scale > 1 && textWidth(scene.word, scale) > size * 0.9) scale--;
    const w = textWidth(scene.word, scale);
    const h = 7 * scale;
    const x = rng.uniform(0.05 * size, Math.max(0.05 * size, size * 0.95 - w));
    const y = rng.uniform(0.35 * size, 0.65 * size - h);
    canvas.text(scene.word, x, y, scale, jitter(RGB_OF[scene.wordColor!], 10));
  }
  if (scene.mono) grayscaleRGB(canvas.data);
  return canvas.data;
}
