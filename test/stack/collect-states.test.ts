import { describe, expect, it } from 'vitest';
import type { Primitive } from '../../src/core/primitive.ts';
import { collectCandidateStates } from '../../src/stack/collect-states.ts';
import { composeDecider, expertProposer } from '../../src/stack/decider.ts';
import { resolveDeciderSpec } from '../../src/stack/decider-spec.ts';
import { createWorld } from '../../sim/index.ts';

describe('collectCandidateStates (label collection on the rollout loop)', () => {
  it("execute reward runs the decider's highest-scored candidate that the oracle could try, in real sim", async () => {
    const world = await createWorld('rope-circle', { stepLimit: 6 });
    // the oracle tries each candidate and restores the state; the collector's move is the last execute
    // before the next observation
    const executed: Primitive[] = [];
    let last: Primitive | null = null;
    const run = world.execute.bind(world);
    world.execute = (p, o) => {
      last = p;
      return run(p, o);
    };
    const restore = world.restoreState.bind(world);
    world.restoreState = (st) => {
      last = null;
      restore(st);
    };
    const observe = world.observe.bind(world);
    world.observe = (o) => {
      if (last) executed.push(last);
      last = null;
      return observe(o);
    };
    // a decider whose reward prefers the candidate whose place point lies furthest along +x
    const spec = resolveDeciderSpec({ policy: 'expert', noise: 0.05, candidates: 4, select: 'ras', reward: 'bt', rewardDir: '/unused' }, '.');
    const decider = composeDecider(spec, expertProposer(0.05), {
      name: 'place-x',
      score: (_cloud, p) => p.primitives.map((c) => ({ score: c.b[0] })),
    });
    try {
      const states = await collectCandidateStates(world, decider, { states: 3, seed: 41, execute: 'reward' });
      expect(states).toHaveLength(3);
      expect(states.map((s) => s.candidates.length)).toEqual([4, 4, 4]);
      expect(executed.length).toBeGreaterThanOrEqual(2);
      executed.forEach((p, k) => {
        const s = states[k]!;
        const ok = s.candidates.map((_, i) => i).filter((i) => Number.isFinite(s.oracle![i]!));
        const want = ok.reduce((b, i) => (s.candidates[i]!.b[0] > s.candidates[b]!.b[0] ? i : b), ok[0]!);
        expect(p).toEqual(s.candidates[want]);
      });
    } finally {
      world.dispose();
    }
  }, 60_000);

  it('execute best runs the oracle-best candidate and records each state once, ids by episode and step', async () => {
    const world = await createWorld('rope-circle', { stepLimit: 4 });
    const spec = resolveDeciderSpec({ policy: 'expert', noise: 0.03, candidates: 3, select: 'first' }, '.');
    const decider = composeDecider(spec, expertProposer(0.03), { name: 'first', score: (_c, p) => p.primitives.map((_, i) => ({ score: -i })) });
    try {
      const states = await collectCandidateStates(world, decider, { states: 5, seed: 7, execute: 'best' });
      expect(states).toHaveLength(5);
      expect(new Set(states.map((s) => s.stateId)).size).toBe(5);
      expect(states[0]!.stateId).toBe('rope-circle/s7/e0/t0');
      for (const s of states) expect(s.oracle!.some(Number.isFinite)).toBe(true);
    } finally {
      world.dispose();
    }
  }, 60_000);
});
