import { describe, expect, it } from 'vitest';
import type { Vec3 } from '../../src/core/geometry.ts';
import { makeCloud } from '../../src/core/pointcloud.ts';
import type { Primitive } from '../../src/core/primitive.ts';
import { Rng } from '../../src/core/rng.ts';
import type { World } from '../../src/core/world.ts';
import { candidateFeatures, DEFAULT_REWARD_FEATURES } from '../../src/preference/features.ts';
import { segmentRegret } from '../../src/preference/regret-teacher.ts';
import { expertValue, simSegmentPairs, transitionAdvantage, tryCandidates, type SimTransition } from '../../src/preference/sim-regret.ts';

/**
 * A line world: the object sits at x ∈ [0, 1]; a primitive moves it to its place point's x (clamped to
 * within 0.25 of where it is); IoU = x; solved at x ≥ 0.95. The expert always moves +0.25.
 */
function lineWorld(): World & { x: () => number; executed: () => number } {
  let x = 0;
  let executed = 0;
  const move = (to: number) => {
    x = Math.min(1, Math.max(0, Math.max(x - 0.25, Math.min(x + 0.25, to))));
  };
  return {
    x: () => x,
    executed: () => executed,
    task: 'rope-circle',
    primitive: 'pick_place',
    workspace: { min: [-0.4, -0.3, 0], max: [1.4, 0.3, 0.5] },
    stepLimit: 8,
    reset: () => {
      x = 0;
    },
    observe: () => makeCloud(Float32Array.from([x, 0, 0.01, x + 0.02, 0.01, 0.01]), 'table'),
    execute: async (p) => {
      executed++;
      move(p.b[0]);
      return { duration: 1, wall: 0 };
    },
    checkPrimitive: (p) => (p.b[0] < -0.2 ? 'place.x < −0.2 (stub veto)' : null),
    metrics: () => ({ iou: x }),
    success: () => x >= 0.95,
    saveState: () => ({ task: 'rope-circle', data: Float64Array.from([x]) }),
    restoreState: (s) => {
      x = s.data[0]!;
    },
    expertActions: () => [{ kind: 'pick_place', a: [x, 0, 0.01] as Vec3, b: [x + 0.25, 0, 0.01] as Vec3 }],
    dispose: () => {},
  };
}
const to = (x: number): Primitive => ({ kind: 'pick_place', a: [0, 0, 0.01], b: [x, 0, 0.01] });

describe('regret on sim states', () => {
  it('V̂ is the expert rollout return over the horizon, with the success bonus, and leaves the world as found', async () => {
    const w = lineWorld();
    await w.execute(to(0.25));
    const o = { horizon: 2, successBonus: 0.5 };
    expect(await expertValue(w, new Rng(1), o)).toBeCloseTo(0.5, 6); // 0.25 → 0.75
    expect(w.x()).toBe(0.25);
    expect(await expertValue(w, new Rng(1), { ...o, horizon: 4 })).toBeCloseTo(0.75 + 0.5, 6); // reaches 1, solved
  });

  it('tries every candidate from the saved state: regret ≥ 0, the best tried segment has regret 0, refused ones are left out', async () => {
    const w = lineWorld();
    await w.execute(to(0.25));
    const ts = await tryCandidates(w, [to(0.5), to(0.1), to(-0.5), to(0.3)], 0, new Rng(2), { horizon: 1, successBonus: 0 });
    expect(w.x()).toBe(0.25);
    expect(ts.map((t) => t.action.b[0])).toEqual([0.5, 0.1, 0.3]);
    expect(ts[0]!.reward).toBeCloseTo(0.25, 6);
    expect(ts[1]!.reward).toBeCloseTo(-0.15, 6);
    // V̂(s) = max(expert 1 step = 0.25, best candidate then expert = 0.25 + 0.25)
    for (const t of ts) expect(t.vStart).toBeCloseTo(0.5, 6);
    const regrets = ts.map((t) => -transitionAdvantage(t));
    expect(Math.min(...regrets)).toBeCloseTo(0, 6);
    for (const r of regrets) expect(r).toBeGreaterThanOrEqual(-1e-9);
    // the same number as the regret teacher's deterministic form
    expect(segmentRegret({ rewards: [ts[1]!.reward], vStart: ts[1]!.vStart, vEnd: ts[1]!.vEnd })).toBeCloseTo(regrets[1]!, 9);
  });

  it('labels pairs by regret or by partial return; the two disagree where a high-value start had a poor step', async () => {
    const mk = (state: number, reward: number, vStart: number, vEnd: number, x: number): SimTransition => ({
      state,
      workspace: { min: [-0.4, -0.3, 0], max: [1.4, 0.3, 0.5] },
      cloud: makeCloud(Float32Array.from([x, 0, 0.01]), 'table'),
      next: makeCloud(Float32Array.from([x + reward, 0, 0.01]), 'table'),
      action: to(x + reward),
      reward,
      vStart,
      vEnd,
    });
    // a: reward 0.3 but regret 0.2 (it forgoes a better step); b: reward 0.1 with regret 0 (optimal)
    const ts = [mk(0, 0.3, 0.8, 0.3, 0.1), mk(1, 0.1, 0.2, 0.1, 0.6)];
    const rational = { beta: -1 };
    const reg = simSegmentPairs(ts, { pairs: 20, seed: 1, labels: 'regret', features: DEFAULT_REWARD_FEATURES, teacher: rational, sameState: 0 });
    const pr = simSegmentPairs(ts, { pairs: 20, seed: 1, labels: 'partial-return', features: DEFAULT_REWARD_FEATURES, teacher: rational, sameState: 0 });
    expect(reg.stateDim).toBe(64);
    expect(reg.leftStates!.length).toBe(20 * 2 * 64);
    const rowA = candidateFeatures(ts[0]!.cloud, ts[0]!.workspace, [ts[0]!.action], DEFAULT_REWARD_FEATURES);
    const isA = (rows: Float32Array, p: number) => rows.subarray(p * rowA.length, (p + 1) * rowA.length).every((v, j) => v === rowA[j]);
    let seenBoth = 0;
    for (let p = 0; p < 20; p++) {
      // regret prefers b (the optimal step), partial return prefers a (the larger step)
      expect(reg.y[p]).toBe(isA(reg.left, p) ? 0 : 1);
      expect(pr.y[p]).toBe(isA(pr.left, p) ? 1 : 0);
      if (isA(reg.left, p)) seenBoth |= 1;
      else seenBoth |= 2;
    }
    expect(seenBoth).toBe(3);
    expect(() => simSegmentPairs(ts.slice(0, 1), { pairs: 1, seed: 1, labels: 'regret', features: DEFAULT_REWARD_FEATURES })).toThrow(/at least 2 transitions/);
  });
});
