import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vec3 } from '../../src/core/geometry.ts';
import { makeCloud } from '../../src/core/pointcloud.ts';
import type { Ranking } from '../../src/core/preference.ts';
import type { Primitive } from '../../src/core/primitive.ts';
import { Rng } from '../../src/core/rng.ts';
import type { World } from '../../src/core/world.ts';
import { initBackend } from '../../src/nn/backend.ts';
import { savePolicy } from '../../src/policy/checkpoint.ts';
import { PrimitiveDiffusionModel } from '../../src/policy/model.ts';
import { PolicyProcessor } from '../../src/policy/processor.ts';
import type { CandidateState } from '../../src/preference/dataset.ts';
import { dpoStatesFrom } from '../../src/preference/dpo-data.ts';
import { DpoTrainer } from '../../src/preference/dpo.ts';
import { loadRasAgent } from '../../src/stack/ras-agent.ts';

const small = { points: 32, encoder: { kind: 'pointnet' as const, hidden: [16], out: 16 }, denoiser: { hidden: 32, layers: 2, timeEmbedding: 16 } };
const box = { min: [-0.4, -0.3, 0] as Vec3, max: [0.4, 0.3, 0.5] as Vec3 };

function ropeCloud(): Float32Array {
  const pts: number[] = [];
  for (let i = 0; i < 200; i++) pts.push(-0.2 + (0.4 * i) / 200, 0.05 * Math.sin(i / 20), 0.005);
  return Float32Array.from(pts);
}
const pp = (a: Vec3, b: Vec3): Primitive => ({ kind: 'pick_place', a, b });

function stubWorld(): World {
  return {
    task: 'rope-circle',
    primitive: 'pick_place',
    workspace: box,
    stepLimit: 5,
    reset: () => {},
    observe: () => makeCloud(ropeCloud(), 'table'),
    execute: async () => ({ duration: 1, wall: 0 }),
    checkPrimitive: () => null,
    metrics: () => ({ iou: 0 }),
    success: () => false,
    saveState: () => ({ task: 'rope-circle', data: new Float64Array() }),
    restoreState: () => {},
    expertActions: () => [],
    dispose: () => {},
  };
}

let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  dir = mkdtempSync(join(tmpdir(), 'pam-ras-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadRasAgent', () => {
  it('implicit: samples from the reference, scores with the DPO model, returns a safe primitive and leaks nothing', async () => {
    const sl = PrimitiveDiffusionModel.create(small, 1);
    const processor = new PolicyProcessor({}, small.points);
    await savePolicy(join(dir, 'sl'), sl, { processor, command: 'test', backend: 'wasm', task: 'rope-circle' });
    // DPO data: one state, winner places near the rope, loser far away
    const state: CandidateState = {
      stateId: 's0',
      task: 'rope-circle',
      workspace: box,
      cloud: makeCloud(ropeCloud(), 'table'),
      candidates: [pp([0, 0, 0.005], [0.1, 0.1, 0.005]), pp([0, 0, 0.005], [-0.1, -0.1, 0.005])],
    };
    const ranking: Ranking = { kind: 'ranking', stateId: 's0', candidateCount: 2, groups: [[0], [1]], notComparable: [], idealBeatsAll: false, annotator: 't', source: 'scripted', time: 0 };
    const states = dpoStatesFrom([state], [ranking], processor);
    expect(states).toHaveLength(1);
    expect(states[0]!.pairs).toHaveLength(1);
    expect(states[0]!.cloud.length).toBe(small.points * 3);
    const ref = sl.clone({ trainable: false });
    const tr = new DpoTrainer(sl, ref, { epochs: 3, lr: 1e-3, batchStates: 1 });
    tr.train(states);
    tr.dispose();
    await savePolicy(join(dir, 'dpo'), sl, { processor, command: 'test', backend: 'wasm', task: 'rope-circle' });
    writeFileSync(join(dir, 'dpo', 'dpo.json'), JSON.stringify({ reference: join(dir, 'sl') }));
    sl.dispose();
    ref.dispose();

    const agent = await loadRasAgent(join(dir, 'dpo'), { reward: 'implicit', n: 4, draws: 8 });
    const w = stubWorld();
    const before = tf.memory().numTensors;
    const a = await agent.act(w, w.observe(), new Rng(0));
    expect(tf.memory().numTensors).toBe(before);
    expect(a.candidates).toHaveLength(4);
    for (const c of a.candidates!) expect(Number.isFinite(c.score)).toBe(true);
    if (a.primitive) {
      const chosen = a.candidates!.find((c) => c.primitive === a.primitive)!;
      expect(chosen.safe).toBe(true);
      const best = Math.max(...a.candidates!.filter((c) => c.safe).map((c) => c.score!));
      expect(chosen.score).toBe(best);
    } else expect(a.holdReason).toMatch(/no safe candidate/);
    agent.dispose();
  });

  it('refuses a missing dpo.json, a missing reward dir and a mismatched reward kind', async () => {
    await expect(loadRasAgent(join(dir, 'sl'), { reward: 'implicit' })).rejects.toThrow(/no dpo\.json/);
    await expect(loadRasAgent(join(dir, 'sl'), { reward: 'bt' })).rejects.toThrow(/--reward-dir/);
  });
});
