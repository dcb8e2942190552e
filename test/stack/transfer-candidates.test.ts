import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeCloud, Rng } from '../../src/core/index.ts';
import type { Primitive } from '../../src/core/primitive.ts';
import { RANKINGS_FILE, writeJsonl, writeStates, type CandidateState } from '../../src/preference/dataset.ts';
import { loadRewardModel } from '../../src/preference/reward-io.ts';
import { runCli as run } from './run-cli.ts';

/** Ring-shaped clouds; a candidate is better the closer its pick lies to the cloud (the oracle: −distance). */
function candidateStates(task: CandidateState['task'], n: number, k: number, seed: number): CandidateState[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, s) => {
    const cx = rng.uniform(-0.1, 0.1), cy = rng.uniform(-0.1, 0.1), r = rng.uniform(0.05, 0.12);
    const pts = new Float32Array(3 * 64);
    for (let i = 0; i < 64; i++) pts.set([cx + r * Math.cos((i / 64) * 2 * Math.PI), cy + r * Math.sin((i / 64) * 2 * Math.PI), 0.01], 3 * i);
    const candidates: Primitive[] = [], oracle: number[] = [];
    for (let c = 0; c < k; c++) {
      const th = rng.uniform(0, 2 * Math.PI), off = rng.uniform(-0.06, 0.06);
      const a: [number, number, number] = [cx + (r + off) * Math.cos(th), cy + (r + off) * Math.sin(th), 0.01];
      candidates.push({ kind: 'pick_place', a, b: [a[0] + rng.normal(0, 0.05), a[1] + rng.normal(0, 0.05), 0.01] });
      oracle.push(-Math.abs(off));
    }
    return { stateId: `s${s}`, task, workspace: { min: [-0.3, -0.3, 0], max: [0.3, 0.3, 0.3] }, cloud: makeCloud(pts, 'table'), candidates, oracle };
  });
}

/** The same states shifted by (dx, dy) with workspace, candidates shuffled and states reordered. */
function shiftedShuffled(states: CandidateState[], dx: number, seed: number): CandidateState[] {
  const rng = new Rng(seed);
  const mv = (p: readonly number[]): [number, number, number] => [p[0]! + dx, p[1]! - dx, p[2]!];
  return rng.shuffle(states.map((s) => {
    const perm = rng.shuffle(s.candidates.map((_, i) => i));
    const pts = s.cloud.points.slice();
    for (let i = 0; i < pts.length; i += 3) [pts[i], pts[i + 1]] = [pts[i]! + dx, pts[i + 1]! - dx];
    return {
      ...s,
      stateId: `t-${s.stateId}`,
      task: 'rope-u' as const,
      workspace: { min: mv(s.workspace.min), max: mv(s.workspace.max) },
      cloud: makeCloud(pts, 'table'),
      candidates: perm.map((i) => ({ ...s.candidates[i]!, a: mv(s.candidates[i]!.a), b: mv(s.candidates[i]!.b) })),
      oracle: perm.map((i) => s.oracle![i]!),
    };
  }));
}

function writeDataset(dir: string, states: CandidateState[], rankings: boolean): void {
  mkdirSync(dir, { recursive: true });
  writeStates(dir, states);
  if (!rankings) return;
  writeJsonl(
    join(dir, RANKINGS_FILE),
    states.map((s) => ({
      kind: 'ranking',
      stateId: s.stateId,
      candidateCount: s.candidates.length,
      groups: s.oracle!.map((_, i) => i).sort((a, b) => s.oracle![b]! - s.oracle![a]!).map((i) => [i]),
      notComparable: [],
      idealBeatsAll: false,
      annotator: 'scripted:oracle',
      source: 'scripted',
      time: 0,
    })),
  );
}

const lastJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!);

describe('pamstack transfer --items candidates', () => {
  const root = mkdtempSync(join(tmpdir(), 'pamstack-transfer-cand-'));
  const src = candidateStates('rope-circle', 12, 6, 4);
  writeDataset(join(root, 'src'), src, true);
  // the target's rankings are written only to score agreement
  writeDataset(join(root, 'tgt'), shiftedShuffled(src, 0.05, 7), true);
  writeDataset(join(root, 'unlabelled'), src, false);
  afterEach(() => vi.restoreAllMocks());

  it('labels a shifted, shuffled copy of the source as the source teacher would, and writes a reward RAS can load', async () => {
    const out = join(root, 'out');
    const r = await run(['transfer', '--items', 'candidates', '--source', join(root, 'src'), '--target', join(root, 'tgt'), '--out', out, '--epochs', '5', '--hidden', '8', '--json']);
    expect(r.code, r.err).toBe(0);
    const report = lastJson(r.out);
    expect(report.target).toMatchObject({ states: 12, candidates: 72, pairs: 12 * 15, labels_used: 0 });
    expect(report.agreement.strict.agreement, JSON.stringify(report.agreement)).toBeGreaterThanOrEqual(0.9);
    expect(report.agreement_oracle.agreement).toBeGreaterThanOrEqual(0.9);
    const labels = JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8'));
    expect(labels.pairs).toHaveLength(12 * 15);
    const { model, features } = loadRewardModel(out);
    expect(model.config.model).toBe('robust');
    expect(features?.object).not.toBeNull();
    model.dispose();
  });

  it('refuses a source without rankings, an unknown shared column and a missing target, naming the flag', async () => {
    const a = await run(['transfer', '--items', 'candidates', '--source', join(root, 'unlabelled'), '--target', join(root, 'tgt'), '--out', join(root, 'x'), '--reward', 'none']);
    expect(a.code).not.toBe(0);
    expect(a.err).toMatch(/--source/);
    const b = await run(['transfer', '--items', 'candidates', '--source', join(root, 'src'), '--target', join(root, 'tgt'), '--out', join(root, 'x'), '--reward', 'none', '--shared', 'r_pick,bogus']);
    expect(b.code).not.toBe(0);
    expect(b.err).toMatch(/--shared.*bogus/);
    const c = await run(['transfer', '--items', 'candidates', '--source', join(root, 'src'), '--target', join(root, 'missing'), '--out', join(root, 'x'), '--reward', 'none']);
    expect(c.code).not.toBe(0);
    expect(c.err).toMatch(/--target: expected a candidate dataset folder/);
  });

  it('eval --noise (the jittered-expert proposer) refuses a policy other than expert and the implicit reward', async () => {
    const a = await run(['eval', '--task', 'rope-u', '--policy', 'random', '--noise', '0.05']);
    expect(a.code).not.toBe(0);
    expect(a.err).toMatch(/--noise/);
    const b = await run(['eval', '--task', 'rope-u', '--policy', 'expert', '--noise', '0.05', '--select', 'ras']);
    expect(b.code).not.toBe(0);
    expect(b.err).toMatch(/--reward/);
  });
});
