import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Vec3 } from '../../src/core/geometry.ts';
import { makeCloud } from '../../src/core/pointcloud.ts';
import { Rng } from '../../src/core/rng.ts';
import { initBackend } from '../../src/nn/backend.ts';
import { savePolicy } from '../../src/policy/checkpoint.ts';
import { PrimitiveDiffusionModel } from '../../src/policy/model.ts';
import { PolicyProcessor } from '../../src/policy/processor.ts';
import { writeStates, type CandidateState } from '../../src/preference/dataset.ts';

const bin = new URL('../../bin/pamstack.js', import.meta.url).pathname;
const run = (args: string[]) => spawnSync('node', [bin, ...args], { encoding: 'utf8', env: { ...process.env, PAMSTACK_BACKEND: 'wasm', PAMSTACK_QUIET: '1' } });
const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!);
const box = { min: [-0.4, -0.3, 0] as Vec3, max: [0.4, 0.3, 0.5] as Vec3 };

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pam-cmd-'));
  // 12 states of 6 candidates; the oracle score is higher the closer the place point is to (0.1, 0)
  const rng = new Rng(1);
  const states: CandidateState[] = [];
  for (let s = 0; s < 12; s++) {
    const pts = Float32Array.from({ length: 300 }, (_, i) => (i % 3 === 2 ? 0.005 : rng.uniform(-0.2, 0.2)));
    const candidates = Array.from({ length: 6 }, () => ({
      kind: 'pick_place' as const,
      a: [rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), 0.005] as Vec3,
      b: [rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2), 0.005] as Vec3,
    }));
    const oracle = candidates.map((c) => -Math.hypot(c.b[0] - 0.1, c.b[1]));
    states.push({ stateId: `s${s}`, task: 'rope-circle', workspace: box, cloud: makeCloud(pts, 'table'), candidates, oracle });
  }
  writeStates(dir, states);
  await initBackend({ backend: 'wasm', log: null });
  const model = PrimitiveDiffusionModel.create({ points: 32, encoder: { kind: 'pointnet', hidden: [16], out: 16 }, denoiser: { hidden: 32, layers: 2, timeEmbedding: 16 } }, 0);
  await savePolicy(join(dir, 'sl'), model, { processor: new PolicyProcessor({}, 32), command: 'test', backend: 'wasm', task: 'rope-circle' });
  model.dispose();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pamstack label / train reward / train dpo', () => {
  it('labels recorded states with a scripted teacher', () => {
    const r = run(['label', '--data', dir, '--teacher', 'mistake', '--mistake', '0.2', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = lastJson(r.stdout);
    expect(j).toMatchObject({ states: 12, rankings: 12, skipped: 0, teacher: 'mistake' });
    expect(j.config.mistake).toBe(0.2);
    const lines = readFileSync(join(dir, 'rankings.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(12);
    expect(JSON.parse(lines[0]!)).toMatchObject({ kind: 'ranking', source: 'scripted', candidateCount: 6 });
  });

  it('trains a BT reward model and reports held-out accuracy and log-likelihood', () => {
    const r = run(['train', 'reward', '--model', 'bt', '--data', dir, '--epochs', '5', '--hidden', '16', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = lastJson(r.stdout);
    expect(j.pairs).toBeGreaterThan(100);
    expect(j.val.accuracy).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(j.val.logLikelihood)).toBe(true);
    expect(existsSync(join(dir, 'reward-bt', 'reward.json'))).toBe(true);
  });

  it('labels the states a reward visits: label --collect --execute reward follows --reward-dir in sim', () => {
    const out = join(dir, 'on-policy');
    const r = run([
      'label', '--collect', '--task', 'rope-circle', '--policy', join(dir, 'sl'), '--states', '2', '--candidates', '3',
      '--execute', 'reward', '--reward-dir', join(dir, 'reward-bt'), '--seed', '5', '--data', out, '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(lastJson(r.stdout)).toMatchObject({ states: 2, rankings: 2 });
    expect(readFileSync(join(out, 'states.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
  }, 120_000);

  it('trains on several dataset folders joined by commas; a state in two of them is refused', () => {
    const dir2 = join(dir, 'second-session');
    const rng = new Rng(2);
    const more: CandidateState[] = Array.from({ length: 3 }, (_, s) => {
      const candidates = Array.from({ length: 4 }, () => ({
        kind: 'pick_place' as const,
        a: [rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), 0.005] as Vec3,
        b: [rng.uniform(-0.3, 0.3), rng.uniform(-0.2, 0.2), 0.005] as Vec3,
      }));
      const pts = Float32Array.from({ length: 150 }, (_, i) => (i % 3 === 2 ? 0.005 : rng.uniform(-0.2, 0.2)));
      return { stateId: `second/s${s}`, task: 'rope-circle', workspace: box, cloud: makeCloud(pts, 'table'), candidates, oracle: candidates.map((c) => c.b[0]) };
    });
    writeStates(dir2, more);
    expect(run(['label', '--data', dir2, '--json']).status).toBe(0);
    const out = join(dir, 'reward-two');
    const r = run(['train', 'reward', '--model', 'bt', '--data', `${dir},${dir2}`, '--out', out, '--epochs', '2', '--hidden', '8', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(lastJson(r.stdout).states).toBe(12 + 3);
    const dup = run(['train', 'reward', '--model', 'bt', '--data', `${dir},${dir}`, '--out', out, '--epochs', '1', '--json']);
    expect(dup.status).not.toBe(0);
    expect(dup.stderr).toMatch(/state s0 is in both .* and /);
  });

  it('trains a robust reward on points in each candidate\'s frame (a PointNet encoder) and saves both configs', () => {
    const out = join(dir, 'reward-points');
    const r = run(['train', 'reward', '--model', 'robust', '--features', 'points', '--data', dir, '--out', out, '--epochs', '2', '--hidden', '8', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(lastJson(r.stdout).pairs).toBeGreaterThan(100);
    const saved = JSON.parse(readFileSync(join(out, 'reward.json'), 'utf8'));
    expect(saved.features.points).toEqual({ count: 64, extent: 0.3 });
    expect(saved.config.pointEncoder).toEqual({ points: 64, hidden: [64, 64] });
  });

  it('fine-tunes with DPO and writes dpo.json naming the reference', () => {
    const out = join(dir, 'dpo');
    const r = run(['train', 'dpo', '--policy', join(dir, 'sl'), '--data', dir, '--out', out, '--epochs', '2', '--lr', '1e-3', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = lastJson(r.stdout);
    expect(j.states).toBe(12);
    expect(existsSync(join(out, 'policy.json'))).toBe(true);
    expect(resolve(out, JSON.parse(readFileSync(join(out, 'dpo.json'), 'utf8')).reference)).toBe(resolve(dir, 'sl'));
  });

  it('fine-tunes with the Plackett–Luce loss over whole rankings', () => {
    const out = join(dir, 'dpo-pl');
    const r = run(['train', 'dpo', '--loss', 'plackett-luce', '--policy', join(dir, 'sl'), '--data', dir, '--out', out, '--epochs', '2', '--lr', '1e-3', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(lastJson(r.stdout).states).toBe(12);
    expect(JSON.parse(readFileSync(join(out, 'dpo.json'), 'utf8')).config.loss).toBe('plackett-luce');
  });

  it('label --active k ranks only the k states a robust reward (σ) or an ensemble (disagreement) is least sure of', () => {
    const robust = run(['label', '--data', dir, '--active', '4', '--active-reward', join(dir, 'reward-points'), '--json']);
    expect(robust.status, robust.stderr).toBe(0);
    expect(lastJson(robust.stdout)).toMatchObject({ states: 4, rankings: 4 });
    const ens = run(['label', '--data', dir, '--active', '5', '--active-reward', `${join(dir, 'reward-bt')},${join(dir, 'reward-two')}`, '--json']);
    expect(ens.status, ens.stderr).toBe(0);
    expect(lastJson(ens.stdout)).toMatchObject({ states: 5, rankings: 5 });
    const bt = run(['label', '--data', dir, '--active', '5', '--active-reward', join(dir, 'reward-bt'), '--json']);
    expect(bt.status).not.toBe(0);
    expect(bt.stderr).toMatch(/--active-reward: one reward must be robust/);
    // leave the full labelling for the tests after this one
    expect(run(['label', '--data', dir, '--json']).status).toBe(0);
  });

  it('fine-tunes with DPO on several dataset folders joined by commas; a state in two of them is refused naming --data', () => {
    const out = join(dir, 'dpo-two');
    const r = run(['train', 'dpo', '--policy', join(dir, 'sl'), '--data', `${dir},${join(dir, 'second-session')}`, '--out', out, '--epochs', '1', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(lastJson(r.stdout).states).toBe(15);
    const twice = run(['train', 'dpo', '--policy', join(dir, 'sl'), '--data', `${dir},${dir}`, '--out', join(dir, 'dpo-twice'), '--epochs', '1']);
    expect(twice.status).not.toBe(0);
    expect(twice.stderr).toMatch(/--data: state .* is in both/);
    expect(existsSync(join(dir, 'dpo-twice'))).toBe(false);
  });

  it.each([
    [['train', 'dpo', '--policy', '/nonexistent', '--data', 'x', '--out', 'y', '--loss', 'hinge'], /--loss/],
    [['label', '--data', '/nonexistent'], /no such file/],
    [['label', '--data', 'x', '--collect', '--execute', 'reward'], /--execute reward: needs --reward-dir/],
    [['label', '--data', 'x', '--reward-dir', 'r'], /--reward-dir: only used with --execute reward/],
    [['label', '--data', 'x', '--execute', 'reward', '--reward-dir', 'r'], /needs --collect and a --policy/],
    [['label', '--data', '/nonexistent', '--active', '3'], /--active: needs --active-reward/],
    [['label', '--data', 'x', '--workers', '2'], /--workers: only used with --collect/],
    [['label', '--data', 'x', '--collect', '--workers', '0'], /--workers/],
  ])('refuses bad input with a clear message (%#)', (args, msg) => {
    const r = run(args);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(msg);
  });
});
