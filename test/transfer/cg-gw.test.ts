import { describe, expect, it } from 'vitest';
import {
  cgGromovWasserstein,
  exactTransport,
  fusedGromovWasserstein,
  lineSearchQuadratic,
  marginalErrors,
} from '../../src/transfer/index.ts';
import { loadPotFixtures, maxAbsDiff, problemOf } from './pot-fixtures.ts';

const fixtures = loadPotFixtures('cg');

describe('cgGromovWasserstein vs POT 0.8.2', () => {
  it.each(fixtures.map((fx) => [fx.name, fx] as const))('%s: GW value no worse than POT’s', (_, fx) => {
    const prob = problemOf(fx);
    const r = cgGromovWasserstein(prob, { loss: fx.input.loss });
    expect(r.gw).toBeLessThanOrEqual(fx.pot.gw + 1e-9 * Math.max(1, Math.abs(fx.pot.gw)));
    const e = marginalErrors(r.T, prob.p, prob.q);
    expect(Math.max(e.rows, e.cols)).toBeLessThanOrEqual(1e-9);
  });

  it.each(fixtures.filter((fx) => fx.input.loss === 'square_loss').map((fx) => [fx.name, fx] as const))(
    '%s: square loss follows POT’s path (same plan, same iteration count)',
    (_, fx) => {
      const r = cgGromovWasserstein(problemOf(fx));
      expect(maxAbsDiff(r.T, fx.pot.T.flat())).toBeLessThanOrEqual(1e-9);
      expect(r.iterations).toBe(fx.pot.iterations);
    },
  );
});

describe('cgGromovWasserstein', () => {
  it('recovers the permutation of a relabelled space exactly', () => {
    for (const fx of [...fixtures, ...loadPotFixtures('entropic')].filter((f) => f.permutation)) {
      const prob = problemOf(fx);
      const r = cgGromovWasserstein(prob);
      const n = r.n;
      expect(Math.abs(r.gw)).toBeLessThan(1e-12);
      fx.permutation!.forEach((pj, j) => expect(r.T[pj * n + j]).toBeCloseTo(prob.p[pj]!, 12));
    }
  });
});

describe('fusedGromovWasserstein', () => {
  const fx = fixtures.find((f) => f.name === 'cg-30x25')!;
  const prob = problemOf(fx);
  const n = prob.p.length, m = prob.q.length;
  const M = new Float64Array(n * m).map((_, k) => Math.abs(Math.sin(k * 0.7)));

  it('with α = 1 is plain GW', () => {
    const f = fusedGromovWasserstein(prob, M, { alpha: 1 });
    const g = cgGromovWasserstein(prob);
    expect(maxAbsDiff(f.T, g.T)).toBeLessThanOrEqual(1e-12);
    expect(f.fgw).toBeCloseTo(g.gw, 12);
  });

  it('with α = 0 is exact OT of the feature cost', () => {
    const f = fusedGromovWasserstein(prob, M, { alpha: 0 });
    expect(f.featureCost).toBeCloseTo(exactTransport(prob.p, prob.q, M).cost, 12);
  });

  it('trades structure for features as α moves', () => {
    const lo = fusedGromovWasserstein(prob, M, { alpha: 0.1 });
    const hi = fusedGromovWasserstein(prob, M, { alpha: 0.9 });
    expect(lo.featureCost).toBeLessThanOrEqual(hi.featureCost + 1e-12);
    expect(hi.gw).toBeLessThanOrEqual(lo.gw + 1e-12);
  });

  it.each([
    [-0.1, 'alpha'],
    [1.5, 'alpha'],
    [Number.NaN, 'alpha'],
  ])('refuses alpha = %s', (alpha, field) => {
    expect(() => fusedGromovWasserstein(prob, M, { alpha })).toThrow(new RegExp(`^${field}: expected`));
  });

  it('refuses a feature cost of the wrong size', () => {
    expect(() => fusedGromovWasserstein(prob, M.subarray(1))).toThrow(/^M: expected an 30×25 feature cost/);
  });
});

describe('lineSearchQuadratic', () => {
  it.each([
    [1, -1, 0, 0.5],
    [1, 1, 0, 0],
    [1, -4, 0, 1],
    [-1, 0.5, 0, 1],
    [-1, 2, 0, 0],
  ])('a=%s b=%s c=%s → %s', (a, b, c, want) => expect(lineSearchQuadratic(a, b, c)).toBe(want));
});
