import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/nn/backend.ts';
import { Rng } from '../../src/core/rng.ts';
import { PrimitiveDiffusionModel } from '../../src/policy/model.ts';
import { trainStep } from '../../src/policy/train-step.ts';
import { AdamW } from '../../src/nn/adamw.ts';
import { DpoConfigSchema, DpoTrainer, dpoBatch, dpoDelta, dpoLoss, referenceErrors, type DpoState } from '../../src/preference/dpo.ts';
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
});
