import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld } from '../../sim/index.ts';
import type { GranularWorld } from '../../sim/tasks/granular.ts';
import { occupancyIoU2D } from '../../src/cloud/metrics.ts';
import { PrimitiveRefusedError, Rng, type Primitive, type World } from '../../src/core/index.ts';
import { allFiniteOnTable, expertVsRandom, shifted } from './_helpers.ts';

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

