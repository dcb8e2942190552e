import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { createWorld } from '../../sim/index.ts';
import type { Primitive } from '../../src/core/primitive.ts';
import { chooseExecuted, collectCandidateStates, noisyExpertProposer } from '../../src/preference/collect.ts';

describe('chooseExecuted (which candidate the collector runs to move on)', () => {
  const scores = [0.2, -Infinity, 0.5, 0.1];

  it('best, first and random never pick a refused candidate; all refused gives null', () => {
    const rng = new Rng(1);
    expect(chooseExecuted('best', scores, rng)).toBe(2);
    expect(chooseExecuted('first', [-Infinity, 0.3, 0.9], rng)).toBe(1);
    for (let i = 0; i < 200; i++) expect(chooseExecuted('random', scores, rng)).not.toBe(1);
    expect(chooseExecuted('mixed', [-Infinity, -Infinity], rng)).toBeNull();
  });

  it('mixed takes the best with even odds and otherwise a random executable one', () => {
    const rng = new Rng(7);
    const counts = [0, 0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) counts[chooseExecuted('mixed', scores, rng)!]!++;
    expect(counts[1]).toBe(0);
    // P(best) = 1/2 + 1/2 · 1/3; each other executable one 1/6
    expect(counts[2]! / n).toBeCloseTo(2 / 3, 1);
    expect(Math.abs(counts[0]! / n - 1 / 6)).toBeLessThan(0.02);
    expect(Math.abs(counts[3]! / n - 1 / 6)).toBeLessThan(0.02);
  });
});

describe('collectCandidateStates with execute: reward (the states a deployed reward visits)', () => {
  it('executes the selector\'s highest-scored candidate that the oracle could try, in real sim', async () => {
    const world = await createWorld('rope-circle', { stepLimit: 6 });
    // the first execute after each selection is the collector's move (the oracle's tries come before it)
    const executed: Primitive[] = [];
    let armed = false;
    const run = world.execute.bind(world);
    world.execute = (p, o) => {
      if (armed) executed.push(p);
      armed = false;
      return run(p, o);
    };
    try {
      // the selector prefers the candidate whose place point lies furthest along +x
      const states = await collectCandidateStates(world, {
        states: 3,
        seed: 41,
        candidates: 4,
        execute: 'reward',
        propose: noisyExpertProposer(0.05),
        select: (_cloud, cands) => {
          armed = true;
          return cands.map((c) => c.b[0]);
        },
      });
      expect(states).toHaveLength(3);
      expect(executed.length).toBeGreaterThanOrEqual(2);
      executed.forEach((p, k) => {
        const s = states[k]!;
        const ok = s.candidates.map((_, i) => i).filter((i) => Number.isFinite(s.oracle![i]!));
        const want = ok.reduce((b, i) => (s.candidates[i]!.b[0] > s.candidates[b]!.b[0] ? i : b), ok[0]!);
        expect(p).toEqual(s.candidates[want]);
      });
      await expect(collectCandidateStates(world, { states: 1, seed: 1, execute: 'reward', propose: noisyExpertProposer(0.05) })).rejects.toThrow(
        /execute 'reward' needs a select function/,
      );
    } finally {
      world.dispose();
    }
  }, 60_000);
});
