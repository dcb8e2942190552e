// The per-sample noise-prediction error ‖ε̂(x_t, t | cloud) − ε‖² / 6, with caller-given t and ε.
import * as tf from '@tensorflow/tfjs';
import type { PrimitiveDiffusionModel } from './model.ts';

export interface EpsErrorOptions {
  /** Primitive kind index per encoding row (policies with several kinds). */
  kinds?: ArrayLike<number>;
  /**
   * Unordered primitives (fling): the error is the smaller of the two point orders, i.e. against ε and
   * against the ε that would have produced the same x_t from the swapped x0. @default false
   */
  unordered?: boolean;
}

/**
 * Per-sample ε-MSE [m] for clean actions x0 [m, 6] noised with `eps` [m, 6] at timesteps `t` (m
 * integers) and conditioned on `encoding` [b, C] (m = b·group, rows grouped per encoding row).
 * Differentiable (for the supervised loss and Diffusion-DPO); the same (t, ε) given to a policy and
 * its frozen reference gives comparable errors.
 */
export function epsError(
  model: PrimitiveDiffusionModel,
  encoding: tf.Tensor2D,
  x0: tf.Tensor2D,
  t: Int32Array,
  eps: tf.Tensor2D,
  opts: EpsErrorOptions = {},
): tf.Tensor1D {
  const m = x0.shape[0];
  if (t.length !== m) throw new Error(`t: expected ${m} timesteps (one per row of x0), received ${t.length}`);
  if (eps.shape.join() !== x0.shape.join()) throw new Error(`eps: expected shape [${x0.shape}], received [${eps.shape}]`);
  const b = encoding.shape[0];
  if (m % b !== 0) throw new Error(`x0: ${m} rows are not a whole number of groups for ${b} encodings`);
  return tf.tidy(() => {
    const { sa, s1a } = noiseScales(model, t);
    const xt = tf.add(tf.mul(x0, sa), tf.mul(eps, s1a)) as tf.Tensor2D;
    const pred = model.denoiser(encoding, { group: m / b, kinds: opts.kinds }).predict(xt, t);
    const err = tf.mean(tf.square(tf.sub(pred, eps)), -1) as tf.Tensor1D;
    if (!opts.unordered) return err;
    // the noise that maps the swapped x0 onto the same x_t: ε' = (x_t − √ᾱ·swap(x0)) / √(1 − ᾱ)
    const swapped = tf.concat([tf.slice(x0, [0, 3], [m, 3]), tf.slice(x0, [0, 0], [m, 3])], 1);
    const eps2 = tf.div(tf.sub(xt, tf.mul(swapped, sa)), s1a);
    return tf.minimum(err, tf.mean(tf.square(tf.sub(pred, eps2)), -1)) as tf.Tensor1D;
  });
}

/** √ᾱ_t and √(1 − ᾱ_t) as [m, 1] columns. */
export function noiseScales(model: PrimitiveDiffusionModel, t: Int32Array): { sa: tf.Tensor2D; s1a: tf.Tensor2D } {
  const { alphasCumprod: abar, T } = model.schedule;
  const sa = new Float32Array(t.length);
  const s1a = new Float32Array(t.length);
  for (let i = 0; i < t.length; i++) {
    const ti = t[i]!;
    if (!Number.isInteger(ti) || ti < 0 || ti >= T) throw new Error(`t[${i}]: expected an integer in [0, ${T}), received ${ti}`);
    sa[i] = Math.sqrt(abar[ti]!);
    s1a[i] = Math.sqrt(1 - abar[ti]!);
  }
  return { sa: tf.tensor2d(sa, [t.length, 1]), s1a: tf.tensor2d(s1a, [t.length, 1]) };
}
