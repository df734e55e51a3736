/** @file The procedural captioned world as samples: scene.ts's scenes rendered and encoded as PNG. */
import type { Sample } from "../types.js";
import { encodePng } from "./png.js";
import { renderScene, synthScene, type SynthOptions } from "./scene.js";

export * from "./scene.js";

/** Item i of the world as a Sample (PNG bytes, captions, label for classification views). */
export function synthSample(i: number, opts: SynthOptions): Sample {
  const size = opts.size ?? 64;
  const split = opts.split ?? "train";
  const scene = synthScene(i, opts);
  const rgb = renderScene(scene, size, opts.seed, i);
  const sample: Sample = {
    key: `${split}-${String(i).padStart(8, "0")}`,
    shard: `synth:?seed=${opts.seed}&split=${split}`,
    image: encodePng(rgb, size, size),
    imageExt: "png",
    captions: scene.captions,
    meta: {
      kind: scene.kind,
      background: scene.background,
      tone: scene.tone,
      objects: scene.objects.map((o) => ({ shape: o.shape, color: o.color, size: o.size, x: round3(o.x), y: round3(o.y) })),
      ...(scene.relation ? { relation: scene.relation } : {}),
      ...(scene.word ? { word: scene.word, wordColor: scene.wordColor } : {}),
    },
  };
  if (scene.label !== undefined) sample.label = scene.label;
  if (scene.negatives) sample.negatives = scene.negatives;
  return sample;
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** The first n items of a split, in order. Deterministic for a seed. */
export function* synthWorld(opts: SynthOptions): Generator<Sample> {
  for (let i = 0; i < opts.n; i++) yield synthSample(i, opts);
}
