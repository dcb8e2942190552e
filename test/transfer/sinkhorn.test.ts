import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/index.ts';
import { marginalErrors, optimalRelaxation, projectToMarginals, sinkhornInto } from '../../src/transfer/index.ts';

function problem(n: number, m: number, seed: number) {
  const rng = new Rng(seed);
  const a = new Float64Array(n).map(() => rng.uniform(0.2, 1));
  const b = new Float64Array(m).map(() => rng.uniform(0.2, 1));
  const sa = a.reduce((s, x) => s + x, 0), sb = b.reduce((s, x) => s + x, 0);
  a.forEach((x, i) => (a[i] = x / sa));
  b.forEach((x, j) => (b[j] = x / sb));
  const M = new Float64Array(n * m).map(() => rng.uniform(0, 1));
  return { a, b, M };
}

describe('sinkhornInto', () => {
  it('converges to a plan with both marginals', () => {
    const { a, b, M } = problem(20, 30, 1);
    const T = new Float64Array(600);
    const r = sinkhornInto(a, b, M, 0.05, T);
    expect(r.converged).toBe(true);
    expect(r.error).toBeLessThan(1e-9);
    const e = marginalErrors(T, a, b);
    expect(Math.max(e.rows, e.cols)).toBeLessThan(1e-9);
  });

  it.each([[1.5, 1], [1.75, 2], [1.3125, 3]])('over-relaxed (ω = %s) reaches the plain plan with both marginals, in fewer iterations', (omega, seed) => {
    const { a, b, M } = problem(30, 25, seed);
    const T1 = new Float64Array(750), T2 = new Float64Array(750), T3 = new Float64Array(750);
    const plain = sinkhornInto(a, b, M, 0.01, T1, { checkEvery: 1, maxIter: 5000 });
    const relaxed = sinkhornInto(a, b, M, 0.01, T2, { checkEvery: 1, maxIter: 5000, relax: omega });
    expect(relaxed.converged).toBe(true);
    expect(relaxed.iterations).toBeLessThan(plain.iterations);
    const e = marginalErrors(T2, a, b);
    expect(Math.max(e.rows, e.cols)).toBeLessThan(1e-9); // rows too: a relaxed u-step does not make them exact
    for (let k = 0; k < T1.length; k++) expect(Math.abs(T2[k]! - T1[k]!)).toBeLessThan(1e-8);
    // the plain-JS sweep takes the same relaxed steps (pow, not square roots: equal to rounding)
    const js = sinkhornInto(a, b, M, 0.01, T3, { checkEvery: 1, maxIter: 5000, relax: omega, simd: false });
    expect(Math.abs(js.iterations - relaxed.iterations)).toBeLessThanOrEqual(1);
    for (let k = 0; k < T1.length; k++) expect(Math.abs(T3[k]! - T2[k]!)).toBeLessThan(1e-10);
  });

  it('reports its contraction rate, and the ω fitted to it beats plain steps', () => {
    const { a, b, M } = problem(30, 25, 4);
    const T = new Float64Array(750);
    const plain = sinkhornInto(a, b, M, 0.01, T, { checkEvery: 1, maxIter: 5000 });
    expect(plain.rate).toBeGreaterThan(0);
    expect(plain.rate).toBeLessThan(1);
    const omega = optimalRelaxation(1, plain.rate);
    expect(omega).toBeGreaterThan(1);
    expect(omega).toBeLessThan(2);
    expect(sinkhornInto(a, b, M, 0.01, T, { checkEvery: 1, maxIter: 5000, relax: omega }).iterations).toBeLessThan(plain.iterations);
    // too few checks for a rate: NaN, and optimalRelaxation keeps ω
    expect(sinkhornInto(a, b, new Float64Array(750), 0.1, T).rate).toBeNaN();
    expect(optimalRelaxation(1.3, Number.NaN)).toBe(1.3);
  });

  it('rejects an over-relaxation outside [1, 2), naming it', () => {
    const { a, b, M } = problem(3, 3, 5);
    for (const relax of [0.5, 2, Number.NaN]) expect(() => sinkhornInto(a, b, M, 0.1, new Float64Array(9), { relax })).toThrow(/relax/);
  });

  it('matches the closed form for a rank-one kernel (M = 0 gives a·bᵀ)', () => {
    const { a, b } = problem(5, 4, 2);
    const T = new Float64Array(20);
    sinkhornInto(a, b, new Float64Array(20), 0.1, T);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 4; j++) expect(T[i * 4 + j]).toBeCloseTo(a[i]! * b[j]!, 15);
  });

  it('survives a regulariser so small that exp(−M/reg) underflows everywhere', () => {
    const { a, b, M } = problem(15, 15, 3);
    for (let k = 0; k < M.length; k++) M[k]! += 5; // exp(−5/1e-3) = 0 in double precision
    const T = new Float64Array(225);
    const r = sinkhornInto(a, b, M, 1e-3, T, { maxIter: 3000 });
    for (const x of T) expect(Number.isFinite(x)).toBe(true);
    expect(r.absorptions).toBeGreaterThan(0);
    const e = marginalErrors(T, a, b);
    expect(e.rows).toBeLessThan(1e-12); // rows are exact after each u step
  });

  it('hands its final potentials to the next solve (warm start) and then needs fewer iterations', () => {
    const { a, b, M } = problem(30, 30, 4);
    const T = new Float64Array(900);
    const potentials = new Float64Array(30).fill(0.02 * Math.log(1 / 30));
    const cold = sinkhornInto(a, b, M, 0.02, T, { potentials });
    const warm = sinkhornInto(a, b, M, 0.02, T, { potentials });
    expect(warm.iterations).toBeLessThan(cold.iterations);
  });
});

describe('projectToMarginals', () => {
  it('makes an infeasible non-negative plan a coupling, moving it by about its error', () => {
    const { a, b } = problem(8, 6, 5);
    const rng = new Rng(9);
    const T = new Float64Array(48).map((_, k) => a[Math.floor(k / 6)]! * b[k % 6]! * (1 + 0.01 * rng.uniform(-1, 1)));
    const before = Float64Array.from(T);
    projectToMarginals(T, a, b);
    const e = marginalErrors(T, a, b);
    expect(Math.max(e.rows, e.cols)).toBeLessThan(1e-15);
    for (let k = 0; k < 48; k++) {
      expect(T[k]).toBeGreaterThanOrEqual(0);
      expect(Math.abs(T[k]! - before[k]!)).toBeLessThan(0.02 * before[k]! + 1e-3);
    }
  });
});
