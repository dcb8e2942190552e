import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { initBackend } from '../../src/nn/backend.ts';
import { LOCAL_GEOMETRY, detach, localCloud, localFeatures } from '../../src/nn/local-features.ts';

const rng = new Rng(11);
const rand = (shape: number[]) => tf.tensor(rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))) as Float32Array, shape);

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

/** The same features written with plain tfjs ops (autodiff everywhere), for one radius. */
function reference(points: tf.Tensor3D, feats: tf.Tensor3D, q: tf.Tensor3D, r: number): tf.Tensor3D {
  const d2 = tf.sum(tf.square(tf.sub(tf.expandDims(q, 2), tf.expandDims(points, 1))), 3); // [b, q, n]
  const logits = tf.mul(d2, -1 / (2 * r * r));
  const w = tf.softmax(logits);
  const f = tf.matMul(w, feats);
  const off = tf.clipByValue(tf.div(tf.sub(tf.matMul(w, points), q), r), -4, 4);
  const dens = tf.div(tf.clipByValue(tf.sub(tf.logSumExp(logits, 2, true), Math.log(points.shape[1])), -8, 0), 8);
  return tf.concat([f, off, dens], 2) as tf.Tensor3D;
}

describe('local features at query points', () => {
  it('match a plain-ops reference, per radius, with the same gradient for the features', async () => {
    const b = 3, n = 17, d = 5, q = 4;
    const pts = rand([b, n, 3]) as tf.Tensor3D;
    const feats = rand([b, n, d]) as tf.Tensor3D;
    const queries = rand([b, q, 3]) as tf.Tensor3D;
    const radii = [0.4, 1.3];
    const up = rand([b, q, radii.length * (d + LOCAL_GEOMETRY)]);
    const ours = localFeatures(localCloud(pts, feats), queries, radii);
    const ref = tf.concat(radii.map((r) => reference(pts, feats, queries, r)), 2);
    expect(ours.shape).toEqual([b, q, radii.length * (d + LOCAL_GEOMETRY)]);
    expect(tf.max(tf.abs(tf.sub(ours, ref))).dataSync()[0]).toBeLessThan(1e-5);
    const gOurs = tf.grad((f) => tf.sum(tf.mul(localFeatures(localCloud(pts, f as tf.Tensor3D), queries, radii), up)))(feats);
    const gRef = tf.grad((f) => tf.sum(tf.mul(tf.concat(radii.map((r) => reference(pts, f as tf.Tensor3D, queries, r)), 2), up)))(feats);
    expect(tf.max(tf.abs(tf.sub(gOurs, gRef))).dataSync()[0]).toBeLessThan(1e-5);
    expect(tf.max(tf.abs(gOurs)).dataSync()[0]).toBeGreaterThan(1e-3);
  });

  it('see the cloud near a query: zero offset on an isolated point, the way to the nearest point from afar', () => {
    const pts = tf.tensor3d([[[0, 0, 0], [1, 0, 0], [0, 1, 0]]]);
    const feats = tf.tensor3d([[[1], [2], [3]]]);
    const out = localFeatures(localCloud(pts, feats), tf.tensor3d([[[1, 0, 0], [5, 0, 0]]]), [0.05]).arraySync()[0]!;
    // On point 1: its feature, no offset, density log(1/3)/8.
    expect(out[0]![0]).toBeCloseTo(2, 5);
    expect(Math.hypot(out[0]![1]!, out[0]![2]!, out[0]![3]!)).toBeLessThan(1e-6);
    expect(out[0]![4]).toBeCloseTo(Math.log(1 / 3) / 8, 4);
    // Far away: the nearest point dominates, the offset points at it (in radii, clipped), the density is clipped to −1.
    expect(out[1]![0]).toBeCloseTo(2, 5);
    expect(out[1]![1]).toBe(-4);
    const near = localFeatures(localCloud(pts, feats), tf.tensor3d([[[1.1, 0, 0]]]), [0.05]).arraySync()[0]![0]!;
    expect(near[1]).toBeCloseTo(-2, 3);
    expect(out[1]![4]).toBe(-1);
  });

  it('let no gradient through the points (they are the input cloud)', () => {
    const feats = rand([1, 6, 2]) as tf.Tensor3D;
    const q = rand([1, 3, 3]) as tf.Tensor3D;
    // The tape has no path from the points to the features: tfjs refuses to differentiate.
    expect(() => tf.grad((p) => tf.sum(localFeatures(localCloud(p as tf.Tensor3D, feats), q, [0.5])))(rand([1, 6, 3]))).toThrow(/Cannot compute gradient/);
    const x = rand([2, 2]);
    expect(Array.from(detach(x).dataSync())).toEqual(Array.from(x.dataSync()));
  });
});
