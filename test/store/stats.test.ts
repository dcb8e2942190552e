// Krippendorff's α over rankings and the fractional rank positions it uses; worked by hand below.
import { describe, expect, it } from 'vitest';
import { krippendorffAlphaInterval, rankPositions } from '../../src/store/stats.ts';

const rank = (groups: number[][], notComparable: number[] = []) => ({ kind: 'rank' as const, groups, notComparable, idealBeatsAll: false });

describe("Krippendorff's α (interval)", () => {
  it.each([
    ['perfect agreement', [[1, 1], [2, 2], [3, 3]], 1],
    // Values {1,2,2,1}: D_o = (1/4)(2 + 2) = 1; D_e = (2·4·10 − 2·36) / (4·3) = 2/3; α = 1 − 3/2.
    ['two coders swapped', [[1, 2], [2, 1]], -0.5],
    // Units with one value are not pairable and change nothing.
    ['an unpairable unit ignored', [[1, 2], [2, 1], [7]], -0.5],
  ])('%s', (_what, units, alpha) => {
    expect(krippendorffAlphaInterval(units)).toBeCloseTo(alpha, 12);
  });

  it('is null without a pairable unit', () => {
    expect(krippendorffAlphaInterval([[1], []])).toBeNull();
  });
});

describe('rank positions', () => {
  it('spreads groups over [0, 1], ties share the mean position, the unplaced rest ties last, not comparable is missing', () => {
    // 5 candidates: 2 best, then 0 = 4 tied, then the rest (1), 3 not comparable.
    expect(rankPositions(rank([[2], [0, 4]], [3]), 5)).toEqual([0.5, 1, 0, undefined, 0.5]);
  });
});
