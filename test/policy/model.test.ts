import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { initBackend } from '../../src/nn/backend.ts';
import { timestepEmbedding } from '../../src/nn/timestep-embedding.ts';
import { AdamW } from '../../src/nn/adamw.ts';
import { epsError } from '../../src/policy/eps-error.ts';
import { PrimitiveDiffusionModel } from '../../src/policy/model.ts';
import { sampleCandidates } from '../../src/policy/sampler.ts';
import { trainStep } from '../../src/policy/train-step.ts';

const small = { points: 64, encoder: { kind: 'pointnet' as const, hidden: [16, 32], out: 16 }, denoiser: { hidden: 32, layers: 2, timeEmbedding: 8 } };
let model: PrimitiveDiffusionModel;
let cloud: tf.Tensor3D;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  model = PrimitiveDiffusionModel.create(small, 3);
  cloud = tf.tensor3d(new Rng(1).fillNormal(new Float32Array(2 * 64 * 3)) as Float32Array, [2, 64, 3]);
});
afterAll(() => {
  model.dispose();
  cloud.dispose();
});

describe('PrimitiveDiffusionModel', () => {
  it('the bound denoiser equals the plain MLP on [x_t ‖ emb(t) ‖ c]', async () => {
    const rng = new Rng(5);
    const xt = tf.tensor2d(rng.fillNormal(new Float32Array(6 * 6)) as Float32Array, [6, 6]);
    const t = Int32Array.from([0, 5, 99, 42, 7, 63]);
    const ours = tf.tidy(() => model.predictNoise(model.encode(cloud), xt, t));
    const ref = tf.tidy(() => {
      const p = (n: string) => model.params.get(n);
      const c = model.encode(cloud);
      const cRows = tf.reshape(tf.tile(tf.reshape(c, [2, 1, 16]), [1, 3, 1]), [6, 16]);
      const emb = tf.tensor2d(timestepEmbedding(t, 8), [6, 8]);
      const w1 = tf.concat([p('den.in.wx'), p('den.in.wt'), p('den.in.wc')], 0) as tf.Tensor2D;
      const mishRef = (x: tf.Tensor) => tf.mul(x, tf.tanh(tf.softplus(x)));
      let h = mishRef(tf.add(tf.matMul(tf.concat([xt, emb, cRows], 1), w1), p('den.in.b')));
      h = mishRef(tf.add(tf.matMul(h as tf.Tensor2D, p('den.h1.w') as tf.Tensor2D), p('den.h1.b')));
      return tf.add(tf.matMul(h as tf.Tensor2D, p('den.out.w') as tf.Tensor2D), p('den.out.b'));
    });
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(ours, ref))));
    expect((await d.data())[0]).toBeLessThan(1e-5);
    tf.dispose([xt, ours, ref, d]);
  });

  it('names the mismatch when shapes disagree', () => {
    expect(() => tf.tidy(() => model.predictNoise(model.encode(cloud), tf.zeros([5, 6]), 3))).toThrow(/group/);
    expect(() => tf.tidy(() => model.predictNoise(model.encode(cloud), tf.zeros([4, 6]), 100))).toThrow(/t: expected an integer in \[0, 100\), received 100/);
    expect(() => model.encode(tf.zeros([1, 4, 2]) as tf.Tensor3D)).toThrow(/clouds must be \[b, n, 3\]/);
  });

  it('a frozen clone gives the same outputs and has no trainable variables', async () => {
    const ref = model.clone({ trainable: false });
    expect(ref.params.variables().every((v) => !v.trainable)).toBe(true);
    const a = tf.tidy(() => model.encode(cloud));
    const b = tf.tidy(() => ref.encode(cloud));
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    tf.dispose([a, b]);
    ref.dispose();
  });
});

describe('sampling and training leave no tensors behind', () => {
  it.each([
    ['plain', small],
    ['with local conditioning', { ...small, local: { width: 4, radii: [0.1, 0.3] } }],
  ])('sampleCandidates, epsError, trainStep and a bound denoiser (%s)', async (_, cfg) => {
    const m = PrimitiveDiffusionModel.create(cfg, 9);
    const before0 = tf.memory().numTensors;
    const enc0 = m.encode(cloud);
    const bound = m.denoiser(enc0, { group: 3 });
    tf.dispose([bound.predict(tf.zeros([6, 6]) as tf.Tensor2D, 4)]);
    bound.dispose();
    enc0.dispose();
    // (the zeros input above is the one tensor the test itself leaves)
    expect(tf.memory().numTensors).toBe(before0 + 1);
    const opt = new AdamW(m.params.variables(), { lr: 1e-3 });
    const x0 = tf.zeros([8, 6]) as tf.Tensor2D;
    const eps = tf.ones([8, 6]) as tf.Tensor2D;
    const t = Int32Array.from({ length: 8 }, (_, i) => i * 10);
    const before = tf.memory().numTensors;
    const enc = m.encode(cloud);
    const cands = sampleCandidates(m, enc, { n: 4, steps: 5, eta: 1, seed: 2 });
    expect(cands.shape).toEqual([8, 6]);
    tf.dispose([enc, cands]);
    const e = tf.tidy(() => epsError(m, m.encode(cloud), x0, t, eps, { unordered: true }));
    e.dispose();
    const loss = trainStep(m.params.variables(), opt, () => tf.mean(epsError(m, m.encode(cloud), x0, t, eps)));
    loss.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x0, eps]);
    opt.dispose();
    m.dispose();
  });
});

describe('DDIM', () => {
  it('eta 0 is deterministic for a seed, differs across seeds, and stays within ±1', async () => {
    const enc = tf.tidy(() => model.encode(cloud));
    const run = async (seed: number, eta: number) => {
      const c = sampleCandidates(model, enc, { n: 8, steps: 10, eta, seed });
      const v = Array.from(await c.data());
      c.dispose();
      return v;
    };
    const a = await run(4, 0);
    expect(await run(4, 0)).toEqual(a);
    expect(await run(5, 0)).not.toEqual(a);
    expect(await run(4, 1)).toEqual(await run(4, 1));
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(1 + 1e-6);
    enc.dispose();
  });

  it('refuses bad options', () => {
    const enc = tf.zeros([1, 16]) as tf.Tensor2D;
    expect(() => sampleCandidates(model, enc, { n: 0 })).toThrow(/n: expected an integer ≥ 1, received 0/);
    expect(() => sampleCandidates(model, enc, { n: 2, eta: 2 })).toThrow(/eta: expected a number in \[0, 1\], received 2/);
    expect(() => sampleCandidates(model, enc, { n: 2, steps: 0 })).toThrow(/steps/);
    enc.dispose();
  });
});
