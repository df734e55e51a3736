/** @file Dataset options with their defaults filled in and checked, plus the position fingerprint. */
import { UserError } from "../errors.js";
import { hashSeed } from "../util/rng.js";
import type { SampleRules } from "./sample.js";
import type { DatasetOptions, OnBadSample } from "./types.js";

export interface Options extends SampleRules {
  shuffle: boolean;
  seed: number;
  shuffleBuffer: number;
  epochs: number;
  resampled: boolean;
  worker: { index: number; count: number };
  onBad: OnBadSample;
}

export function normalizeOptions(o: DatasetOptions = {}): Options {
  const worker = o.worker ?? { index: 0, count: 1 };
  if (!Number.isInteger(worker.count) || worker.count < 1 || !Number.isInteger(worker.index) || worker.index < 0 || worker.index >= worker.count) {
    throw new UserError(`bad worker ${JSON.stringify(worker)}: expected 0 <= index < count`);
  }
  const epochs = o.epochs ?? 1;
  if (!(epochs === Infinity || (Number.isInteger(epochs) && epochs >= 0))) throw new UserError(`epochs must be a whole number or Infinity (got ${epochs})`);
  const shuffleBuffer = o.shuffleBuffer ?? 1000;
  if (!Number.isInteger(shuffleBuffer) || shuffleBuffer < 1) throw new UserError(`shuffleBuffer must be a positive integer (got ${shuffleBuffer})`);
  const seed = o.seed ?? 0;
  if (!Number.isFinite(seed)) throw new UserError(`seed must be a number (got ${seed})`);
  return {
    shuffle: o.shuffle ?? false,
    seed,
    shuffleBuffer,
    epochs,
    resampled: o.resampled ?? false,
    worker,
    onBad: o.onBad ?? "skip",
    requireImage: o.requireImage ?? true,
    requireCaption: o.requireCaption ?? false,
    requireLabel: o.requireLabel ?? false,
    maxCaptionChars: o.maxCaptionChars ?? 2000,
    ...(o.numClasses !== undefined ? { numClasses: o.numClasses } : {}),
  };
}

/** What a saved position must match to be resumed: the data (by names) and every ordering choice. */
export function fingerprint(layout: string, names: readonly string[], o: Options): string {
  const h = hashSeed(...names.map((n) => n.replace(/[?#].*$/, "").split(/[\\/]/).pop()!)).toString(16);
  const order = o.resampled ? "resampled" : o.shuffle ? `shuffle:${o.shuffleBuffer}` : "ordered";
  return `${layout}:${names.length}:${h}|seed=${o.seed}|${order}|worker=${o.worker.index}/${o.worker.count}`;
}

export function checkFingerprint(saved: string, now: string): void {
  if (saved !== now) {
    throw new UserError(`the saved data position belongs to another dataset or ordering (saved ${saved}, now ${now}); resume with the same --data, seed, shuffle and worker settings`);
  }
}
