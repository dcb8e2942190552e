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
  /** First and second moments of all variables, concatenated in variable order. */
  readonly #m: tf.Variable;
  readonly #v: tf.Variable;
  readonly #sizes: number[];
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
    this.#sizes = vars.map((v) => v.size);
    const total = this.#sizes.reduce((a, b) => a + b, 0);
    this.#m = tf.variable(tf.zeros([total]), false);
    this.#v = tf.variable(tf.zeros([total]), false);
  }

  /** The learning rate the next update will use. */
  currentLr(): number {
    return this.lr * this.schedule(this.step);
  }

  /**
   * Applies one update from gradients keyed by variable name (as tf.variableGrads returns them). The
   * moment arithmetic runs once on all parameters concatenated (a handful of ops instead of ~10 per
   * variable, which dominates small models); only the final assignment is per variable.
   */
  apply(grads: tf.NamedTensorMap): void {
    const lr = this.currentLr();
    this.step++;
    const [b1, b2] = this.betas;
    const bc1 = 1 - b1 ** this.step;
    const bc2 = 1 - b2 ** this.step;
    const stepSize = lr / bc1;
    tf.tidy(() => {
      // a variable without a gradient (not on the loss's path) gets a zero gradient, as in PyTorch's
      // AdamW when .grad is zero; with tf.variableGrads every trainable variable passed has one
      const g = tf.concat(this.#vars.map((p) => tf.reshape(grads[p.name] ?? tf.zerosLike(p), [-1])));
      const p = tf.concat(this.#vars.map((x) => tf.reshape(x, [-1])));
      const m = tf.add(tf.mul(this.#m, b1), tf.mul(g, 1 - b1));
      const v = tf.add(tf.mul(this.#v, b2), tf.mul(tf.square(g), 1 - b2));
      const denom = tf.add(tf.mul(tf.sqrt(v), 1 / Math.sqrt(bc2)), this.eps);
      const decayed = this.weightDecay ? tf.mul(p, 1 - lr * this.weightDecay) : p;
      const next = tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize));
      this.#m.assign(m);
      this.#v.assign(v);
      const parts = this.#vars.length === 1 ? [next] : tf.split(next, this.#sizes);
      this.#vars.forEach((x, i) => x.assign(tf.reshape(parts[i]!, x.shape)));
    });
  }

  /** Moments and step, for checkpoints (moments split per variable, in variable order). */
  async state(): Promise<{ step: number; m: ParamArray[]; v: ParamArray[] }> {
    const split = async (x: tf.Variable) => {
      const all = (await x.data()) as Float32Array;
      let o = 0;
      return this.#vars.map((p, i) => {
        const n = this.#sizes[i]!;
        const a = { shape: [...p.shape], data: all.slice(o, o + n) };
        o += n;
        return a;
      });
    };
    return { step: this.step, m: await split(this.#m), v: await split(this.#v) };
  }

  /** Restores `state()`; shapes must match the variables. */
  setState(s: { step: number; m: ParamArray[]; v: ParamArray[] }): void {
    if (s.m.length !== this.#vars.length || s.v.length !== this.#vars.length)
      throw new Error(`optimizer state: expected moments for ${this.#vars.length} parameters, received ${s.m.length}/${s.v.length}`);
    const join = (arrs: ParamArray[], what: string) => {
      const out = new Float32Array(this.#m.size);
      let o = 0;
      this.#vars.forEach((p, i) => {
        const a = arrs[i]!;
        if (a.shape.join() !== p.shape.join()) throw new Error(`optimizer state ${what}[${i}]: expected shape [${p.shape}], received [${a.shape}]`);
        out.set(a.data, o);
        o += a.data.length;
      });
      return out;
    };
    const m = join(s.m, 'm');
    const v = join(s.v, 'v');
    tf.tidy(() => {
      this.#m.assign(tf.tensor1d(m));
      this.#v.assign(tf.tensor1d(v));
    });
    this.step = s.step;
  }

  dispose(): void {
    this.#m.dispose();
    this.#v.dispose();
  }
}
