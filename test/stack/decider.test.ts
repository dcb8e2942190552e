import * as tf from '@tensorflow/tfjs';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vec3 } from '../../src/core/geometry.ts';
import { makeCloud } from '../../src/core/pointcloud.ts';
import type { Ranking } from '../../src/core/preference.ts';
import type { Primitive } from '../../src/core/primitive.ts';
import { initBackend } from '../../src/nn/backend.ts';
import { savePolicy } from '../../src/policy/checkpoint.ts';
import { PrimitiveDiffusionModel } from '../../src/policy/model.ts';
import { PolicyProcessor } from '../../src/policy/processor.ts';
import type { CandidateState } from '../../src/preference/dataset.ts';
import { dpoStatesFrom } from '../../src/preference/dpo-data.ts';
import { DpoTrainer } from '../../src/preference/dpo.ts';
import { loadDecider } from '../../src/stack/decider.ts';
import { deciderSpecFor, resolveDeciderSpec } from '../../src/stack/decider-spec.ts';
import { writeDpoFile } from '../../src/preference/dpo-file.ts';

const small = { points: 32, encoder: { kind: 'pointnet' as const, hidden: [16], out: 16 }, denoiser: { hidden: 32, layers: 2, timeEmbedding: 16 } };
const box = { min: [-0.4, -0.3, 0] as Vec3, max: [0.4, 0.3, 0.5] as Vec3 };

function ropeCloud(): Float32Array {
  const pts: number[] = [];
  for (let i = 0; i < 200; i++) pts.push(-0.2 + (0.4 * i) / 200, 0.05 * Math.sin(i / 20), 0.005);
  return Float32Array.from(pts);
}
const pp = (a: Vec3, b: Vec3): Primitive => ({ kind: 'pick_place', a, b });

let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  dir = mkdtempSync(join(tmpdir(), 'pam-ras-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadDecider', () => {
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
    writeDpoFile(join(dir, 'dpo'), { reference: '../sl', config: {}, states: 1, pairs: 1, history: [] });
    sl.dispose();
    ref.dispose();

    const decider = await loadDecider(deciderSpecFor(join(dir, 'dpo'), { select: 'ras', reward: 'implicit', candidates: 4, draws: 8 }));
    expect(decider.name).toMatch(/sl/); // candidates come from the frozen reference
    const cloud = makeCloud(ropeCloud(), 'table');
    const ctx = { workspace: box, kind: 'pick_place' as const, seed: 0 };
    const before = tf.memory().numTensors;
    const d = await decider.decide(cloud, ctx);
    expect(tf.memory().numTensors).toBe(before);
    expect(d.candidates).toHaveLength(4);
    for (const c of d.candidates) expect(Number.isFinite(c.score)).toBe(true);
    if (d.chosen !== null) {
      const chosen = d.candidates[d.chosen]!;
      expect(chosen.safe).toBe(true);
      expect(chosen.score).toBe(Math.max(...d.candidates.filter((c) => c.safe).map((c) => c.score!)));
    } else expect(d.holdReason).toMatch(/no safe candidate/);
    // the same seed gives the same decision (sampling and scoring noise both derive from it)
    const again = await decider.decide(cloud, ctx);
    expect(again.candidates).toEqual(d.candidates);
    // Nothing of the object in view (a cloth flung off the table, cameras lost it): the decision holds, saying why.
    const away = makeCloud(new Float32Array(0), 'table');
    const held = await decider.decide(away, ctx);
    expect(held).toMatchObject({ candidates: [], chosen: null, fallback: [] });
    expect(held.holdReason).toMatch(/^hold: observation: no object points left after preprocessing \(0 points in\)$/);
    decider.dispose();
  });

  it('refuses a missing dpo.json, a missing reward dir and a mismatched reward kind, naming the field', async () => {
    await expect(loadDecider(deciderSpecFor(join(dir, 'sl'), { reward: 'implicit' }))).rejects.toThrow(/no dpo\.json/);
    expect(() => deciderSpecFor(join(dir, 'sl'), { reward: 'bt' })).toThrow(/rewardDir: expected a folder written by pamstack train reward/);
    expect(() => deciderSpecFor('expert', { noise: 0.02 })).toThrow(/reward: expected bt or robust with select ras/);
    expect(() => deciderSpecFor(join(dir, 'sl'), { noise: 0.02, select: 'first' })).toThrow(/noise: expected 0 unless policy is expert/);
    expect(() => deciderSpecFor(join(dir, 'nowhere'))).toThrow(/policy: expected expert, random, a policy checkpoint folder/);
  });
});

describe('decider specs (policies/<task>/default.json and overrides)', () => {
  it('a task folder resolves its paths against itself; a single flag overrides a single key', () => {
    const task = join(dir, 'task');
    mkdirSync(task, { recursive: true });
    writeFileSync(join(task, 'default.json'), JSON.stringify({ method: 'ras-bt', policy: 'sl', select: 'ras', reward: 'bt', rewardDir: 'reward-bt', candidates: 32 }));
    const spec = deciderSpecFor(task);
    expect(spec).toMatchObject({ method: 'ras-bt', policy: join(task, 'sl'), rewardDir: join(task, 'reward-bt'), candidates: 32, lcb: 0, draws: 100, steps: 10, seed: 0 });
    const over = deciderSpecFor(task, { candidates: 8 });
    expect(over).toMatchObject({ candidates: 8, reward: 'bt', select: 'ras' });
    expect(over.method).toBeUndefined(); // the folder's label no longer describes it
    // selecting without a reward drops the folder's reward
    expect(deciderSpecFor(task, { select: 'first' })).toMatchObject({ select: 'first', reward: 'none' });
  });

  it('refuses unknown keys and values out of range, naming the file and the field', () => {
    const task = join(dir, 'bad');
    mkdirSync(task, { recursive: true });
    writeFileSync(join(task, 'default.json'), JSON.stringify({ policy: 'sl', candidate: 32 }));
    expect(() => deciderSpecFor(task)).toThrow(/default\.json[\s\S]*Unrecognized key[\s\S]*candidate/);
    expect(() => resolveDeciderSpec({ policy: 'expert', candidates: 0 }, '.')).toThrow(/candidates/);
    expect(() => resolveDeciderSpec({ policy: 'expert', lcb: 11 }, '.')).toThrow(/lcb/);
  });
});
