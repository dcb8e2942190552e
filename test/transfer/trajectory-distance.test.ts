import { describe, expect, it } from 'vitest';
import {
  type StateSequence,
  dtwDistance,
  dtwSegmentDistances,
  euclideanSegmentDistances,
  resampleSegment,
} from '../../src/transfer/index.ts';

const seq = (rows: number[][]): StateSequence => ({ states: Float64Array.from(rows.flat()), steps: rows.length, dim: rows[0]!.length });
const ramp = (steps: number, slope: number, offset = 0) => seq(Array.from({ length: steps }, (_, t) => [offset + (slope * t) / (steps - 1), 1]));

describe('segment distances', () => {
  const segs = [ramp(5, 1), ramp(9, 1), ramp(5, -1), ramp(7, 2, 0.5)];

  it.each([
    ['euclidean', () => euclideanSegmentDistances(segs)],
    ['dtw', () => dtwSegmentDistances(segs)],
  ])('%s: symmetric, zero diagonal, max 1', (_, f) => {
    const C = f();
    const n = segs.length;
    let mx = 0;
    for (let i = 0; i < n; i++) {
      expect(C[i * n + i]).toBe(0);
      for (let j = 0; j < n; j++) {
        expect(C[i * n + j]).toBe(C[j * n + i]);
        mx = Math.max(mx, C[i * n + j]!);
      }
    }
    expect(mx).toBe(1);
  });

  it('resampling makes the same motion at two frame rates coincide', () => {
    const C = euclideanSegmentDistances(segs, { samples: 9 });
    expect(C[0 * 4 + 1]).toBeCloseTo(0, 12);
    expect(C[0 * 4 + 2]).toBeGreaterThan(0.5);
  });

  it('resamples linearly', () => {
    expect(Array.from(resampleSegment(seq([[0], [2]]), 3))).toEqual([0, 1, 2]);
  });

  it('DTW absorbs a pause that Euclidean resampling does not', () => {
    const a = seq([[0], [1], [2], [3]]);
    const b = seq([[0], [0], [0], [1], [2], [3]]);
    expect(dtwDistance(a, b)).toBe(0);
    const C = euclideanSegmentDistances([a, b, seq([[3], [2], [1], [0]])], { standardize: false, normalize: 'none', samples: 4 });
    expect(C[1]).toBeGreaterThan(0);
  });

  it('refuses mixed dimensions and non-finite states, naming them', () => {
    expect(() => euclideanSegmentDistances([ramp(3, 1), seq([[1, 2, 3]])])).toThrow(/^segments\[1\]\.dim: expected 2/);
    expect(() => dtwSegmentDistances([ramp(3, 1), seq([[1, Number.NaN]])])).toThrow(/^segments\[1\]\.states\[0\]\[1\]: expected a finite number/);
    expect(() => dtwSegmentDistances([ramp(3, 1)])).toThrow(/^segments: expected at least 2 segments/);
  });
});

describe('crossSegmentDistances', () => {
  it('compares the shared columns only, without per-task standardisation', async () => {
    const { crossSegmentDistances } = await import('../../src/transfer/index.ts');
    const a = [seq([[0, 100], [1, 200]]), seq([[1, 5], [1, 5]])];
    const b = [seq([[7, 0], [7, 1]]), seq([[7, 1], [7, 1]]), seq([[9, 0], [9, 0]])];
    const M = crossSegmentDistances(a, b, [0], [1], { normalize: 'none', samples: 2 });
    expect(Array.from(M)).toEqual([0, 1, 1, 1, 0, Math.SQRT2]);
    expect(() => crossSegmentDistances(a, b, [0, 1], [1])).toThrow(/^sharedColumns/);
  });
});
