import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrtMatmul, type OrtMatmul } from '../../src/nn/onnx-matmul.ts';
import { jsMatmulKernel } from '../../src/transfer/dense.ts';
import { entropicGromovWasserstein, gwRequestFrom, marginalErrors, solveGwRequest } from '../../src/transfer/index.ts';
import { loadPotFixtures, maxAbsDiff, problemOf } from './pot-fixtures.ts';

const fixtures = loadPotFixtures('entropic');
// POT's own plan is a coupling only where its inner Sinkhorn converged.
const converged = fixtures.filter((fx) => fx.pot_marginal_error.cols < 1e-8);

describe('entropicGromovWasserstein vs POT 0.8.2', () => {
  it('has fixtures of several sizes, both losses and some capped inner solves', () => {
    expect(converged.length).toBeGreaterThanOrEqual(4);
    expect(fixtures.some((fx) => fx.input.loss === 'kl_loss')).toBe(true);
    expect(fixtures.length - converged.length).toBeGreaterThanOrEqual(1);
  });

  it.each(converged.map((fx) => [fx.name, fx] as const))('%s: T within 1e-6, gw within 1e-6 relative', (_, fx) => {
    const r = entropicGromovWasserstein(problemOf(fx), { epsilon: fx.input.epsilon!, loss: fx.input.loss });
    expect(maxAbsDiff(r.T, fx.pot.T.flat())).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(r.gw - fx.pot.gw) / Math.abs(fx.pot.gw)).toBeLessThanOrEqual(1e-6);
    // POT logs one error per 10 outer iterations: same count of checks.
    expect(Math.ceil(r.iterations / 10) * 10).toBe(fx.pot.iterations);
  });

  it.each(fixtures.map((fx) => [fx.name, fx] as const))('%s: unprojected iterates are POT’s to 1e-9', (_, fx) => {
    const r = entropicGromovWasserstein(problemOf(fx), { epsilon: fx.input.epsilon!, loss: fx.input.loss, project: false });
    expect(maxAbsDiff(r.T, fx.pot.T.flat())).toBeLessThanOrEqual(1e-9);
  });

  it.each(fixtures.map((fx) => [fx.name, fx] as const))('%s: marginals hold to 1e-9 after the final projection', (_, fx) => {
    const prob = problemOf(fx);
    const r = entropicGromovWasserstein(prob, { epsilon: fx.input.epsilon!, loss: fx.input.loss });
    const e = marginalErrors(r.T, prob.p, prob.q);
    expect(e.rows).toBeLessThanOrEqual(1e-9);
    expect(e.cols).toBeLessThanOrEqual(1e-9);
    for (const x of r.T) expect(x).toBeGreaterThanOrEqual(0);
  });

  it('warm-started inner solves reach the same plan where POT converged', () => {
    for (const fx of converged) {
      const r = entropicGromovWasserstein(problemOf(fx), { epsilon: fx.input.epsilon!, loss: fx.input.loss, warmStart: true });
      expect(maxAbsDiff(r.T, fx.pot.T.flat())).toBeLessThanOrEqual(1e-6);
    }
  });

  it('inexact inner solves (innerTolerance) reach the same plan where POT converged', () => {
    for (const fx of converged) {
      for (const innerTolerance of [1e-3, 1e-2]) {
        const opts = { epsilon: fx.input.epsilon!, loss: fx.input.loss, warmStart: true, checkEvery: 1, innerTolerance };
        const r = entropicGromovWasserstein(problemOf(fx), opts);
        expect(r.converged).toBe(true);
        expect(maxAbsDiff(r.T, fx.pot.T.flat())).toBeLessThanOrEqual(1e-6);
      }
    }
  });

  it('Aitken extrapolation reaches the same plan where POT converged, in fewer outer steps', () => {
    for (const fx of converged) {
      for (const innerTolerance of [undefined, 1e-2]) {
        const opts = { epsilon: fx.input.epsilon!, loss: fx.input.loss, warmStart: true, checkEvery: 1, innerTolerance };
        const plain = entropicGromovWasserstein(problemOf(fx), opts);
        const r = entropicGromovWasserstein(problemOf(fx), { ...opts, extrapolate: true });
        expect(r.converged).toBe(true);
        expect(r.iterations).toBeLessThan(plain.iterations);
        expect(maxAbsDiff(r.T, fx.pot.T.flat())).toBeLessThanOrEqual(1e-6);
      }
    }
  });

  it('f32 products and adaptive over-relaxation reach the same plan and gw where POT converged, in fewer inner steps', () => {
    let plainInner = 0, fastInner = 0;
    for (const fx of converged) {
      const base = { epsilon: fx.input.epsilon!, loss: fx.input.loss, warmStart: true, checkEvery: 1, innerTolerance: 1e-2, extrapolate: true };
      const plain = entropicGromovWasserstein(problemOf(fx), base);
      const fast = entropicGromovWasserstein(problemOf(fx), { ...base, f32Products: true, adaptiveRelax: true });
      expect(fast.converged).toBe(true);
      expect(maxAbsDiff(fast.T, fx.pot.T.flat())).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(fast.gw - fx.pot.gw) / Math.abs(fx.pot.gw)).toBeLessThanOrEqual(1e-6);
      plainInner += plain.inner!.iterations;
      fastInner += fast.inner!.iterations;
      // f32 products alone: after the exact refresh the plan is the f64 run's to far below POT's tolerance
      const f32 = entropicGromovWasserstein(problemOf(fx), { ...base, f32Products: true });
      expect(maxAbsDiff(f32.T, plain.T)).toBeLessThanOrEqual(1e-9);
      expect(Math.abs(f32.gw - plain.gw) / Math.abs(plain.gw)).toBeLessThanOrEqual(1e-8);
    }
    expect(fastInner).toBeLessThan(0.6 * plainInner);
  });

  it.each(converged.map((fx) => [fx.name, fx] as const))('%s: the product default (pamstack gw, fast) is POT’s plan and gw within 1e-6', (_, fx) => {
    const { result } = solveGwRequest(gwRequestFrom(fx.input));
    expect(result.converged).toBe(true);
    expect(maxAbsDiff(result.T, fx.pot.T.flat())).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(result.gw - fx.pot.gw) / Math.abs(fx.pot.gw)).toBeLessThanOrEqual(1e-6);
    // the exact mode is POT's iterates (same check count as POT's log)
    const exact = solveGwRequest(gwRequestFrom(fx.input), { exact: true }).result;
    expect(Math.ceil(exact.iterations / 10) * 10).toBe(fx.pot.iterations);
  });

  describe('with the f32 products on ONNX Runtime (what pamstack gw and transfer run where it loads)', () => {
    let ort: OrtMatmul;
    beforeAll(async () => {
      // onnxruntime-node is a dependency installed by npm ci (.ci/run checks it loads): a missing one fails here
      ort = (await loadOrtMatmul(2))!;
      expect(ort).not.toBeNull();
    });
    afterAll(() => ort?.dispose());

    it('multiplies like the f64 kernel within f32 rounding, odd and empty shapes included', () => {
      for (const [n, k, m] of [[7, 13, 5], [1, 1, 1], [33, 64, 17], [0, 4, 3], [3, 0, 2]] as const) {
        const A = Float64Array.from({ length: n * k }, (_, i) => Math.sin(i + 1)), B = Float64Array.from({ length: k * m }, (_, i) => Math.cos(3 * i));
        const want = new Float64Array(n * m), got = new Float64Array(n * m).fill(NaN);
        jsMatmulKernel.matmul(A, B, want, n, k, m);
        ort.matmul(A, B, got, n, k, m);
        if (n * m) expect(maxAbsDiff(got, Array.from(want))).toBeLessThan(1e-5 * Math.max(1, k));
        else expect(got.length).toBe(0);
      }
    });

    it.each(converged.map((fx) => [fx.name, fx] as const))('%s: POT’s plan and gw within 1e-6', (_, fx) => {
      const { result } = solveGwRequest(gwRequestFrom(fx.input), { productKernel: ort });
      expect(result.converged).toBe(true);
      expect(maxAbsDiff(result.T, fx.pot.T.flat())).toBeLessThanOrEqual(1e-6);
      expect(Math.abs(result.gw - fx.pot.gw) / Math.abs(fx.pot.gw)).toBeLessThanOrEqual(1e-6);
    });
  });

  it('rejects a negative innerTolerance, naming it', () => {
    const fx = converged[0]!;
    expect(() => entropicGromovWasserstein(problemOf(fx), { epsilon: 0.1, innerTolerance: -1 })).toThrow(/innerTolerance/);
  });
});

