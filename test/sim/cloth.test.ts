import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld } from '../../sim/index.ts';
import type { ClothWorld } from '../../sim/tasks/cloth.ts';
import { PrimitiveRefusedError, type Primitive, type World } from '../../src/core/index.ts';
import { allFiniteOnTable, expertVsRandom, runBaseline } from './_helpers.ts';

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
    const again = await runBaseline(w, 'expert', { episodes: 1, seed: 1 });
    expect(again.episodes[0]!.finalMetrics).toEqual(ex.episodes[0]!.finalMetrics);
  });
});

