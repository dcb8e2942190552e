// One optimisation step with any loss: gradients of the trainable variables, an AdamW update, the loss kept.
import * as tf from '@tensorflow/tfjs';
import type { AdamW } from '../nn/adamw.ts';

/**
 * Computes `loss()` and its gradients with respect to `vars`, applies `optimizer` and returns the loss
 * (a kept scalar the caller disposes; read it once per log interval, not every step). No other tensor
 * survives the call. Reused by the supervised trainer and by Diffusion-DPO with its own loss.
 */
export function trainStep(vars: tf.Variable[], optimizer: AdamW, loss: () => tf.Scalar): tf.Scalar {
  const { value, grads } = tf.variableGrads(loss, vars);
  try {
    optimizer.apply(grads);
  } finally {
    tf.dispose(grads);
  }
  return value;
}