describe('entropicGromovWasserstein', () => {
  it('recovers a permutation between a space and its relabelling', () => {
    // A graph metric relabelled by P: C2 = C1[P][:, P], so row P[j] of T must peak at column j.
    const fx = loadPotFixtures('cg').find((f) => f.permutation)!;
    const r = entropicGromovWasserstein(problemOf(fx), { epsilon: 0.005 });
    const n = r.n;
    fx.permutation!.forEach((pj, j) => {
      const row = Array.from(r.T.subarray(pj * n, pj * n + n));
      expect(row.indexOf(Math.max(...row))).toBe(j);
    });
  });

  it('stays finite with an epsilon that underflows exp(−M/ε) (where POT returns a zero plan)', () => {
    const fx = fixtures.find((f) => f.name.startsWith('entropic-40x40'))!;
    const prob = problemOf(fx);
    const r = entropicGromovWasserstein(prob, { epsilon: 1e-4, maxIter: 30 });
    for (const x of r.T) expect(Number.isFinite(x)).toBe(true);
    const e = marginalErrors(r.T, prob.p, prob.q);
    expect(Math.max(e.rows, e.cols)).toBeLessThanOrEqual(1e-9);
    expect(r.inner!.absorptions).toBeGreaterThan(0);
    expect(r.gw).toBeGreaterThan(0);
  });

  it('is deterministic', () => {
    const fx = fixtures[0]!;
    const a = entropicGromovWasserstein(problemOf(fx), { epsilon: fx.input.epsilon! });
    const b = entropicGromovWasserstein(problemOf(fx), { epsilon: fx.input.epsilon! });
    expect(Array.from(a.T)).toEqual(Array.from(b.T));
  });
});

