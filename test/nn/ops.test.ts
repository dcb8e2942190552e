import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { initBackend } from '../../src/nn/backend.ts';
import { dense, linear } from '../../src/nn/dense.ts';
import { layerNorm } from '../../src/nn/layer-norm.ts';
import { matMulAT, matMulBT, sumRows } from '../../src/nn/matmul.ts';
import { maxOverPoints } from '../../src/nn/max-pool.ts';
import { mish } from '../../src/nn/mish.ts';

const rng = new Rng(7);
const rand = (shape: number[]) => tf.tensor(rng.fillNormal(new Float32Array(shape.reduce((a, b) => a * b, 1))) as Float32Array, shape);

async function maxDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = (await d.data())[0]!;
  d.dispose();
  return v;
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

describe('hand-written gradients match tfjs autodiff', () => {
  it('dense (linear and relu) and linear', async () => {
    const x = rand([37, 5]);
    const w = rand([5, 7]);
    const b = rand([7]);
    const up = rand([37, 7]);
    for (const act of ['linear', 'relu'] as const) {
      const ours = tf.grads((x, w, b) => tf.sum(tf.mul(dense(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D, act), up)));
      const ref = tf.grads((x, w, b) => {
        const z = tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b);
        return tf.sum(tf.mul(act === 'relu' ? tf.relu(z) : z, up));
      });
      const g1 = ours([x, w, b]);
      const g2 = ref([x, w, b]);
      for (let i = 0; i < 3; i++) expect(await maxDiff(g1[i]!, g2[i]!)).toBeLessThan(1e-4);
      tf.dispose([...g1, ...g2]);
    }
    const g1 = tf.grads((x, w) => tf.sum(tf.mul(linear(x as tf.Tensor2D, w as tf.Tensor2D), up)))([x, w]);
    const g2 = tf.grads((x, w) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), up)))([x, w]);
    for (let i = 0; i < 2; i++) expect(await maxDiff(g1[i]!, g2[i]!)).toBeLessThan(1e-4);
    tf.dispose([x, w, b, up, ...g1, ...g2]);
  });

  it('layerNorm (linear and relu)', async () => {
    const x = rand([19, 12]);
    const g = rand([12]);
    const b = rand([12]);
    const up = rand([19, 12]);
    for (const act of ['linear', 'relu'] as const) {
      const ours = tf.grads((x, g, b) => tf.sum(tf.mul(layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, act), up)));
      const ref = tf.grads((x, g, b) => {
        const { mean, variance } = tf.moments(x, -1, true);
        const z = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
        return tf.sum(tf.mul(act === 'relu' ? tf.relu(z) : z, up));
      });
      const g1 = ours([x, g, b]);
      const g2 = ref([x, g, b]);
      for (let i = 0; i < 3; i++) expect(await maxDiff(g1[i]!, g2[i]!)).toBeLessThan(1e-4);
      tf.dispose([...g1, ...g2]);
    }
    tf.dispose([x, g, b, up]);
  });

  it('mish equals x·tanh(softplus(x)) in value and gradient, including large |x|', async () => {
    const x = tf.concat([rand([200]), tf.tensor1d([-40, -17, -5, 0, 5, 17, 40])]);
    expect(await maxDiff(mish(x), tf.mul(x, tf.tanh(tf.softplus(x))))).toBeLessThan(1e-5);
    const g1 = tf.grad((x) => tf.sum(mish(x)))(x);
    const g2 = tf.grad((x) => tf.sum(tf.mul(x, tf.tanh(tf.softplus(x)))))(x);
    expect(await maxDiff(g1, g2)).toBeLessThan(1e-5);
    tf.dispose([x, g1, g2]);
  });

  it('maxOverPoints', async () => {
    const x = rand([3, 50, 8]);
    const up = rand([3, 8]);
    expect(await maxDiff(maxOverPoints(x as tf.Tensor3D), tf.max(x, 1))).toBe(0);
    const g1 = tf.grad((x) => tf.sum(tf.mul(maxOverPoints(x as tf.Tensor3D), up)))(x);
    const g2 = tf.grad((x) => tf.sum(tf.mul(tf.max(x, 1), up)))(x);
    expect(await maxDiff(g1, g2)).toBeLessThan(1e-6);
    tf.dispose([x, up, g1, g2]);
  });

  it('transposed products and column sums', async () => {
    const a = rand([40, 6]);
    const b = rand([40, 9]);
    expect(await maxDiff(matMulAT(a as tf.Tensor2D, b as tf.Tensor2D), tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true, false))).toBeLessThan(1e-4);
    expect(await maxDiff(matMulAT(b as tf.Tensor2D, a as tf.Tensor2D), tf.matMul(b as tf.Tensor2D, a as tf.Tensor2D, true, false))).toBeLessThan(1e-4);
    const c = rand([11, 6]);
    expect(await maxDiff(matMulBT(a as tf.Tensor2D, c as tf.Tensor2D), tf.matMul(a as tf.Tensor2D, c as tf.Tensor2D, false, true))).toBeLessThan(1e-4);
    expect(await maxDiff(sumRows(b as tf.Tensor2D), tf.sum(b, 0))).toBeLessThan(1e-4);
    tf.dispose([a, b, c]);
  });

  it('cloning on wasm shares data and keeps values', async () => {
    const a = rand([4, 4]);
    const c = tf.clone(a);
    a.dispose();
    expect(c.isDisposed).toBe(false);
    expect((await c.data()).length).toBe(16);
    c.dispose();
  });
});
