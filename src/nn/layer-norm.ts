// Layer normalisation over the last axis (PyTorch's LayerNorm, eps 1e-5), optional fused ReLU, with a hand-written gradient.
import * as tf from '@tensorflow/tfjs';
import { sumRows } from './matmul.ts';

const EPS = 1e-5;

type CustomFn = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

function normalise(x: tf.Tensor2D): { xhat: tf.Tensor2D; rstd: tf.Tensor2D } {
  const mean = tf.mean(x, -1, true);
  const xc = tf.sub(x, mean);
  const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), EPS)) as tf.Tensor2D;
  return { xhat: tf.mul(xc, rstd), rstd };
}

function lnGrads(dy: tf.Tensor2D, xhat: tf.Tensor2D, rstd: tf.Tensor2D, g: tf.Tensor1D): tf.Tensor[] {
  const dg = sumRows(tf.mul(dy, xhat));
  const db = sumRows(dy);
  const dxhat = tf.mul(dy, g);
  const m1 = tf.mean(dxhat, -1, true);
  const m2 = tf.mean(tf.mul(dxhat, xhat), -1, true);
  const dx = tf.mul(tf.sub(tf.sub(dxhat, m1), tf.mul(xhat, m2)), rstd);
  return [dx, dg, db];
}

function make(relu: boolean) {
  return tf.customGrad(((x, g, b, save) => {
    const { xhat, rstd } = normalise(x as tf.Tensor2D);
    const lin = tf.add(tf.mul(xhat, g), b);
    const y = relu ? tf.relu(lin) : lin;
    save(relu ? [xhat, rstd, g, y] : [xhat, rstd, g]);
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [sxhat, srstd, sg, sy] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D?];
        const d = (sy ? tf.mul(dy, tf.step(sy)) : dy) as tf.Tensor2D;
        return lnGrads(d, sxhat, srstd, sg);
      },
    };
  }) as CustomFn as never) as unknown as (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;
}

const lnLinear = make(false);
const lnRelu = make(true);

/** (x − mean)/√(var + 1e-5)·g + b over the last axis of x [m, c], then ReLU when asked. */
export function layerNorm(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, activation: 'linear' | 'relu' = 'linear'): tf.Tensor2D {
  return activation === 'relu' ? lnRelu(x, g, b) : lnLinear(x, g, b);
}
