import { describe, expect, it } from 'vitest';
import type { Vec3 } from '../../src/core/geometry.ts';
import type { Primitive } from '../../src/core/primitive.ts';
import { Rng } from '../../src/core/rng.ts';
import type { CandidateScorer } from '../../src/core/stages.ts';
import type { World } from '../../src/core/world.ts';
import { firstScorer, RasAgent, randomScorer, runEpisodes } from '../../src/stack/ras-agent.ts';

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

const fixed = (ps: Primitive[]) => ({ name: 'fixed', propose: async () => ps });
const byX: CandidateScorer = { name: 'x', score: async (_c, cs) => cs.map((p) => ({ score: p.a[0] })) };

describe('RasAgent', () => {
  it('picks the best-scored safe candidate, skipping unsafe and vetoed ones in order', async () => {
    const cands = [pp(0.1, 0.1), pp(0.9, 0.1), pp(0.3, -0.1), pp(0.2, 0.1)];
    const agent = new RasAgent({ proposer: fixed(cands), scorer: byX });
    const w = stubWorld();
    const a = await agent.act(w, w.observe(), new Rng(0));
    // 0.9 is outside the workspace, 0.3 is vetoed by the world, so 0.2 is next
    expect(a.primitive).toBe(cands[3]);
    expect(a.candidates.map((c) => c.safe)).toEqual([true, false, false, true]);
    expect(a.candidates[2]!.reason).toMatch(/stub veto/);
  });

  it('holds with reasons when every candidate is unsafe', async () => {
    const agent = new RasAgent({ proposer: fixed([pp(0.9, 0), pp(0.1, -0.2)]), scorer: byX });
    const w = stubWorld();
    const a = await agent.act(w, w.observe(), new Rng(0));
    expect(a.primitive).toBeNull();
    expect(a.holdReason).toMatch(/workspace max\.x/);
    expect(a.holdReason).toMatch(/stub veto/);
  });

  it('SL-first takes the first safe sample; random-of-N is seeded', async () => {
    const cands = [pp(0.5, 0.1), pp(0.1, 0.1), pp(0.2, 0.1)];
    const w = stubWorld();
    const first = await new RasAgent({ proposer: fixed(cands), scorer: firstScorer() }).act(w, w.observe(), new Rng(0));
    expect(first.primitive).toBe(cands[1]);
    const r = new RasAgent({ proposer: fixed(cands), scorer: randomScorer() });
    const pick = async (seed: number) => (await r.act(w, w.observe(), new Rng(seed))).primitive;
    expect(await pick(3)).toBe(await pick(3));
  });

  it('runEpisodes counts successes, steps and holds', async () => {
    const w = stubWorld();
    const good = new RasAgent({ proposer: fixed([pp(0.1, 0.1), pp(0.3, 0.1)]), scorer: byX });
    const s = await runEpisodes(w, good, { episodes: 3, seed: 0 });
    expect(s).toEqual({ episodes: 3, success_rate: 1, mean_steps: 1, iou: 1, holds: 0 });
    const hold = new RasAgent({ proposer: fixed([pp(0.9, 0.1)]), scorer: byX });
    const h = await runEpisodes(w, hold, { episodes: 2, seed: 0 });
    expect(h.holds).toBe(2);
    expect(h.success_rate).toBe(0);
  });
});
