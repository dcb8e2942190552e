// Diffusion-DPO's implicit reward on ONNX Runtime vs tfjs on every committed DPO policy and the benchmark network.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { initBackend } from '../../src/nn/backend.ts';
import { loadPolicy } from '../../src/policy/checkpoint.ts';
import { PrimitiveDiffusionModel } from '../../src/policy/model.ts';
import { implicitReward } from '../../src/preference/implicit-reward.ts';
import { OnnxImplicitReward, onnxImplicitScorer } from '../../src/preference/onnx-implicit-reward.ts';
import { PolicyProposer } from '../../src/policy/proposer.ts';
import { createWorld } from '../../sim/index.ts';

const ROOT = new URL('../../policies/', import.meta.url).pathname;

function expectSameScores(a: { score: number; std?: number }[], b: { score: number; std?: number }[]): void {
  expect(b.length).toBe(a.length);
  const scale = Math.max(1, ...a.map((s) => Math.abs(s.score)));
  for (let i = 0; i < a.length; i++) {
    expect(Math.abs(a[i]!.score - b[i]!.score)).toBeLessThanOrEqual(1e-4 * scale);
    expect(Math.abs(a[i]!.std! - b[i]!.std!)).toBeLessThanOrEqual(1e-4 * scale);
  }
}

describe('OnnxImplicitReward', () => {
  beforeAll(async () => {
    await initBackend({ log: null });
  });

  it.each(['cloth-unfold', 'granular-t', 'rope-circle'])('%s/dpo vs its reference: implicitReward\'s scores (≤ 1e-4)', async (task) => {
    const dir = join(ROOT, task, 'dpo');
    const ref = resolve(dir, (JSON.parse(readFileSync(join(dir, 'dpo.json'), 'utf8')) as { reference: string }).reference);
    const p = loadPolicy(dir, { trainable: false }), r = loadPolicy(ref, { trainable: false });
    const rng = new Rng(8);
    const cloud = rng.fillNormal(new Float32Array(128 * 3)).map((v) => 0.4 * v) as Float32Array;
    const cands = new Float32Array(12 * 6).map(() => rng.uniform(-0.8, 0.8));
    const want = implicitReward(p.model, r.model, cloud, cands, { draws: 20, seed: 3 });
    const ort = await OnnxImplicitReward.fromModels(p.model, r.model);
    expectSameScores(want, await ort.score(cloud, cands, { draws: 20, seed: 3 }));
    await expect(ort.score(cloud.subarray(3), cands)).rejects.toThrow(/^cloud: expected 128 × 3/);
    await ort.dispose();
    p.model.dispose();
    r.model.dispose();
  });

  it('onnxImplicitScorer scores table-frame candidates on a sim cloud as the tfjs implicit scorer does', async () => {
    const dir = join(ROOT, 'rope-circle', 'dpo');
    const p = loadPolicy(dir, { trainable: false }), r = loadPolicy(join(ROOT, 'rope-circle', 'sl'), { trainable: false });
    const world = await createWorld('rope-circle');
    world.reset(4);
    const cloud = world.observe({ seed: 4 });
    const candidates = new PolicyProposer(r.model, r.processor).sample(cloud, 8, 2).primitives;
    const obs = r.processor.observation(cloud);
    const want = implicitReward(p.model, r.model, obs.points, r.processor.actionsToObject(candidates, obs.frame).actions, { draws: 10, seed: 6 });
    const ort = await OnnxImplicitReward.fromModels(p.model, r.model);
    expectSameScores(want, await onnxImplicitScorer(ort, r.processor, { draws: 10 }).score(cloud, candidates, 6));
    await ort.dispose();
    world.dispose();
    p.model.dispose();
    r.model.dispose();
  });

  it('the benchmark network (no local features, any point count)', async () => {
    const a = PrimitiveDiffusionModel.create({}, 1), b = PrimitiveDiffusionModel.create({}, 2);
    const rng = new Rng(1);
    const cloud = rng.fillNormal(new Float32Array(500 * 3)) as Float32Array;
    const cands = new Float32Array(8 * 6).map(() => rng.uniform(-1, 1));
    const ort = await OnnxImplicitReward.fromModels(a, b);
    expectSameScores(implicitReward(a, b, cloud, cands, { draws: 16 }), await ort.score(cloud, cands, { draws: 16 }));
    await ort.dispose();
    a.dispose();
    b.dispose();
  });
});
