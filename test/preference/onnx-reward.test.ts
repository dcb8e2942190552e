// Explicit reward heads on ONNX Runtime vs tfjs on every committed reward folder: same rows, same scores.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import type { World } from '../../src/core/world.ts';
import { initBackend } from '../../src/nn/backend.ts';
import { loadPolicy } from '../../src/policy/checkpoint.ts';
import { PolicyProposer } from '../../src/policy/proposer.ts';
import { candidateFeatures } from '../../src/preference/features.ts';
import { OnnxRewardHead, loadOnnxReward, onnxRewardScorer } from '../../src/preference/onnx-reward.ts';
import { loadRewardModel } from '../../src/preference/reward-io.ts';
import { createWorld } from '../../sim/index.ts';

const ROOT = new URL('../../policies/', import.meta.url).pathname;
const rewardDirs = readdirSync(ROOT).flatMap((task) =>
  readdirSync(join(ROOT, task), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(ROOT, task, d.name, 'reward.json')))
    .map((d) => [task, d.name] as const),
);

const worlds = new Map<string, World & { dispose(): void }>();

describe('OnnxRewardHead', () => {
  beforeAll(async () => {
    await initBackend({ log: null });
  });
  afterAll(() => {
    for (const w of worlds.values()) w.dispose();
  });

  it('finds the committed reward models (bt, robust, PointNet)', () => {
    expect(rewardDirs.length).toBeGreaterThanOrEqual(7);
    expect(rewardDirs.some(([, d]) => d === 'reward-points')).toBe(true);
  });

  it.each(rewardDirs)('%s/%s: same scores (and std) as tfjs on rows around its training data (≤ 1e-4)', async (task, name) => {
    const { model } = loadRewardModel(join(ROOT, task, name));
    const head = await OnnxRewardHead.fromModel(model);
    try {
      const rng = new Rng(5);
      const n = 64;
      const rows = new Float32Array(n * model.rowDim);
      for (let i = 0; i < rows.length; i++) rows[i] = model.rowNorm.mean[i % model.rowDim]! + model.rowNorm.std[i % model.rowDim]! * rng.normal();
      const a = model.score(rows);
      const b = await head.score(rows);
      expect(b.length).toBe(n);
      const scale = Math.max(1, ...a.map((r) => Math.abs(r.score)));
      for (let i = 0; i < n; i++) {
        expect(Math.abs(a[i]!.score - b[i]!.score)).toBeLessThanOrEqual(1e-4 * scale);
        if (model.config.model === 'robust') expect(Math.abs(a[i]!.std! - b[i]!.std!)).toBeLessThanOrEqual(1e-4 * Math.max(1, a[i]!.std!));
        else expect(b[i]!.std).toBeUndefined();
      }
      await expect(head.score(new Float32Array(model.rowDim + 1))).rejects.toThrow(/^rows: expected a multiple of/);
    } finally {
      model.dispose();
      await head.dispose();
    }
  });

  it.each(rewardDirs.filter(([, d]) => d !== 'reward-bt'))('%s/%s: the CandidateScorer scores sampled candidates on a sim cloud as tfjs does', async (task, name) => {
    const world = worlds.get(task) ?? (await createWorld(task as never));
    worlds.set(task, world);
    world.reset(3);
    const cloud = world.observe({ seed: 3 });
    const pol = loadPolicy(join(ROOT, task, 'sl'), { trainable: false });
    const candidates = new PolicyProposer(pol.model, pol.processor).sample(cloud, 16, 1).primitives;
    pol.model.dispose();
    const { model, features } = loadRewardModel(join(ROOT, task, name));
    const want = model.score(candidateFeatures(cloud, world.workspace, candidates, features!));
    model.dispose();
    const { head, features: f2 } = await loadOnnxReward(join(ROOT, task, name));
    const got = await onnxRewardScorer(head, f2, () => world.workspace).score(cloud, candidates, 0);
    await head.dispose();
    for (let i = 0; i < want.length; i++) expect(Math.abs(want[i]!.score - got[i]!.score)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want[i]!.score)));
  });
});