describe('entropic fused GW', () => {
  const fx = fixtures.find((f) => f.name.startsWith('entropic-25x18'))!;
  const prob = problemOf(fx);
  const n = prob.p.length, m = prob.q.length;
  const M = new Float64Array(n * m).map((_, k) => Math.abs(Math.cos(k * 1.3)));

  it('with alpha = 1 is plain entropic GW', () => {
    const a = entropicGromovWasserstein(prob, { epsilon: fx.input.epsilon!, featureCost: M, alpha: 1 });
    const b = entropicGromovWasserstein(prob, { epsilon: fx.input.epsilon! });
    expect(maxAbsDiff(a.T, b.T)).toBeLessThanOrEqual(1e-15);
    expect(a.fgw).toBeCloseTo(b.gw, 14);
  });

  it('lowers the feature cost as alpha falls', () => {
    const dot = (T: Float64Array) => T.reduce((s, x, k) => s + x * M[k]!, 0);
    const hi = entropicGromovWasserstein(prob, { epsilon: 0.02, featureCost: M, alpha: 0.9 });
    const lo = entropicGromovWasserstein(prob, { epsilon: 0.02, featureCost: M, alpha: 0.1 });
    expect(dot(lo.T)).toBeLessThan(dot(hi.T));
  });

  it('refuses a feature cost of the wrong size or with NaN, and alpha outside [0, 1]', () => {
    expect(() => entropicGromovWasserstein(prob, { epsilon: 0.02, featureCost: M.subarray(2) })).toThrow(/^featureCost: expected an 25×18 matrix/);
    const bad = Float64Array.from(M);
    bad[20] = Number.NaN;
    expect(() => entropicGromovWasserstein(prob, { epsilon: 0.02, featureCost: bad })).toThrow(/^featureCost\[1\]\[2\]: expected a finite number, received NaN/);
    expect(() => entropicGromovWasserstein(prob, { epsilon: 0.02, featureCost: M, alpha: -1 })).toThrow(/^alpha: expected a number in \[0, 1\]/);
  });
});
