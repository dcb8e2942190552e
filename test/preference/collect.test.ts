import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { chooseExecuted } from '../../src/preference/collect.ts';

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
