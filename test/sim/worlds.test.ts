import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectDemonstrations } from '../../sim/collect.ts';
import { readDemonstrations } from '../../sim/collect-format.ts';
import { createWorld } from '../../sim/index.ts';
import type { ClothWorld } from '../../sim/tasks/cloth.ts';
import type { GranularWorld } from '../../sim/tasks/granular.ts';
import type { RopeWorld } from '../../sim/tasks/rope.ts';
import { occupancyIoU2D, occupancyIoU2DRotationSearch } from '../../src/cloud/metrics.ts';
import { PrimitiveRefusedError, Rng, type Primitive, type World } from '../../src/core/index.ts';
import { expertAgent, randomAgent } from '../../src/stack/agents.ts';
import { evaluate } from '../../src/stack/evaluate.ts';

function shifted(c: Float32Array, dx: number): Float32Array {
  const out = Float32Array.from(c);
  for (let i = 0; i < out.length; i += 3) out[i]! += dx;
  return out;
}

function allFiniteOnTable(v: Float64Array, maxZ: number): boolean {
  for (let i = 0; i < v.length; i += 3) {
    if (!Number.isFinite(v[i]!) || !Number.isFinite(v[i + 1]!) || !Number.isFinite(v[i + 2]!)) return false;
    if (Math.abs(v[i]!) > 0.5 || Math.abs(v[i + 1]!) > 0.4 || v[i + 2]! < -0.002 || v[i + 2]! > maxZ) return false;
  }
  return true;
}

async function expertVsRandom(w: World, episodes: number, seed: number) {
  const ex = await evaluate(w, expertAgent(), { episodes, seed, quiet: true });
  const rd = await evaluate(w, randomAgent(), { episodes, seed, quiet: true });
  return { ex, rd };
}

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

describe('granular-t world', () => {
  let w: World & GranularWorld;
  beforeAll(async () => {
    w = (await createWorld('granular-t', { stepLimit: 3 })) as World & GranularWorld;
  });
  afterAll(() => w.dispose());

  it('has ≥150 particles that stay finite and on the table through sweeps; restore is exact', async () => {
    w.reset(5);
    expect(w.particles().length / 3).toBeGreaterThanOrEqual(150);
    const s = w.saveState();
    const m0 = w.metrics();
    const rng = new Rng(5);
    for (let k = 0; k < 2; k++) await w.execute(w.expertActions(3, rng)[0]!);
    expect(allFiniteOnTable(w.particles(), 0.06)).toBe(true);
    w.restoreState(s);
    expect(w.metrics()).toEqual(m0);
  });

  it('IoU of the T with itself is 1 and with a disjoint copy 0', () => {
    const g = w.goalCloud();
    expect(occupancyIoU2D(g, g)).toBe(1);
    expect(occupancyIoU2D(g, shifted(g, 0.5))).toBe(0);
  });

  it('refuses sweeps outside the workspace or reach, untouched', async () => {
    w.reset(6);
    const before = Array.from(w.saveState().data);
    const far: Primitive = { kind: 'sweep', a: [0, -0.35, 0.02], b: [0, 0, 0.02] };
    await expect(w.execute(far)).rejects.toThrow(/min\.y/);
    const long: Primitive = { kind: 'sweep', a: [-0.35, -0.25, 0.02], b: [0.35, 0.25, 0.02] };
    await w.execute(long).then(
      () => expect.fail('accepted a 0.86 m sweep'),
      (e: PrimitiveRefusedError) => expect(e.bound).toBe('reach.maxLength'),
    );
    expect(Array.from(w.saveState().data)).toEqual(before);
  });

  it('expert reaches a higher IoU than random (2 seeded episodes of 3 sweeps)', async () => {
    const { ex, rd } = await expertVsRandom(w, 2, 20);
    expect(ex.result.metrics.iou!).toBeGreaterThan(rd.result.metrics.iou! + 0.05);
    expect(ex.result.success_rate).toBeGreaterThanOrEqual(rd.result.success_rate);
  });
});

describe('cloth-unfold world', () => {
  let w: World & ClothWorld;
  beforeAll(async () => {
    w = (await createWorld('cloth-unfold', { stepLimit: 1 })) as World & ClothWorld;
  });
  afterAll(() => w.dispose());

  it('starts crumpled, stays finite and on the table, and a refused fling leaves it untouched', async () => {
    w.reset(7);
    expect(w.metrics().coverage!).toBeLessThan(0.8);
    expect(allFiniteOnTable(w.vertices(), 0.1)).toBe(true);
    const before = Array.from(w.saveState().data);
    const close: Primitive = { kind: 'fling', a: [0, 0, 0.01], b: [0.01, 0, 0.01] };
    await w.execute(close).then(
      () => expect.fail('accepted grasps 1 cm apart'),
      (e: PrimitiveRefusedError) => expect(e.bound).toBe('reach.minSeparation'),
    );
    expect(Array.from(w.saveState().data)).toEqual(before);
  });

  it('expert beats random on success rate (2 seeded episodes of 1 fling), same seed ⇒ same metrics', async () => {
    const { ex, rd } = await expertVsRandom(w, 2, 1);
    expect(ex.result.success_rate).toBeGreaterThan(rd.result.success_rate);
    for (const e of ex.episodes) expect(allFiniteOnTable(w.vertices(), 0.1) && Number.isFinite(e.finalMetrics.coverage!)).toBe(true);
    const again = await evaluate(w, expertAgent(), { episodes: 1, seed: 1, quiet: true });
    expect(again.episodes[0]!.finalMetrics).toEqual(ex.episodes[0]!.finalMetrics);
  });
});

describe('rope expert vs random, determinism and demonstrations', () => {
  it('expert beats random on rope-circle (2 seeded episodes of 10 steps); equal seeds give equal metrics', async () => {
    const a = await createWorld('rope-circle', { stepLimit: 10 });
    const b = await createWorld('rope-circle', { stepLimit: 10 });
    const { ex, rd } = await expertVsRandom(a, 2, 40);
    expect(ex.result.success_rate).toBeGreaterThan(rd.result.success_rate);
    const ex2 = await evaluate(b, expertAgent(), { episodes: 2, seed: 40, quiet: true });
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
