import { beforeAll, describe, expect, it } from 'vitest';
import type { WorkspaceBox } from '../../src/core/geometry.ts';
import { makeCloud } from '../../src/core/pointcloud.ts';
import { Rng } from '../../src/core/rng.ts';
import { initBackend } from '../../src/nn/backend.ts';
import { activeStateSource, ensembleUncertainty, mostUncertain, robustUncertainty } from '../../src/preference/active.ts';
import type { CandidateState } from '../../src/preference/dataset.ts';
import { candidateFeatureDim, DEFAULT_REWARD_FEATURES } from '../../src/preference/features.ts';
import { RewardModel, RewardModelConfigSchema } from '../../src/preference/reward-model.ts';

const box: WorkspaceBox = { min: [-0.4, -0.3, 0], max: [0.4, 0.3, 0.5] };
function state(i: number): CandidateState {
  const r = new Rng(i);
  return {
    stateId: `s${i}`,
    task: 'rope-circle',
    workspace: box,
    cloud: makeCloud(Float32Array.from({ length: 60 }, () => r.uniform(-0.1, 0.1)), 'table'),
    candidates: [0, 1, 2, 3].map(() => ({ kind: 'pick_place' as const, a: [r.uniform(-0.1, 0.1), r.uniform(-0.1, 0.1), 0.01], b: [r.uniform(-0.2, 0.2), r.uniform(-0.2, 0.2), 0.01] })),
  };
}
const model = (kind: 'bt' | 'robust', seed: number) => new RewardModel(RewardModelConfigSchema.parse({ model: kind, hidden: [8], seed }), candidateFeatureDim(DEFAULT_REWARD_FEATURES));

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

describe('active state choice', () => {
  it('keeps the k most uncertain states of a pool, ties in pool order; bad k and non-finite uncertainty are refused', () => {
    const pool = [0, 1, 2, 3, 4].map(state);
    const u = (s: CandidateState) => [0.1, 0.9, 0.5, 0.9, 0.2][Number(s.stateId.slice(1))]!;
    expect(mostUncertain(pool, u, 3).map((s) => s.stateId)).toEqual(['s1', 's3', 's2']);
    expect(() => mostUncertain(pool, u, -1)).toThrow(/k: expected a non-negative integer/);
    expect(() => mostUncertain(pool, () => NaN, 1)).toThrow(/uncertainty of state s0/);
  });

  it('wraps a state source: draws oversample·n states and returns the n most uncertain', async () => {
    const asked: number[] = [];
    const base = (n: number, seed: number) => {
      asked.push(n);
      return Array.from({ length: n }, (_, i) => state(seed + i));
    };
    const src = activeStateSource(base, (s) => Number(s.stateId.slice(1)) % 7, 3);
    const got = await src(4, 100);
    expect(asked).toEqual([12]);
    expect(got.map((s) => Number(s.stateId.slice(1)) % 7)).toEqual([6, 6, 5, 5]);
    expect(() => activeStateSource(base, () => 0, 0.5)).toThrow(/oversample/);
  });

  it('ensemble disagreement is zero for identical members and positive for different ones; robust σ is finite and positive', () => {
    const s = state(7);
    const a = model('bt', 1);
    const a2 = model('bt', 1);
    const b = model('bt', 2);
    expect(ensembleUncertainty([a, a2], DEFAULT_REWARD_FEATURES)(s)).toBeCloseTo(0, 9);
    expect(ensembleUncertainty([a, b], DEFAULT_REWARD_FEATURES)(s)).toBeGreaterThan(0.01);
    expect(() => ensembleUncertainty([a], DEFAULT_REWARD_FEATURES)).toThrow(/at least 2/);
    const r = model('robust', 3);
    const v = robustUncertainty(r, DEFAULT_REWARD_FEATURES)(s);
    expect(Number.isFinite(v) && v > 0).toBe(true);
    expect(() => robustUncertainty(a, DEFAULT_REWARD_FEATURES)).toThrow(/needs a robust reward/);
    [a, a2, b, r].forEach((m) => m.dispose());
  });
});
