import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectDemonstrations } from '../../src/stack/collect-demos.ts';
import { readDemonstrations } from '../../sim/collect-format.ts';
import { createWorld } from '../../sim/index.ts';
import type { RopeWorld } from '../../sim/tasks/rope.ts';
import { occupancyIoU2D, occupancyIoU2DRotationSearch } from '../../src/cloud/metrics.ts';
import { EvalResultSchema, type World } from '../../src/core/index.ts';
import { expertVsRandom, runBaseline, shifted } from './_helpers.ts';

describe('shape metrics used by the tasks', () => {
  it('IoU of each goal with itself is 1 and with a disjoint copy 0', async () => {
    const rope = (await createWorld('rope-s')) as World & RopeWorld;
    const g = rope.goalCloud();
    const cell = { cellSize: 0.01, splatRadius: 0.01 };
    expect(occupancyIoU2DRotationSearch(g, g, cell).iou).toBeCloseTo(1, 10);
    expect(occupancyIoU2DRotationSearch(g, shifted(g, 1), { ...cell, alignCentroids: false }).iou).toBe(0);
    expect(occupancyIoU2D(g, shifted(g, 1), cell)).toBe(0);
    rope.dispose();
  });
});

describe('rope expert vs random, determinism and demonstrations', () => {
  it('expert beats random on rope-circle (2 seeded episodes of 10 steps); equal seeds give equal metrics', async () => {
    const a = await createWorld('rope-circle', { stepLimit: 10 });
    const b = await createWorld('rope-circle', { stepLimit: 10 });
    const { ex, rd } = await expertVsRandom(a, 2, 40);
    expect(ex.result.success_rate).toBeGreaterThan(rd.result.success_rate);
    const ex2 = await runBaseline(b, 'expert', { episodes: 2, seed: 40 });
    expect(ex2.result).toEqual(ex.result);
    a.dispose();
    b.dispose();
  });

  it('collect writes clouds, all acceptable actions and metrics that readDemonstrations reads back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pamstack-demos-'));
    try {
      const w = await createWorld('rope-u', { stepLimit: 3 });
      const out = join(dir, 'set');
      const s = await collectDemonstrations(w, { episodes: 1, seed: 3, out, quiet: true, pointBudget: 500 });
      const { meta, steps } = readDemonstrations(out);
      expect(meta.task).toBe('rope-u');
      expect(steps.length).toBe(s.meta.steps);
      expect(steps.length).toBeGreaterThan(0);
      for (const st of steps) {
        expect(st.cloud.length / 3).toBeGreaterThan(100);
        expect(st.cloud.length / 3).toBeLessThanOrEqual(500);
        expect(st.actions.length).toBeGreaterThanOrEqual(1);
        expect(st.actions.length).toBeLessThanOrEqual(10);
        expect(st.executed).toEqual(st.actions[0]);
        expect(st.metricsAfter.iou).toBeTypeOf('number');
      }
      expect(steps[steps.length - 1]!.done).toBe(true);
      await expect(collectDemonstrations(w, { episodes: 1, seed: 3, out, quiet: true })).rejects.toThrow(/already holds/);
      w.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pamstack eval and collect commands', () => {
  const bin = new URL('../../bin/pamstack.js', import.meta.url).pathname;

  it('eval --json prints the DESIGN.md contract as the last line', () => {
    const out = execFileSync('node', [bin, 'eval', '--task', 'rope-circle', '--policy', 'expert', '--select', 'first', '--episodes', '1', '--seed', '40', '--json'], {
      encoding: 'utf8',
    });
    const lines = out.trim().split('\n');
    const r = EvalResultSchema.parse(JSON.parse(lines[lines.length - 1]!));
    expect(r).toMatchObject({ task: 'rope-circle', episodes: 1, seed: 40 });
    expect(r.metrics.iou).toBeTypeOf('number');
  });

  it('rejects a task, policy or selection it cannot run, naming the flag', () => {
    const bad = (args: string[]) => spawnSync('node', [bin, ...args], { encoding: 'utf8' });
    const t = bad(['eval', '--task', 'rope-zigzag', '--policy', 'expert', '--episodes', '1']);
    expect(t.status).toBe(2);
    expect(t.stderr).toMatch(/--task.*rope-circle/);
    const s = bad(['eval', '--task', 'rope-circle', '--policy', 'expert', '--select', 'best']);
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/--select/);
    const p = bad(['eval', '--task', 'rope-circle', '--policy', 'nonsense', '--episodes', '1']);
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/policy/);
  });
});
