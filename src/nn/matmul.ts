// Products with a transposed operand and column sums, written for each backend's fast paths.
//
// On wasm, tfjs's matMul runs XNNPACK only for plain (untransposed) operands and treats the second operand
// as the weights: it packs it (with a transpose) into a cached operator, ~40–70 ns per element, so a fresh
// large second operand costs far more than the product itself. Transposed flags fall back to a naive loop
// (~15× slower). Reductions over a non-inner axis transpose first. The helpers below avoid all three.
import * as tf from '@tensorflow/tfjs';

function onWasm(): boolean {
  return tf.getBackend() === 'wasm';
}

/**
 * aᵀ·b for a [k, m], b [k, n] → [m, n] (k is the long, contracted axis in weight gradients). On wasm
 * the operand with fewer columns becomes XNNPACK's packed second operand and the other is transposed.
 */
export function matMulAT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!onWasm()) return tf.matMul(a, b, true, false);
  const [, m] = a.shape;
  const [, n] = b.shape;
  return tf.tidy(() => (m < n ? (tf.transpose(tf.matMul(tf.transpose(b), a)) as tf.Tensor2D) : tf.matMul(tf.transpose(a), b)));
}

/** a·bᵀ for a [m, k], b [n, k] → [m, n] (b is a small weight in gradients: its transpose is cheap). */
export function matMulBT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!onWasm()) return tf.matMul(a, b, false, true);
  return tf.tidy(() => tf.matMul(a, tf.transpose(b)));
}

/** Column sums of x [m, n] → [n]. On wasm an average pool over an [m, 1] window (channel-last, vectorised) × m. */
export function sumRows(x: tf.Tensor2D): tf.Tensor1D {
  if (!onWasm()) return tf.sum(x, 0);
  const [m, n] = x.shape;
  return tf.tidy(() => tf.mul(tf.reshape(tf.avgPool(tf.reshape(x, [1, m, 1, n]) as tf.Tensor4D, [m, 1], [m, 1], 'valid'), [n]), m));
}
