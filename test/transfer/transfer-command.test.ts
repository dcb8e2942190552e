import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Rng } from '../../src/core/index.ts';
import { main } from '../../src/stack/cli.ts';

/**
 * A task whose segments follow a latent progress g(t) under policies of mixed quality. Each task
 * embeds the state differently; `iou` (= g) is the one shared feature. Teacher: Δg over the segment.
 */
function writeTask(dir: string, task: string, embed: (g: number, t: number, rng: Rng) => number[], seed: number): void {
  const rng = new Rng(seed);
  const segments: { id: string; states: number[][]; rewards: number[] }[] = [];
  for (let e = 0; e < 6; e++) {
    const skill = e / 5;
    let g = rng.uniform(0.05, 0.3);
    const gs = [g];
    for (let t = 0; t < 5; t++) {
      g = Math.min(1, Math.max(0, g + (rng.next() < skill ? 0.12 : -0.06) + 0.02 * rng.normal()));
      gs.push(g);
    }
    for (let s = 0; s + 3 < gs.length; s++) {
      const w = gs.slice(s, s + 4);
      segments.push({ id: `e${e}-s${s}`, states: w.map((x, t) => [x, ...embed(x, t, rng)]), rewards: w.slice(1).map((x, k) => x - w[k]!) });
    }
  }
  const pairs: { first: number; second: number; y: number }[] = [];
  for (let j = 0; j < segments.length; j++)
    for (let l = j + 1; l < segments.length; l++) {
      const a = segments[j]!.rewards.reduce((s, x) => s + x, 0), b = segments[l]!.rewards.reduce((s, x) => s + x, 0);
      pairs.push({ first: j, second: l, y: a > b ? 1 : a < b ? 0 : 0.5 });
    }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'segments.json'), JSON.stringify({ task, features: ['iou', 'a', 'b'], segments }));
  writeFileSync(join(dir, 'labels.json'), JSON.stringify({ teacher: 'oracle', pairs }));
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await main(['node', 'pamstack', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('pamstack transfer', () => {
  const root = mkdtempSync(join(tmpdir(), 'pamstack-transfer-'));
  const source = join(root, 'src'), target = join(root, 'tgt');
  writeTask(source, 'rope-circle', (g, t) => [Math.cos(3 * g), t * 0.1], 1);
  writeTask(target, 'rope-u', (g, _t, rng) => [g * g + 0.01 * rng.normal(), -2 * g], 2);
  afterEach(() => vi.restoreAllMocks());

  it('transfers labels with fused GW, scores them against the target teacher and writes its files', async () => {
    const out = join(root, 'out');
    const r = await run(['transfer', '--source', source, '--target', target, '--out', out, '--alpha', '0.5', '--shared', 'iou', '--reward', 'none', '--json']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    const report = JSON.parse(lines[lines.length - 1]!);
    // 18 segments, 2 embeddings sharing one feature: small and noisy, so a loose bar (sim figures are reported)
    expect(report.agreement.normalized.agreement).toBeGreaterThanOrEqual(0.75);
    expect(report.agreement.normalized_confident.agreement).toBeGreaterThanOrEqual(report.agreement.normalized.agreement);
    // PEARL's unnormalised sum is ~1/N²: as a label it always says "second"
    expect(report.labels.mean_unnormalized).toBeLessThan(0.01);
    const labels = JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8'));
    expect(labels.pairs.length).toBe((18 * 17) / 2);
    for (const l of labels.pairs) {
      expect(l.y).toBeGreaterThanOrEqual(0);
      expect(l.y).toBeLessThanOrEqual(1);
      expect(l.confidence).toBeCloseTo(Math.abs(2 * l.y - 1), 12);
    }
    expect(existsSync(join(out, 'report.json'))).toBe(true);
  });

  it('trains the robust reward on the transferred labels', async () => {
    const out = join(root, 'out-reward');
    const r = await run(['transfer', '--source', source, '--target', target, '--out', out, '--alpha', '0.5', '--shared', 'iou', '--epochs', '40', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out.trim().split('\n').pop()!);
    expect(report.reward.model).toBe('robust');
    expect(report.reward_vs_target_teacher.accuracy).toBeGreaterThan(0.7);
    expect(existsSync(join(out, 'reward.json'))).toBe(true);
  });

  it.each([
    [['--alpha', '2'], /--alpha/],
    [['--shared', 'iou,volume'], /--shared: expected features of the source task \(iou, a, b\), received "volume"/],
    [['--distance', 'l1'], /--distance/],
  ])('refuses %s, naming it', async (extra, message) => {
    const r = await run(['transfer', '--source', source, '--target', target, '--out', join(root, 'bad'), '--alpha', '0.5', '--shared', 'iou', '--reward', 'none', ...extra]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('refuses a source without labels, naming the file', async () => {
    const bare = join(root, 'bare');
    mkdirSync(bare, { recursive: true });
    writeFileSync(join(bare, 'segments.json'), readFileSync(join(source, 'segments.json')));
    const r = await run(['transfer', '--source', bare, '--target', target, '--out', join(root, 'bad2')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bare\/labels\.json: expected a readable JSON file/);
  });
});

describe('pamstack transfer-collect', () => {
  afterEach(() => vi.restoreAllMocks());

  it('records cloth segments whose teacher compares coverage (one short episode in sim)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pamstack-transfer-cloth-'));
    const r = await run(['transfer-collect', '--task', 'cloth-unfold', '--episodes', '1', '--steps', '2', '--window', '1', '--out', out, '--json']);
    expect(r.code).toBe(0);
    const file = JSON.parse(readFileSync(join(out, 'segments.json'), 'utf8'));
    expect(file.task).toBe('cloth-unfold');
    expect(file.features).toEqual(['iou', 'coverage', 'chamfer', 'emd', 'cx', 'cy', 'spread_major', 'spread_minor']);
    expect(file.segments.length).toBeGreaterThanOrEqual(1);
    const cov = file.features.indexOf('coverage');
    for (const s of file.segments) {
      expect(s.states.length).toBe(2);
      expect(s.states[0][cov]).toBeGreaterThan(0);
      // the per-step reward is the gain in coverage (cloth's success metric), not in IoU
      expect(s.rewards[0]).toBeCloseTo(s.states[1][cov] - s.states[0][cov], 12);
    }
    const labels = JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8'));
    expect(labels.teacher).toBe('oracle');
    expect(labels.pairs.length).toBe((file.segments.length * (file.segments.length - 1)) / 2);
  });
});
