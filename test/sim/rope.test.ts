import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorld } from '../../sim/index.ts';
import type { RopeWorld } from '../../sim/tasks/rope.ts';
import { PrimitiveRefusedError, Rng, type World } from '../../src/core/index.ts';

function ropeLength(v: Float64Array): number {
  let L = 0;
  for (let i = 0; i + 5 < v.length; i += 3) L += Math.hypot(v[i + 3]! - v[i]!, v[i + 4]! - v[i + 1]!, v[i + 5]! - v[i + 2]!);
  return L;
}

describe('rope-circle world', () => {
  let w: World & RopeWorld;
  beforeAll(async () => {
    w = (await createWorld('rope-circle')) as World & RopeWorld;
  });
  afterAll(() => w.dispose());

  it('observes a table-frame cloud of the rope within the point budget', () => {
    w.reset(1);
    const c = w.observe();
    expect(c.frame).toBe('table');
    const n = c.points.length / 3;
    expect(n).toBeGreaterThan(200);
    expect(n).toBeLessThanOrEqual(4096);
    for (let i = 0; i < c.points.length; i += 3) {
      expect(c.points[i + 2]!).toBeGreaterThan(0);
      expect(c.points[i + 2]!).toBeLessThan(0.03);
    }
    expect(w.observe({ table: true }).points.length / 3).toBe(4096);
  });

  it('keeps the rope length within 2 % through pick_place', async () => {
    w.reset(2);
    const L0 = ropeLength(w.vertices());
    const [a] = w.expertActions(1, new Rng(0));
    await w.execute(a!);
    const L1 = ropeLength(w.vertices());
    expect(Math.abs(L1 - L0) / L0).toBeLessThan(0.02);
    expect(Math.abs(L0 - w.ropeLength) / w.ropeLength).toBeLessThan(0.02);
  });

  it('refuses an out-of-workspace primitive naming the bound and leaves the state untouched', async () => {
    w.reset(3);
    const before = w.saveState();
    const p = { kind: 'pick_place' as const, a: [0.9, 0, 0.01] as [number, number, number], b: [0, 0, 0.01] as [number, number, number] };
    expect(w.checkPrimitive(p)).toMatch(/max\.x/);
    await expect(w.execute(p)).rejects.toBeInstanceOf(PrimitiveRefusedError);
    await w.execute(p).catch((e: PrimitiveRefusedError) => expect(e.bound).toBe('workspace max.x'));
    expect(Array.from(w.saveState().data)).toEqual(Array.from(before.data));
  });

  it('never starts an episode already solved (seed 10010 drew a solved circle before redraws)', () => {
    w.reset(10010);
    expect(w.success()).toBe(false);
    expect(w.metrics().iou).toBeLessThan(0.7);
    // Deterministic: the same seed gives the same start.
    const first = Array.from(w.vertices());
    w.reset(10010);
    expect(Array.from(w.vertices())).toEqual(first);
  });

  it('lays the rope along given points, even after it moved, and refuses a wrong point count', async () => {
    w.reset(5);
    await w.execute(w.expertActions(1, new Rng(2))[0]!);
    // A circle of the rope's own length: laid exactly, it meets the goal.
    const n = 32, r = w.ropeLength / (2 * Math.PI);
    const pts = Float64Array.from({ length: n * 2 }, (_, i) => ((i % 2 ? Math.sin : Math.cos)((2 * Math.PI * Math.floor(i / 2)) / n) * r) + (i % 2 ? 0.05 : -0.1));
    w.layRope(pts);
    const v = w.vertices();
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.hypot(v[i * 3]! - pts[i * 2]!, v[i * 3 + 1]! - pts[i * 2 + 1]!));
    expect(worst).toBeLessThan(0.005);
    expect(w.success()).toBe(true);
    expect(() => w.layRope(new Float64Array(10))).toThrow(/pts: expected 64 finite numbers/);
  });

  it('restores a saved state exactly', async () => {
    w.reset(4);
    const s = w.saveState();
    const m0 = w.metrics();
    await w.execute(w.expertActions(1, new Rng(1))[0]!);
    w.restoreState(s);
    expect(w.metrics()).toEqual(m0);
  });
});
