// DDIM sampling of N candidate primitives per cloud from one encoding, all candidates in one batch.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../core/rng.ts';
import { ACTION_DIM } from './config.ts';
import type { PrimitiveDiffusionModel } from './model.ts';
import { ddimTimesteps } from './schedule.ts';

export interface SampleOptions {
  /** Candidates per encoding row. */
  n: number;
  /** DDIM steps (≤ T). @default 10 */
  steps?: number;
  /** 0: deterministic DDIM; 1: DDPM-like noise. @default 0 */
  eta?: number;
  /** Seed of the initial noise (and of the per-step noise when eta > 0). @default 0 */
  seed?: number;
  /** Primitive kind index per encoding row (policies with several kinds). */
  kinds?: ArrayLike<number>;
  /** Initial x_T [b·n, 6] row-major, instead of drawing it from `seed`. */
  initialNoise?: Float32Array;
}

/**
 * Draws `n` candidates for each row of `encoding` [b, C]: DDIM from x_T ~ N(0, I) with ε-prediction,
 * x̂0 clipped to ±clip each step, ᾱ_prev = 1 after the last step. Returns [b·n, 6] in the object
 * frame (rows grouped per encoding row). Every intermediate is freed; only the result survives.
 */
export function sampleCandidates(model: PrimitiveDiffusionModel, encoding: tf.Tensor2D, opts: SampleOptions): tf.Tensor2D {
  const { n } = opts;
  const steps = opts.steps ?? 10;
  const eta = opts.eta ?? 0;
  if (!Number.isInteger(n) || n < 1) throw new Error(`n: expected an integer ≥ 1, received ${n}`);
  if (!(eta >= 0 && eta <= 1)) throw new Error(`eta: expected a number in [0, 1], received ${eta}`);
  const { T, alphasCumprod: abar } = model.schedule;
  const ts = ddimTimesteps(T, steps);
  const clip = model.config.diffusion.clip;
  const m = encoding.shape[0] * n;
  const rng = new Rng(opts.seed ?? 0);
  let init = opts.initialNoise;
  if (init && init.length !== m * ACTION_DIM) throw new Error(`initialNoise: expected ${m * ACTION_DIM} numbers, received ${init.length}`);
  init ??= rng.fillNormal(new Float32Array(m * ACTION_DIM)) as Float32Array;
  const z = eta > 0 ? new Float32Array(m * ACTION_DIM) : null;

  return tf.tidy(() => {
    const den = model.denoiser(encoding, { group: n, kinds: opts.kinds });
    let x = tf.tensor2d(init, [m, ACTION_DIM]);
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i]!;
      const aT = abar[t]!;
      const aPrev = i + 1 < ts.length ? abar[ts[i + 1]!]! : 1;
      const sigma = eta > 0 ? eta * Math.sqrt((1 - aPrev) / (1 - aT)) * Math.sqrt(1 - aT / aPrev) : 0;
      if (z) rng.fillNormal(z);
      const next = tf.tidy(() => {
        const eps = den.predict(x, t);
        const x0 = tf.clipByValue(tf.div(tf.sub(x, tf.mul(eps, Math.sqrt(1 - aT))), Math.sqrt(aT)), -clip, clip);
        let xn = tf.add(tf.mul(x0, Math.sqrt(aPrev)), tf.mul(eps, Math.sqrt(Math.max(0, 1 - aPrev - sigma * sigma))));
        if (z && sigma > 0) xn = tf.add(xn, tf.mul(tf.tensor2d(z, [m, ACTION_DIM]), sigma));
        return xn;
      });
      x.dispose();
      x = next as tf.Tensor2D;
    }
    return x;
  });
}
