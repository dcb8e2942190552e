import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/index.ts';
import { exactTransport } from '../../src/transfer/index.ts';

function randomProblem(seed: number, n: number, m: number, zeros = 0) {
  const rng = new Rng(seed);
  const a = new Float64Array(n).map(() => rng.uniform(0.1, 1));
  const b = new Float64Array(m).map(() => rng.uniform(0.1, 1));
  for (let z = 0; z < zeros; z++) a[z * 3] = 0;
  const sa = a.reduce((s, x) => s + x, 0), sb = b.reduce((s, x) => s + x, 0);
  a.forEach((x, i) => (a[i] = x / sa));
  b.forEach((x, j) => (b[j] = x / sb));
  const M = new Float64Array(n * m).map(() => rng.uniform(0, 1));
  return { a, b, M };
}

describe('exactTransport', () => {
  it.each([
    [1, 1, 1, 0],
    [2, 1, 5, 0],
    [3, 7, 4, 0],
    [4, 30, 20, 2],
    [5, 80, 120, 5],
    // integer-like costs and equal weights: heavily degenerate pivots
    [6, 40, 40, 0],
  ])('seed %s, %s×%s: feasible, dual feasible, no duality gap', (seed, n, m, zeros) => {
    const { a, b, M } = randomProblem(seed, n, m, zeros);
    if (seed === 6) {
      a.fill(1 / n);
      b.fill(1 / m);
      M.forEach((x, k) => (M[k] = Math.round(x * 4)));
    }
    const r = exactTransport(a, b, M);
    expect(r.optimal).toBe(true);
    let dual = 0, minReduced = Infinity;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < m; j++) {
        const g = r.G[i * m + j]!;
        expect(g).toBeGreaterThanOrEqual(0);
        s += g;
        if (a[i]! > 0) minReduced = Math.min(minReduced, M[i * m + j]! - r.u[i]! - r.v[j]!);
      }
      expect(s).toBeCloseTo(a[i]!, 12);
      dual += a[i]! * r.u[i]!;
    }
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += r.G[i * m + j]!;
      expect(s).toBeCloseTo(b[j]!, 12);
      dual += b[j]! * r.v[j]!;
    }
    expect(minReduced).toBeGreaterThanOrEqual(-1e-12);
    expect(Math.abs(r.cost - dual)).toBeLessThan(1e-12);
  });

  it('finds the assignment of a permuted identity cost', () => {
    const n = 12;
    const perm = [3, 7, 0, 11, 5, 9, 1, 2, 10, 4, 8, 6];
    const M = new Float64Array(n * n).fill(1);
    perm.forEach((j, i) => (M[i * n + j] = 0));
    const w = new Float64Array(n).fill(1 / n);
    const r = exactTransport(w, w, M);
    expect(r.cost).toBe(0);
    perm.forEach((j, i) => expect(r.G[i * n + j]).toBeCloseTo(1 / n, 15));
  });
});
