// Local features of a cloud at query points: Gaussian-weighted neighbourhood averages at several radii.
//
// A fixed-kernel cross-attention: each query (a noisy pick or place point) attends to the cloud's points
// with logits −|q − p|² / 2σ² instead of learned keys, so the denoiser sees what lies around the point it
// is moving (DeformPAM's diffusion head gets the same locality from cross-attention with relative
// positions). The weights depend only on inputs (x_t and the cloud), so only the gathered per-point
// features carry gradients, and their gradient is one plain batched matMul (fast on wasm).
import * as tf from '@tensorflow/tfjs';

/** Geometric features per query and radius: offset to the weighted mean point (3) and log density (1). */
export const LOCAL_GEOMETRY = 4;
/** Offsets are divided by the radius and clipped to ± this. */
const OFFSET_CLIP = 4;

type GatherFn = (w: tf.Tensor, v: tf.Tensor, save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] };

/** y = w·v for w [b, q, n], v [b, n, d]; gradient for v only (w is a constant of the inputs). */
const gather = tf.customGrad(((w, v, save) => {
  save([w]);
  return {
    value: tf.matMul(w as tf.Tensor3D, v as tf.Tensor3D),
    gradFunc: (dy, [sw]) => [tf.zerosLike(sw!), tf.matMul(tf.transpose(sw!, [0, 2, 1]) as tf.Tensor3D, dy as tf.Tensor3D)],
  };
}) as GatherFn as never) as unknown as (w: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor3D;

/**
 * A copy of x cut off from the gradient tape. tfjs has no stop_gradient, and a custom gradient of zero
 * is not enough: every op after it would still be differentiated (the tape keeps any op reachable from
 * a variable) only for the result to be multiplied by zero. A synchronous read (a memory copy on wasm
 * and cpu) starts a new graph; meant for small tensors such as a batch of clouds.
 */
export function detach<T extends tf.Tensor>(x: T): T {
  return tf.tensor(x.dataSync(), x.shape, x.dtype) as T;
}

/** A cloud prepared once for many query batches (every DDIM step, every noise draw). */
export interface LocalCloud {
  /** [b, n, 3] */
  points: tf.Tensor3D;
  /** [b, 3, n] */
  pointsT: tf.Tensor3D;
  /** [b, 1, n] squared norms. */
  sq: tf.Tensor3D;
  /** [b, n, d + 3]: per-point features followed by the point itself. */
  values: tf.Tensor3D;
}

/** Prepares points [b, n, 3] (no gradient flows back through them) and their features [b, n, d]. */
export function localCloud(cloudPoints: tf.Tensor3D, features: tf.Tensor3D): LocalCloud {
  const points = detach(cloudPoints);
  return {
    points,
    pointsT: tf.transpose(points, [0, 2, 1]) as tf.Tensor3D,
    sq: tf.sum(tf.square(points), 2, true).reshape([points.shape[0], 1, points.shape[1]]) as tf.Tensor3D,
    values: tf.concat([features, points], 2) as tf.Tensor3D,
  };
}

/**
 * Features at queries [b, q, 3] for every radius (object units): [b, q, radii·(d + 4)], per radius the
 * weighted mean feature (d), the offset from the query to the weighted mean point in units of the radius,
 * clipped to ±4 (3), and the log of the
 * mean kernel value, clipped to [−8, 0] and divided by 8 (1: "how much cloud is near").
 */
export function localFeatures(cloud: LocalCloud, queries: tf.Tensor3D, radii: readonly number[]): tf.Tensor3D {
  const [b, q] = queries.shape;
  const n = cloud.points.shape[1];
  const d = cloud.values.shape[2] - 3;
  return tf.tidy(() => {
    const S = radii.length;
    const qq = tf.sum(tf.square(queries), 2, true);
    const d2 = tf.relu(tf.add(tf.sub(qq, tf.mul(tf.matMul(queries, cloud.pointsT), 2)), cloud.sq)) as tf.Tensor3D;
    const ws: tf.Tensor3D[] = [];
    const ds: tf.Tensor3D[] = [];
    for (const r of radii) {
      const logits = tf.mul(d2, -1 / (2 * r * r)) as tf.Tensor3D;
      ws.push(tf.softmax(logits) as tf.Tensor3D);
      ds.push(tf.div(tf.clipByValue(tf.sub(tf.logSumExp(logits, 2, true), Math.log(n)), -8, 0), 8) as tf.Tensor3D);
    }
    const g = gather(tf.concat(ws, 1) as tf.Tensor3D, cloud.values); // [b, S·q, d + 3]
    const feat = tf.slice(g, [0, 0, 0], [b, S * q, d]);
    const mean = tf.slice(g, [0, 0, d], [b, S * q, 3]);
    // in units of each radius (order 1 inside the kernel, where precision matters), clipped far away
    const inv = tf.tensor3d(radii.flatMap((r) => Array<number>(q).fill(1 / r)), [1, S * q, 1]);
    const offset = tf.clipByValue(tf.mul(tf.sub(mean, tf.tile(queries, [1, S, 1])), inv), -OFFSET_CLIP, OFFSET_CLIP);
    const all = tf.concat([feat, offset, tf.concat(ds, 1)], 2); // [b, S·q, d + 4], radius-major
    // → [b, q, S·(d + 4)]
    return tf.reshape(tf.transpose(tf.reshape(all, [b, S, q, d + LOCAL_GEOMETRY]), [0, 2, 1, 3]), [b, q, S * (d + LOCAL_GEOMETRY)]) as tf.Tensor3D;
  });
}
