// Max over the points of each cloud, [b, n, c] → [b, c], through tfjs's pooling kernels with a scatter gradient.
import * as tf from '@tensorflow/tfjs';

type CustomFn = (x: tf.Tensor, save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

const maxGrad = tf.customGrad(((x, save) => {
  const [b, n, c] = x.shape as [number, number, number];
  const x4 = tf.reshape(x, [b, n, 1, c]) as tf.Tensor4D;
  // maxPool over an [n, 1] window runs on the channel-last layout; tf.max(x, 1) transposes first on wasm.
  const y = tf.reshape(tf.maxPool(x4, [n, 1], [n, 1], 'valid'), [b, c]);
  save([x4]);
  return {
    value: y,
    // tfjs's max/maxPool gradients (and any [b,1,c] broadcast) take seconds on wasm at this size; the
    // arg-max positions (recomputed here, so inference pays nothing) and one scatter take milliseconds.
    gradFunc: (dy, [sx]) => {
      const { indexes } = tf.maxPoolWithArgmax(sx as tf.Tensor4D, [n, 1], [n, 1], 'valid', true);
      const flat = tf.scatterND(tf.reshape(indexes, [b * c, 1]), tf.reshape(dy, [b * c]), [b * n * c]);
      return [tf.reshape(flat, [b, n, c])];
    },
  };
}) as CustomFn as never) as unknown as (x: tf.Tensor) => tf.Tensor2D;

/** Max over axis 1 of x [b, n, c] → [b, c]; the gradient goes to one point attaining the max. */
export function maxOverPoints(x: tf.Tensor3D): tf.Tensor2D {
  return maxGrad(x);
}
