import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/nn/backend.ts';
import { Rng } from '../../src/core/rng.ts';
import { PrimitiveDiffusionModel } from '../../src/policy/model.ts';
import { trainStep } from '../../src/policy/train-step.ts';
import { AdamW } from '../../src/nn/adamw.ts';
import { DpoConfigSchema, DpoTrainer, dpoBatch, dpoDelta, dpoLoss, plackettLuceLoss, rankBatch, referenceErrors, type DpoState } from '../../src/preference/dpo.ts';
import { implicitReward } from '../../src/preference/implicit-reward.ts';

const small = { points: 32, encoder: { kind: 'pointnet' as const, hidden: [16], out: 16 }, denoiser: { hidden: 32, layers: 2, timeEmbedding: 16 } };

function cloud(seed: number, n = 32): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n * 3 }, () => r.uniform(-1, 1));
}
const W = Float32Array.from([0.5, 0.5, 0, -0.5, -0.5, 0]);
const L = Float32Array.from([-0.5, 0.5, 0, 0.5, -0.5, 0]);

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

describe('Diffusion-DPO', () => {
  it.each(['logsigmoid', 'sigmoid'] as const)('%s loss on a batch of pairs is lower after one step', (loss) => {
    const policy = PrimitiveDiffusionModel.create(small, 1);
    const reference = policy.clone({ trainable: false });
    const cfg = DpoConfigSchema.parse({ loss, beta: 50, pairsPerState: 4 });
    const states: DpoState[] = [0, 1, 2].map((i) => ({ cloud: cloud(i), pairs: [{ winner: W, loser: L }] }));
    const batch = dpoBatch(states, [0, 1, 2], cfg, policy.schedule.T, new Rng(3));
    const lossOf = () =>
      tf.tidy(() => {
        const ref = referenceErrors(reference, batch, 3);
        return dpoLoss(dpoDelta(policy, ref, batch, 3), cfg).dataSync()[0]!;
      });
    const before = lossOf();
    // at the start the policy equals the reference: Δ = 0, loss = log 2 (or −½)
    expect(before).toBeCloseTo(loss === 'logsigmoid' ? Math.log(2) : -0.5, 4);
    const opt = new AdamW(policy.params.variables(), { lr: 1e-3, weightDecay: 0 });
    const n0 = tf.memory().numTensors;
    const ref = referenceErrors(reference, batch, 3);
    const l = trainStep(policy.params.variables(), opt, () => dpoLoss(dpoDelta(policy, ref, batch, 3), cfg));
    l.dispose();
    ref.dispose();
    const after = lossOf();
    expect(after).toBeLessThan(before - 1e-4);
    // no tensor survives a step besides the optimizer's own moments
    expect(tf.memory().numTensors).toBe(n0);
    opt.dispose();
    policy.dispose();
    reference.dispose();
  });

  it('implicit reward ranks the candidate DPO was pushed towards above the one pushed away, without leaking tensors', () => {
    const policy = PrimitiveDiffusionModel.create(small, 2);
    const reference = policy.clone({ trainable: false });
    const c = cloud(7);
    const trainer = new DpoTrainer(policy, reference, { beta: 50, lr: 1e-3, epochs: 20, batchStates: 1, pairsPerState: 8, seed: 1, shareNoise: true });
    const stats = trainer.train([{ cloud: c, pairs: [{ winner: W, loser: L }] }]);
    expect(stats[stats.length - 1]!.loss).toBeLessThan(stats[0]!.loss);
    expect(stats[stats.length - 1]!.implicitAccuracy).toBe(1);
    const cands = new Float32Array(12);
    cands.set(L, 0);
    cands.set(W, 6);
    const before = tf.memory().numTensors;
    const r = implicitReward(policy, reference, c, cands, { draws: 64, seed: 5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(r[1]!.score).toBeGreaterThan(r[0]!.score);
    // and for other noise draws too
    for (const seed of [6, 7, 8]) {
      const q = implicitReward(policy, reference, c, cands, { draws: 64, seed });
      expect(q[1]!.score).toBeGreaterThan(q[0]!.score);
    }
    trainer.dispose();
    policy.dispose();
    reference.dispose();
  });

  it('implicit reward is zero for the reference itself and deterministic for a seed', () => {
    const policy = PrimitiveDiffusionModel.create(small, 3);
    const reference = policy.clone({ trainable: false });
    const cands = new Float32Array(18).map((_, i) => Math.sin(i));
    const a = implicitReward(policy, reference, cloud(1), cands, { draws: 16, seed: 2 });
    for (const s of a) expect(Math.abs(s.score)).toBeLessThan(1e-3);
    expect(() => implicitReward(policy, reference, cloud(1), new Float32Array(7))).toThrow(/candidates: expected N·6/);
    policy.dispose();
    reference.dispose();
  });

  it('Plackett–Luce loss: each ranked candidate against itself and the worse groups; ties and padding do not compete', () => {
    const lse = (...v: number[]) => Math.log(v.reduce((a, x) => a + Math.exp(x), 0));
    const [a, b, c] = [0.3, -0.2, 0.5];
    const strict = plackettLuceLoss(tf.tensor1d([a, b, c, 9]), Int32Array.from([0, 1, 2, -1]), 4);
    expect(strict.dataSync()[0]!).toBeCloseTo(-((a - lse(a, b, c)) + (b - lse(b, c))) / 2, 5);
    const tied = plackettLuceLoss(tf.tensor1d([a, b, c]), Int32Array.from([0, 0, 1]), 3);
    expect(tied.dataSync()[0]!).toBeCloseTo(-((a - lse(a, c)) + (b - lse(b, c))) / 2, 5);
    strict.dispose();
    tied.dispose();
    expect(() => plackettLuceLoss(tf.tensor1d([a, b]), Int32Array.from([0, 0]), 2)).toThrow(/two ranked groups/);
  });

  it('ranking batches share one (t, ε) across a state\'s candidates and pad short states', () => {
    const mk = (k: number, seed: number): DpoState => ({
      cloud: cloud(seed),
      pairs: [],
      ranked: { actions: Float32Array.from({ length: k * 6 }, (_, i) => i / 10), group: Int32Array.from({ length: k }, (_, i) => i) },
    });
    const b = rankBatch([mk(3, 1), mk(2, 2)], [0, 1], 100, new Rng(4));
    expect(b.G).toBe(3);
    expect(Array.from(b.group)).toEqual([0, 1, 2, 0, 1, -1]);
    for (const st of [0, 1]) {
      for (let k = 1; k < 3; k++) {
        expect(b.t[st * 3 + k]).toBe(b.t[st * 3]);
        expect(Array.from(b.eps.subarray((st * 3 + k) * 6, (st * 3 + k + 1) * 6))).toEqual(Array.from(b.eps.subarray(st * 3 * 6, (st * 3 + 1) * 6)));
      }
    }
    expect(b.eps.subarray(0, 6)).not.toEqual(b.eps.subarray(18, 24));
  });

  it('tFraction draws every timestep from the low-noise end of the schedule; outside (0, 1] is refused', () => {
    const states: DpoState[] = [0, 1, 2, 3].map((i) => ({ cloud: cloud(i), pairs: [{ winner: W, loser: L }] }));
    const b = dpoBatch(states, [0, 1, 2, 3], DpoConfigSchema.parse({ tFraction: 0.1, pairsPerState: 4 }), 100, new Rng(2));
    expect(Math.max(...b.t)).toBeLessThan(10);
    const all = dpoBatch(states, [0, 1, 2, 3], DpoConfigSchema.parse({ pairsPerState: 4 }), 100, new Rng(9));
    expect(Math.max(...all.t)).toBeGreaterThanOrEqual(10);
    expect(() => DpoConfigSchema.parse({ tFraction: 0 })).toThrow();
    expect(() => DpoConfigSchema.parse({ tFraction: 1.5 })).toThrow();
  });

  it('Plackett–Luce DPO learns a three-way ranking that the implicit reward then reproduces', () => {
    const policy = PrimitiveDiffusionModel.create(small, 4);
    const reference = policy.clone({ trainable: false });
    const c = cloud(9);
    const M = Float32Array.from([0, 0.5, 0, 0, -0.5, 0]);
    const actions = new Float32Array(18);
    actions.set(W, 0);
    actions.set(M, 6);
    actions.set(L, 12);
    const st: DpoState = { cloud: c, pairs: [{ winner: W, loser: L }], ranked: { actions, group: Int32Array.from([0, 1, 2]) } };
    const trainer = new DpoTrainer(policy, reference, { loss: 'plackett-luce', beta: 50, lr: 1e-3, epochs: 30, batchStates: 1, seed: 1 });
    const stats = trainer.train([st]);
    expect(stats[stats.length - 1]!.loss).toBeLessThan(stats[0]!.loss);
    expect(stats[stats.length - 1]!.implicitAccuracy).toBe(1);
    const r = implicitReward(policy, reference, c, actions, { draws: 64, seed: 5 });
    expect(r[0]!.score).toBeGreaterThan(r[1]!.score);
    expect(r[1]!.score).toBeGreaterThan(r[2]!.score);
    expect(() => new DpoTrainer(policy, reference, { loss: 'plackett-luce' }).train([{ cloud: c, pairs: [{ winner: W, loser: L }] }])).toThrow(/no state has a preference pair/);
    trainer.dispose();
    policy.dispose();
    reference.dispose();
  });
});
