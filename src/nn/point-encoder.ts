// DP3's point encoder: per-point MLP (Linear → LayerNorm → ReLU), max over points, Linear → LayerNorm.
import * as tf from '@tensorflow/tfjs';
import { dense } from './dense.ts';
import { layerNorm } from './layer-norm.ts';
import { maxOverPoints } from './max-pool.ts';
import type { ParamSet, ParamSpec } from './params.ts';

export interface PointNetShape {
  /** Per-point MLP widths, e.g. [64, 128, 256]. */
  hidden: readonly number[];
  /** Output width, e.g. 128. */
  out: number;
}

/** The parameters of a PointNet encoder named under `prefix` (Linear weights [in, out], PyTorch's init). */
export function pointNetParamSpecs(prefix: string, shape: PointNetShape, inDim = 3): ParamSpec[] {
  const specs: ParamSpec[] = [];
  let d = inDim;
  const linear = (name: string, a: number, b: number) => {
    specs.push({ name: `${name}.w`, shape: [a, b], init: { kind: 'uniform', fanIn: a } });
    specs.push({ name: `${name}.b`, shape: [b], init: { kind: 'uniform', fanIn: a } });
  };
  const norm = (name: string, c: number) => {
    specs.push({ name: `${name}.g`, shape: [c], init: { kind: 'ones' } });
    specs.push({ name: `${name}.b`, shape: [c], init: { kind: 'zeros' } });
  };
  shape.hidden.forEach((h, i) => {
    linear(`${prefix}.mlp${i}`, d, h);
    norm(`${prefix}.mlp${i}.ln`, h);
    d = h;
  });
  linear(`${prefix}.out`, d, shape.out);
  norm(`${prefix}.out.ln`, shape.out);
  return specs;
}

/**
 * Encodes clouds [b, n, 3] (object frame) into condition vectors [b, out]. The last per-point ReLU is
 * applied after the max (max∘relu = relu∘max, exactly), so it runs on [b, c] instead of [b·n, c].
 */
export function pointNetEncode(params: ParamSet, prefix: string, shape: PointNetShape, clouds: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => pointNetEncodeWithPoints(params, prefix, shape, clouds).global);
}

/**
 * Like pointNetEncode, also returning the last per-point layer before the max ([b·n, hidden.at(-1)],
 * LayerNorm output without the ReLU): the local features of each point.
 */
export function pointNetEncodeWithPoints(params: ParamSet, prefix: string, shape: PointNetShape, clouds: tf.Tensor3D): { global: tf.Tensor2D; perPoint: tf.Tensor2D } {
  return tf.tidy(() => {
    const [b, n, d0] = clouds.shape;
    let h = tf.reshape(clouds, [b * n, d0]) as tf.Tensor2D;
    const last = shape.hidden.length - 1;
    shape.hidden.forEach((_, i) => {
      const p = `${prefix}.mlp${i}`;
      const z = dense(h, params.get(`${p}.w`) as tf.Tensor2D, params.get(`${p}.b`) as tf.Tensor1D);
      h = layerNorm(z, params.get(`${p}.ln.g`) as tf.Tensor1D, params.get(`${p}.ln.b`) as tf.Tensor1D, i === last ? 'linear' : 'relu');
    });
    const pooled = tf.relu(maxOverPoints(tf.reshape(h, [b, n, h.shape[1]]) as tf.Tensor3D)) as tf.Tensor2D;
    const o = dense(pooled, params.get(`${prefix}.out.w`) as tf.Tensor2D, params.get(`${prefix}.out.b`) as tf.Tensor1D);
    return { global: layerNorm(o, params.get(`${prefix}.out.ln.g`) as tf.Tensor1D, params.get(`${prefix}.out.ln.b`) as tf.Tensor1D), perPoint: h };
  });
}
