// A fully connected layer (x·W + b, optional ReLU) whose gradient uses only plain matMuls (fast on wasm).
import * as tf from '@tensorflow/tfjs';
import { matMulAT, matMulBT, sumRows } from './matmul.ts';

export type DenseActivation = 'linear' | 'relu';

type Grads = [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];

function denseGrads(dz: tf.Tensor2D, x: tf.Tensor2D, w: tf.Tensor2D): Grads {
  return [matMulBT(dz, w), matMulAT(x, dz), sumRows(dz)];
}

// tf.customGrad's typing wants variadic Tensor args; the casts stay inside this file.
type CustomFn = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

const denseLinear = tf.customGrad(((x, w, b, save) => {
  const y = tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b });
  save([x, w]);
  return {
    value: y,
    gradFunc: (dy, [sx, sw]) => denseGrads(dy as tf.Tensor2D, sx as tf.Tensor2D, sw as tf.Tensor2D),
  };
}) as CustomFn as never) as unknown as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;

const denseRelu = tf.customGrad(((x, w, b, save) => {
  const y = tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b, activation: 'relu' });
  save([x, w, y]);
  return {
    value: y,
    gradFunc: (dy, [sx, sw, sy]) => denseGrads(tf.mul(dy, tf.step(sy!)) as tf.Tensor2D, sx as tf.Tensor2D, sw as tf.Tensor2D),
  };
}) as CustomFn as never) as unknown as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;

/**
 * y = act(x·w + b) for x [m, in], w [in, out], b [out] → [m, out]. The forward pass is one fused
 * kernel; the gradient is written with explicit transposes and plain matMuls (tfjs's own matMul
 * gradient uses transposed operands, which wasm runs ~15× slower).
 */
export function dense(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, activation: DenseActivation = 'linear'): tf.Tensor2D {
  if (x.shape[1] !== w.shape[0]) throw new Error(`dense: input has ${x.shape[1]} features, weight expects ${w.shape[0]}`);
  return activation === 'relu' ? denseRelu(x, w, b) : denseLinear(x, w, b);
}

const linearNoBias = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, save: tf.GradSaveFunc) => {
  const y = tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D);
  save([x, w]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, [sx, sw]: tf.Tensor[]) => [matMulBT(dy as tf.Tensor2D, sw as tf.Tensor2D), matMulAT(sx as tf.Tensor2D, dy as tf.Tensor2D)],
  };
}) as never) as unknown as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor2D;

/** x·w for x [m, k], w [k, n] → [m, n], with the same wasm-friendly gradient as `dense`. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  if (x.shape[1] !== w.shape[0]) throw new Error(`linear: input has ${x.shape[1]} features, weight expects ${w.shape[0]}`);
  return linearNoBias(x, w);
}
