import { describe, expect, it } from 'vitest';
import type { Vec3 } from '../../src/core/geometry.ts';
import type { Primitive } from '../../src/core/primitive.ts';
import { PrimitiveRefusedError, type World } from '../../src/core/world.ts';
import { composeDecider, loadDecider, type ScoreStage } from '../../src/stack/decider.ts';
import { resolveDeciderSpec } from '../../src/stack/decider-spec.ts';
import { rollout, type StepInfo } from '../../src/stack/rollout.ts';

const pp = (x: number, y: number): Primitive => ({ kind: 'pick_place', a: [x, y, 0.01] as Vec3, b: [0, 0, 0.01] as Vec3 });

/** A world stub: the task is solved once a primitive with a.x ≥ 0.25 has run; it vetoes a.y < 0. */
function stubWorld(): World & { ran: Primitive[] } {
  let solved = false;
  const ran: Primitive[] = [];
  return {
    ran,
    task: 'rope-circle',
    primitive: 'pick_place',
    workspace: { min: [-0.4, -0.3, 0], max: [0.4, 0.3, 0.5] },
    stepLimit: 3,
    reset: () => {
      solved = false;
    },
    observe: () => ({ points: new Float32Array(3), frame: 'table', stamp: 0 }),
    execute: async (p) => {
      ran.push(p);
      if (p.a[0] >= 0.25) solved = true;
      return { duration: 1, wall: 0 };
    },
    checkPrimitive: (p) => (p.a[1] < 0 ? 'pick.y < 0 (stub veto)' : null),
    metrics: () => ({ iou: solved ? 1 : 0 }),
    success: () => solved,
    saveState: () => ({ task: 'rope-circle', data: new Float64Array() }),
    restoreState: () => {},
    expertActions: () => [],
    dispose: () => {},
  };
}

const byX: ScoreStage = { name: 'x', score: (_c, p) => p.primitives.map((c) => ({ score: c.a[0] })) };
const firstStage: ScoreStage = { name: 'first', score: (_c, p) => p.primitives.map((_, i) => ({ score: -i })) };
function decider(ps: Primitive[], scorer: ScoreStage, select: 'ras' | 'first' = 'ras') {
  const spec = resolveDeciderSpec({ policy: 'random', select, candidates: ps.length }, '.');
  return composeDecider(spec, { name: 'fixed', propose: () => ({ primitives: ps }) }, scorer);
}
const ctx = (w: World, seed = 0) => ({ workspace: w.workspace, kind: 'pick_place' as const, seed, world: w });

describe('the decider (propose, score, select the best safe one)', () => {
  it('picks the best-scored safe candidate, skipping unsafe and vetoed ones in order', async () => {
    const cands = [pp(0.1, 0.1), pp(0.9, 0.1), pp(0.3, -0.1), pp(0.2, 0.1)];
    const w = stubWorld();
    const d = await decider(cands, byX).decide(w.observe(), ctx(w));
    // 0.9 is outside the workspace, 0.3 is vetoed by the world, so 0.2 is next
    expect(d.chosen).toBe(3);
    expect(d.candidates.map((c) => c.safe)).toEqual([true, false, false, true]);
    expect(d.candidates[2]!.reason).toMatch(/stub veto/);
    expect(d.fallback).toEqual([3, 0]);
    for (const k of ['propose', 'score', 'select', 'total'] as const) expect(d.timings[k]).toBeGreaterThanOrEqual(0);
  });

  it('holds with reasons when every candidate is unsafe', async () => {
    const w = stubWorld();
    const d = await decider([pp(0.9, 0), pp(0.1, -0.2)], byX).decide(w.observe(), ctx(w));
    expect(d.chosen).toBeNull();
    expect(d.holdReason).toMatch(/workspace max\.x/);
    expect(d.holdReason).toMatch(/stub veto/);
  });

  it('select first passes the same safety filter as ras: the first safe sample in proposal order', async () => {
    const cands = [pp(0.9, 0.1), pp(0.1, -0.1), pp(0.2, 0.1), pp(0.3, 0.1)];
    const w = stubWorld();
    const d = await decider(cands, firstStage, 'first').decide(w.observe(), ctx(w));
    expect(d.chosen).toBe(2);
    expect(d.candidates.map((c) => c.safe)).toEqual([false, false, true, true]);
  });

  it('random selection is seeded: the same seed picks the same candidate', async () => {
    const w = stubWorld();
    const spec = resolveDeciderSpec({ policy: 'random', select: 'random', candidates: 8 }, '.');
    const dec = await loadDecider(spec);
    const a = await dec.decide(w.observe(), ctx(w, 3));
    const b = await dec.decide(w.observe(), ctx(w, 3));
    expect(a.chosen).toBe(b.chosen);
    expect(a.candidates.map((c) => c.primitive)).toEqual(b.candidates.map((c) => c.primitive));
  });
});

