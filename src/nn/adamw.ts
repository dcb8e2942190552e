// AdamW (decoupled weight decay, PyTorch's update rule) with an optional learning-rate schedule; state is saveable.
import * as tf from '@tensorflow/tfjs';
import type { ParamArray } from './params.ts';

export interface AdamWOptions {
  /** @default 1e-4 */
  lr?: number;
  /** @default [0.9, 0.95] (DeformPAM) */
  betas?: [number, number];
  /** @default 1e-8 */
  eps?: number;
  /** Decoupled weight decay. @default 1e-3 */
  weightDecay?: number;
  /** Multiplier of lr at a 0-based step (e.g. cosineSchedule). @default constant 1 */
  schedule?: (step: number) => number;
}

/** Linear warm-up over `warmup` steps, then cosine decay from 1 to 0 at `total` steps. */
export function cosineSchedule(total: number, warmup = 0): (step: number) => number {
  return (step) => {
    if (step < warmup) return (step + 1) / warmup;
    const p = Math.min(1, (step - warmup) / Math.max(1, total - warmup));
    return 0.5 * (1 + Math.cos(Math.PI * p));
  };
}

/**
 * AdamW over a fixed list of variables: p ← p·(1 − lr·wd); m, v moments; p ← p − lr/(1−β1ᵗ) · m/(√v/√(1−β2ᵗ) + eps).
 * `step` counts applied updates (saved with the state so a resumed run continues the schedule).
 */
export class AdamW {
  readonly #vars: tf.Variable[];
  readonly #m: tf.Variable[];
  readonly #v: tf.Variable[];
  readonly lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  readonly schedule: (step: number) => number;
  step = 0;

  constructor(vars: tf.Variable[], opts: AdamWOptions = {}) {
    this.#vars = vars;
    this.lr = opts.lr ?? 1e-4;
    this.betas = opts.betas ?? [0.9, 0.95];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 1e-3;
    this.schedule = opts.schedule ?? (() => 1);
    this.#m = vars.map((v) => tf.variable(tf.zerosLike(v), false));
    this.#v = vars.map((v) => tf.variable(tf.zerosLike(v), false));
  }

  /** The learning rate the next update will use. */
  currentLr(): number {
    return this.lr * this.schedule(this.step);
  }

  /** Applies one update from gradients keyed by variable name (as tf.variableGrads returns them). */
  apply(grads: tf.NamedTensorMap): void {
    const lr = this.currentLr();
    this.step++;
    const [b1, b2] = this.betas;
    const bc1 = 1 - b1 ** this.step;
    const bc2 = 1 - b2 ** this.step;
    const stepSize = lr / bc1;
    tf.tidy(() => {
      this.#vars.forEach((p, i) => {
        const g = grads[p.name];
        if (!g) return;
        const m = this.#m[i]!;
        const v = this.#v[i]!;
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), this.eps);
        const decayed = this.weightDecay ? tf.mul(p, 1 - lr * this.weightDecay) : p;
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize)));
      });
    });
  }

  /** Moments and step, for checkpoints. */
  async state(): Promise<{ step: number; m: ParamArray[]; v: ParamArray[] }> {
    const read = (vs: tf.Variable[]) =>
      Promise.all(vs.map(async (x) => ({ shape: [...x.shape], data: Float32Array.from((await x.data()) as Float32Array) })));
    return { step: this.step, m: await read(this.#m), v: await read(this.#v) };
  }

  /** Restores `state()`; shapes must match the variables. */
  setState(s: { step: number; m: ParamArray[]; v: ParamArray[] }): void {
    if (s.m.length !== this.#vars.length || s.v.length !== this.#vars.length)
      throw new Error(`optimizer state: expected moments for ${this.#vars.length} parameters, received ${s.m.length}/${s.v.length}`);
    this.#vars.forEach((p, i) => {
      for (const [arr, dst] of [
        [s.m[i]!, this.#m[i]!],
        [s.v[i]!, this.#v[i]!],
      ] as const) {
        if (arr.shape.join() !== p.shape.join()) throw new Error(`optimizer state ${i}: expected shape [${p.shape}], received [${arr.shape}]`);
        tf.tidy(() => dst.assign(tf.tensor(arr.data, arr.shape)));
      }
    });
    this.step = s.step;
  }

  dispose(): void {
    for (const x of [...this.#m, ...this.#v]) x.dispose();
  }
}
