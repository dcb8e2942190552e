import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { WorkspaceBox } from '../../src/core/geometry.ts';
import { makeCloud } from '../../src/core/pointcloud.ts';
import type { Primitive } from '../../src/core/primitive.ts';
import { Rng } from '../../src/core/rng.ts';
import { initBackend } from '../../src/nn/backend.ts';
import { loadCandidateScorer } from '../../src/preference/candidate-scorer.ts';
import { candidateFeatureDim, candidateFeatures, DEFAULT_REWARD_FEATURES } from '../../src/preference/features.ts';
import { saveRewardModel } from '../../src/preference/reward-io.ts';
import { RewardModel, RewardModelConfigSchema } from '../../src/preference/reward-model.ts';

const box: WorkspaceBox = { min: [-0.4, -0.3, 0], max: [0.4, 0.3, 0.5] };

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

describe('loadCandidateScorer', () => {
  it('scores candidates from a saved Â* folder exactly as the model scores their features, named advantage', async () => {
    const r = new Rng(3);
    const cloud = makeCloud(Float32Array.from({ length: 90 }, () => r.uniform(-0.1, 0.1)), 'table');
    const cands: Primitive[] = [0, 1, 2].map((i) => ({ kind: 'pick_place', a: [0.02 * i, 0, 0.01], b: [0.1, 0.05 * i, 0.01] }));
    const model = new RewardModel(RewardModelConfigSchema.parse({ model: 'bt', hidden: [8], seed: 2 }), candidateFeatureDim(DEFAULT_REWARD_FEATURES));
    const dir = mkdtempSync(join(tmpdir(), 'pam-adv-'));
    try {
      saveRewardModel(dir, model, { command: 'test', features: DEFAULT_REWARD_FEATURES, target: 'advantage' });
      const s = loadCandidateScorer(dir, () => box);
      expect(s.name).toBe('advantage');
      expect(s.target).toBe('advantage');
      const got = await s.score(cloud, cands, 0);
      const want = model.score(candidateFeatures(cloud, box, cands, DEFAULT_REWARD_FEATURES));
      expect(got.map((x) => x.score)).toEqual(want.map((x) => x.score));
      expect(new Set(got.map((x) => x.score)).size).toBe(3);
      expect(await s.score(cloud, [], 0)).toEqual([]);
      s.dispose();
      // a file saved before the field existed is a reward, named after its kind
      const raw = JSON.parse(readFileSync(join(dir, 'reward.json'), 'utf8'));
      delete raw.target;
      writeFileSync(join(dir, 'reward.json'), JSON.stringify(raw));
      const old = loadCandidateScorer(dir, box);
      expect([old.name, old.target]).toEqual(['bt', 'reward']);
      old.dispose();
      writeFileSync(join(dir, 'reward.json'), JSON.stringify({ ...raw, target: 'value' }));
      expect(() => loadCandidateScorer(dir, box)).toThrow(/target/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });
});
