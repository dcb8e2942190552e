import { describe, expect, it } from 'vitest';
import { allPairs, transferPreferences } from '../../src/transfer/index.ts';

describe('transferPreferences', () => {
  it('returns the source labels through T = I/3 (the 1/n² objection to the unnormalised form)', () => {
    const T = new Float64Array(9);
    for (let i = 0; i < 3; i++) T[i * 3 + i] = 1 / 3;
    const source = [
      { first: 0, second: 1, y: 1 },
      { first: 1, second: 2, y: 0 },
      { first: 0, second: 2, y: 0.5 },
    ];
    const out = transferPreferences(T, 3, 3, source, allPairs(3));
    // allPairs(3): (0,1), (0,2), (1,2)
    expect(out.map((o) => o.y)).toEqual([1, 0.5, 0]);
    expect(out.map((o) => o.confidence)).toEqual([1, 0, 1]);
    out.forEach((o) => expect(o.support).toBeCloseTo(1, 12));
    // unnormalised: z/9
    expect(out.map((o) => o.unnormalized)).toEqual([1 / 9, 0.5 / 9, 0].map((x) => expect.closeTo(x, 15)));
  });

  it('follows a permutation coupling and flips reversed pairs', () => {
    // source i ↔ target perm[i]
    const perm = [2, 0, 3, 1];
    const T = new Float64Array(16);
    perm.forEach((j, i) => (T[i * 4 + j] = 0.25));
    const source = [
      { first: 0, second: 1, y: 1 }, // target 2 ≻ target 0
      { first: 2, second: 3, y: 0 }, // target 1 ≻ target 3
    ];
    const [a, b, c] = transferPreferences(T, 4, 4, source, [
      [2, 0],
      [0, 2],
      [3, 1],
    ]);
    expect(a!.y).toBe(1);
    expect(b!.y).toBe(0);
    expect(c!.y).toBe(0); // P(target 3 ≻ target 1) = P(source 2 ≻ source 3) = 0
  });

  it('averages conflicting coupled labels and lowers confidence', () => {
    // target 0 is coupled half to source 0, half to source 1; target 1 to source 2
    const T = Float64Array.from([0.25, 0, 0.25, 0, 0, 0.5]);
    const out = transferPreferences(T, 3, 2, [
      { first: 0, second: 2, y: 1 },
      { first: 1, second: 2, y: 0 },
    ], [[0, 1]]);
    expect(out[0]!.y).toBeCloseTo(0.5, 15);
    expect(out[0]!.confidence).toBeCloseTo(0, 15);
    expect(out[0]!.support).toBeCloseTo(1, 15);
  });

  it('gives 0.5 with no support when no labelled pair is coupled', () => {
    const T = Float64Array.from([0.5, 0, 0, 0.5]);
    const out = transferPreferences(T, 2, 2, [{ first: 0, second: 0, y: 1 }], [[1, 1]]);
    expect(out[0]).toMatchObject({ y: 0.5, confidence: 0, support: 0 });
  });

  it.each([
    [{ first: 5, second: 0, y: 1 }, /^source\[0\]\.first: expected an index in \[0, 2\)/],
    [{ first: 0, second: 1, y: 1.5 }, /^source\[0\]\.y: expected a probability in \[0, 1\]/],
    [{ first: 0, second: 1, y: Number.NaN }, /^source\[0\]\.y/],
  ])('refuses a bad source pair %o', (pair, message) => {
    expect(() => transferPreferences(new Float64Array(4), 2, 2, [pair], [[0, 1]])).toThrow(message);
  });

  it('refuses a coupling of the wrong size and out-of-range target pairs', () => {
    expect(() => transferPreferences(new Float64Array(3), 2, 2, [], [])).toThrow(/^T: expected an 2×2 coupling/);
    expect(() => transferPreferences(new Float64Array(4), 2, 2, [], [[0, 2]])).toThrow(/^targetPairs\[0\]/);
  });
});
