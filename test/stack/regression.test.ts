// The sim regression suite: the committed default policies keep their measured results on the fixed
// CI seeds, and a short train-from-scratch run still learns. Baselines come from
// policies/<task>/regression.json, written by `npm run policies:rebuild`.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { EvalResult } from '../../src/core/episode.ts';
import { readTaskDecider } from '../../src/stack/decider-spec.ts';
import type { RegressionBaseline } from '../../src/stack/flywheel/rebuild.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/pamstack.js');
const policies = join(root, 'policies');

/** Tolerances: one episode of the few may flip (float noise across CPUs); the mean final metric may move 0.05. */
const SUCCESS_TOL = (episodes: number) => 1 / episodes + 1e-9;
const METRIC_TOL = 0.05;

async function pamstack(args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [bin, ...args, '--json'], { cwd: root, maxBuffer: 1 << 24, env: { ...process.env, PAMSTACK_QUIET: '1' } });
  return JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

const baselines: RegressionBaseline[] = existsSync(policies)
  ? readdirSync(policies)
      .filter((t) => existsSync(join(policies, t, 'regression.json')))
      .map((t) => JSON.parse(readFileSync(join(policies, t, 'regression.json'), 'utf8')) as RegressionBaseline)
  : [];

describe('sim regression: committed default policies', () => {
  it('has a committed baseline for rope-circle', () => {
    expect(baselines.map((b) => b.task)).toContain('rope-circle');
  });

  for (const b of baselines) {
    it(`${b.task}: each method keeps its success rate and final metric on seeds ${b.seed}…${b.seed + b.episodes - 1}`, async () => {
      const P = join(policies, b.task);
      const rows: { method: string; expected: EvalResult; measured: EvalResult }[] = [];
      for (const r of b.rows) {
        const measured = (await pamstack(['eval', ...r.args.map((a) => a.replace(/^\$P/, P))])) as unknown as EvalResult;
        rows.push({ method: r.method, expected: r.result, measured });
      }
      const metric = (e: EvalResult) => e.metrics.iou ?? e.metrics.coverage ?? 0;
      const table = rows
        .map((r) => `${r.method.padEnd(14)} success ${r.expected.success_rate.toFixed(2)} → ${r.measured.success_rate.toFixed(2)}   metric ${metric(r.expected).toFixed(3)} → ${metric(r.measured).toFixed(3)}`)
        .join('\n');
      for (const r of rows) {
        expect(Math.abs(r.measured.success_rate - r.expected.success_rate), `expected → measured:\n${table}`).toBeLessThanOrEqual(SUCCESS_TOL(b.episodes));
        expect(Math.abs(metric(r.measured) - metric(r.expected)), `expected → measured:\n${table}`).toBeLessThanOrEqual(METRIC_TOL);
      }
      // The task folder as --policy is its default.json: exactly the explicit flags' result, and with
      // --select first exactly SL-first's (where the folder's policy is the SL checkpoint).
      const spec = readTaskDecider(P)!;
      const strip = (e: Record<string, unknown>) => ({ ...e, decider: undefined });
      const byFolder = strip(await pamstack(['eval', '--task', b.task, '--policy', P, '--episodes', String(b.episodes), '--seed', String(b.seed), '--quiet']));
      expect(byFolder, 'eval --policy policies/<task> vs the default row').toEqual(strip(rows.find((r) => r.method === spec.method)!.measured as unknown as Record<string, unknown>));
      if (spec.policy === join(P, 'sl') && rows.some((r) => r.method === 'sl-first')) {
        const first = strip(await pamstack(['eval', '--task', b.task, '--policy', P, '--select', 'first', '--episodes', String(b.episodes), '--seed', String(b.seed), '--quiet']));
        expect(first, 'eval --policy policies/<task> --select first vs sl-first').toEqual(strip(rows.find((r) => r.method === 'sl-first')!.measured as unknown as Record<string, unknown>));
      }
      // RAS (the demo's default) keeps beating SL-only: success first, then the final metric.
      const sl = rows.find((r) => r.method === 'sl-first');
      const ras = rows.find((r) => r.method.startsWith('ras-'));
      if (sl && ras) {
        const better = ras.measured.success_rate > sl.measured.success_rate || (ras.measured.success_rate === sl.measured.success_rate && metric(ras.measured) >= metric(sl.measured));
        expect(better, `RAS vs SL-only:\n${table}`).toBe(true);
      }
    }, 600_000); // cloth flings simulate at about real time: its rows take minutes
  }
});

describe('sim regression: train from scratch', () => {
  it('a short supervised run still learns: loss falls and picks land on the rope, unlike random picks', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pam-regress-'));
    await pamstack(['collect', '--task', 'rope-circle', '--episodes', '2', '--seed', '7', '--out', `${dir}/demos`, '--quiet']);
    const summary = await pamstack([
      'train', 'policy', '--data', `${dir}/demos`, '--out', `${dir}/sl`, '--epochs', '60', '--batch-states', '8',
      '--noise-draws', '8', '--lr', '1e-3', '--points', '128', '--seed', '0', '--quiet',
    ]);
    const history = JSON.parse(readFileSync(`${dir}/sl/policy.json`, 'utf8')).training.history as { trainLoss: number }[];
    expect(history.length).toBeGreaterThan(5);
    const first = history.slice(0, 3).reduce((a, h) => a + h.trainLoss, 0) / 3;
    const last = history.slice(-3).reduce((a, h) => a + h.trainLoss, 0) / 3;
    expect(last, JSON.stringify(summary)).toBeLessThan(first * 0.8);

    // Behaviour: the raw (unsnapped) pick points lie closer to the rope than uniformly random points.
    const { createWorld } = await import('../../sim/index.ts');
    const { initBackend } = await import('../../src/nn/backend.ts');
    const { loadPolicy } = await import('../../src/policy/checkpoint.ts');
    const { PolicyProposer } = await import('../../src/policy/proposer.ts');
    const { Rng } = await import('../../src/core/rng.ts');
    await initBackend({ log: null });
    const world = await createWorld('rope-circle');
    const { model, processor } = loadPolicy(`${dir}/sl`, { trainable: false });
    const proposer = new PolicyProposer(model, processor, { snapPicks: false });
    try {
      const rng = new Rng(1);
      let policyDist = 0;
      let randomDist = 0;
      let n = 0;
      for (const seed of [31, 32, 33]) {
        world.reset(seed);
        const obs = world.observe({ seed });
        const ws = world.workspace;
        for (const p of proposer.sample(obs, 8, seed).primitives) {
          policyDist += nearestXY(obs.points, p.a[0], p.a[1]);
          randomDist += nearestXY(obs.points, rng.uniform(ws.min[0], ws.max[0]), rng.uniform(ws.min[1], ws.max[1]));
          n++;
        }
      }
      expect(n).toBe(24);
      expect(policyDist / n).toBeLessThan((randomDist / n) * 0.75);
    } finally {
      model.dispose();
      world.dispose();
    }
  });
});

function nearestXY(points: Float32Array, x: number, y: number): number {
  let best = Infinity;
  for (let i = 0; i < points.length; i += 3) best = Math.min(best, Math.hypot(points[i]! - x, points[i + 1]! - y));
  return best;
}