describe('rollout (the one loop over episodes)', () => {
  it('counts successes, steps and holds', async () => {
    const w = stubWorld();
    const good = await rollout(w, decider([pp(0.1, 0.1), pp(0.3, 0.1)], byX), { episodes: 3, seed: 0, quiet: true });
    expect(good.result).toMatchObject({ episodes: 3, success_rate: 1, mean_steps: 1, metrics: { iou: 1 } });
    const hold = await rollout(w, decider([pp(0.9, 0.1)], byX), { episodes: 2, seed: 0, quiet: true });
    expect(hold.episodes.filter((e) => e.holdReason)).toHaveLength(2);
    expect(hold.result.success_rate).toBe(0);
    expect(hold.result.mean_steps).toBe(3); // a failure counts as the step limit
  });

  it('a refusal at execution runs the next-best safe candidate; when all are refused it holds with every reason', async () => {
    const w = stubWorld();
    const run = w.execute;
    // the world refuses (state unchanged) any pick with a.x > 0.25 at execution time
    w.execute = async (p, o) => {
      if (p.a[0] > 0.25) throw new PrimitiveRefusedError('reach', `pick.x = ${p.a[0]} m out of reach`);
      return run(p, o);
    };
    const steps: StepInfo[] = [];
    const cands = [pp(0.1, 0.1), pp(0.3, 0.1), pp(0.2, 0.1)];
    const r = await rollout(w, decider(cands, byX), { episodes: 1, seed: 0, quiet: true, hooks: { onStep: (s) => void steps.push(s) } });
    expect(steps[0]!.chosen).toBe(2); // 0.3 refused, 0.2 next best, 0.1 never needed
    expect(steps[0]!.primitive).toBe(cands[2]);
    expect(steps[0]!.refused).toMatch(/#1: pick\.x = 0\.3 m out of reach/);
    expect(steps[0]!.candidates[1]).toMatchObject({ safe: false, reason: 'pick.x = 0.3 m out of reach' });
    expect(r.episodes[0]!.refused).toBeGreaterThanOrEqual(1);

    const all = await rollout(w, decider([pp(0.3, 0.1), pp(0.35, 0.1)], byX), { episodes: 1, seed: 0, quiet: true });
    expect(all.episodes[0]!.holdReason).toMatch(/refused every safe candidate \(#1: .*; #0: /);
    expect(all.episodes[0]!.steps).toBe(0);
  });

  it('hooks can run another primitive instead (teleop) or stop the episode', async () => {
    const w = stubWorld();
    const seen: string[] = [];
    await rollout(w, decider([pp(0.1, 0.1)], byX), {
      episodes: 1,
      seed: 0,
      quiet: true,
      hooks: {
        beforeDecide: (s) => (s.step === 1 ? { primitive: pp(0.05, 0.05), source: 'teleop' } : s.step === 2 ? null : { stop: 'operator stop' }),
        onStep: (s) => void seen.push(`${s.step}:${s.source}:${s.primitive?.a[0]}`),
        onEpisode: (e) => void seen.push(`end:${e.holdReason}`),
      },
    });
    expect(seen).toEqual(['1:teleop:0.05', '2:decider:0.1', 'end:operator stop']);
  });
});
