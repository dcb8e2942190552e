// Mish, x·tanh(softplus(x)), through one sigmoid (wasm's tanh and softplus are ~20× slower than its sigmoid).
import * as tf from '@tensorflow/tfjs';

type CustomFn = (x: tf.Tensor, save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

/** tanh(softplus(x)) = p/(2 − p) with s = σ(x), p = s(2 − s): exact, and stable for any x. */
function tanhSoftplus(s: tf.Tensor): tf.Tensor {
  const p = tf.mul(s, tf.sub(2, s));
  return tf.div(p, tf.sub(2, p));
}

const mishGrad = tf.customGrad(((x, save) => {
  const s = tf.sigmoid(x);
  const th = tanhSoftplus(s);
  save([x, s, th]);
  return {
    value: tf.mul(x, th),
    // d/dx = tanh(sp) + x·sech²(sp)·σ(x)
    gradFunc: (dy, [sx, ss, sth]) => [tf.mul(dy, tf.add(sth!, tf.mul(tf.mul(sx!, tf.sub(1, tf.square(sth!))), ss!)))],
  };
}) as CustomFn as never) as unknown as (x: tf.Tensor) => tf.Tensor;

/** Mish activation, elementwise, any shape. */
export function mish<T extends tf.Tensor>(x: T): T {
  return mishGrad(x) as T;
}
