/** @file AdamW with PyTorch's exact update order, open_clip's weight-decay exclusion, gradient clipping. */
import { InternalError } from "../errors.js";

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** CLIP's defaults (paper, Table: lr 5e-4, betas 0.9/0.98, eps 1e-6, weight decay 0.2). */
export const CLIP_ADAMW: AdamWOptions = { lr: 5e-4, beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0.2 };

/** open_clip's rule: no decay for gains, biases, norms and the temperature. */
export function excludedFromDecay(key: string, shape: readonly number[]): boolean {
  return shape.length < 2 || key.includes("bn") || key.includes("ln") || key.includes("bias") || key.includes("logit_scale");
}

export interface AdamWState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class AdamW {
  state: AdamWState = { step: 0, m: new Map(), v: new Map() };

  constructor(
    readonly opts: AdamWOptions,
    /** Keys that get weight decay. */
    readonly decay: ReadonlySet<string>,
  ) {}

  /** One update of every param that has a gradient, at learning rate `lr`. */
  update(params: Map<string, Float32Array>, grads: Map<string, Float32Array>, lr: number): void {
    const { beta1, beta2, eps, weightDecay } = this.opts;
    const t = ++this.state.step;
    const bc1 = 1 - beta1 ** t;
    const bc2sqrt = Math.sqrt(1 - beta2 ** t);
    const stepSize = lr / bc1;
    for (const [key, g] of grads) {
      const p = params.get(key);
      if (!p) throw new InternalError(`gradient for unknown parameter ${key}`);
      let m = this.state.m.get(key);
      let v = this.state.v.get(key);
      if (!m || !v) {
        m = new Float32Array(p.length);
        v = new Float32Array(p.length);
        this.state.m.set(key, m);
        this.state.v.set(key, v);
      }
      const decay = this.decay.has(key) ? 1 - lr * weightDecay : 1;
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        const mi = (m[i] = m[i] * beta1 + gi * (1 - beta1));
        const vi = (v[i] = v[i] * beta2 + gi * gi * (1 - beta2));
        p[i] = p[i] * decay - (stepSize * mi) / (Math.sqrt(vi) / bc2sqrt + eps);
      }
    }
  }
}

/** torch.nn.utils.clip_grad_norm_: scales all gradients when their global L2 norm exceeds maxNorm; returns the norm. */
export function clipGradNorm(grads: Map<string, Float32Array>, maxNorm: number): number {
  let sq = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
  const norm = Math.sqrt(sq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i] *= coef;
  return norm;
}
