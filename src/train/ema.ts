/**
 * @file An exponential moving average of the weights (timm's ModelEmaV2, Polyak averaging): a
 * second copy of the model whose tensors follow the trained ones, evaluated and saved beside them.
 */
import { isBuffer, type StateDict } from "../models/clip/config.js";
import { InternalError, UserError } from "../errors.js";

/**
 * The decay at update `t` (1-based): `min(decay, (1 + t) / (10 + t))`, the warm-up of
 * TensorFlow's ExponentialMovingAverage with `num_updates`, so the early average is not held
 * near the random initialization.
 */
export function emaDecay(decay: number, t: number): number {
  return Math.min(decay, (1 + t) / (10 + t));
}

export function checkEmaDecay(decay: number): void {
  if (!(decay > 0 && decay < 1)) throw new UserError(`--ema takes a decay strictly between 0 and 1 (e.g. 0.999), got ${decay}`);
}

/** The average of the keys that training changes: trained parameters and BatchNorm statistics. */
export class WeightEma {
  private constructor(
    readonly decay: number,
    /** Every key of the model: the averaged ones hold their average, the rest are the model's. */
    readonly state: StateDict,
    private readonly averaged: readonly string[],
    private readonly copied: readonly string[],
  ) {}

  /**
   * Starts the average at `model`'s current values (a copy), or from `saved` (a resumed run's
   * average). It averages the `trained` keys and BatchNorm's running statistics, and copies the
   * BatchNorm counters.
   */
  static create(decay: number, model: StateDict, trained: Iterable<string>, saved?: StateDict): WeightEma {
    checkEmaDecay(decay);
    const counter = (k: string): boolean => k.endsWith(".num_batches_tracked");
    const averaged = [...new Set([...trained, ...[...model.keys()].filter((k) => isBuffer(k) && !counter(k))])];
    const state: StateDict = new Map();
    for (const [k, t] of model) {
      const from = saved?.get(k) ?? t;
      if (from.data.length !== t.data.length) throw new UserError(`the saved average's ${k} has ${from.data.length} values, the model's ${t.data.length}`);
      state.set(k, { shape: [...t.shape], data: from.data.slice() });
    }
    for (const k of averaged) if (!state.has(k)) throw new InternalError(`WeightEma: no tensor ${k}`);
    const copied = [...model.keys()].filter(counter);
    return new WeightEma(decay, state, averaged, copied);
  }

  /** After optimizer update `t` (1-based): avg = d * avg + (1 - d) * model, d = emaDecay(decay, t); other keys are copied. */
  update(model: StateDict, t: number): void {
    const d = emaDecay(this.decay, t);
    for (const k of this.averaged) {
      const avg = this.state.get(k)!.data;
      const cur = model.get(k)!.data;
      for (let i = 0; i < avg.length; i++) avg[i] = d * avg[i] + (1 - d) * cur[i];
    }
    // counters (num_batches_tracked) follow the model; fixed parameters never change
    for (const k of this.copied) this.state.get(k)!.data.set(model.get(k)!.data);
  }
}
