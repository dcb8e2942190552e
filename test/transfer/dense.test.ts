import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/index.ts';
import { colSumsInto, matmulImpl, rowSumsInto, transposeInto } from '../../src/transfer/index.ts';

describe('matmulImpl', () => {
  it.each([
    [1, 1, 1],
    [3, 5, 7],
    [4, 4, 4],
    [9, 300, 5],
    [17, 257, 13],
  ])('%s×%s · %s×… matches the naive product', (n, k, m) => {
    const rng = new Rng(n * 1000 + k * 10 + m);
    const A = new Float64Array(n * k).map(() => rng.uniform(-1, 1));
    const B = new Float64Array(k * m).map(() => rng.uniform(-1, 1));
    const C = new Float64Array(n * m).fill(Number.NaN); // overwritten, not accumulated into
    matmulImpl(A, B, C, n, k, m);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += A[i * k + p]! * B[p * m + j]!;
        expect(C[i * m + j]).toBeCloseTo(s, 12);
      }
  });
});

describe('reductions', () => {
  it('sums rows and columns and transposes', () => {
    const A = Float64Array.from([1, 2, 3, 4, 5, 6]);
    expect(Array.from(rowSumsInto(A, 2, 3))).toEqual([6, 15]);
    expect(Array.from(colSumsInto(A, 2, 3))).toEqual([5, 7, 9]);
    expect(Array.from(transposeInto(A, new Float64Array(6), 2, 3))).toEqual([1, 4, 2, 5, 3, 6]);
  });
});
