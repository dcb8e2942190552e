// Conditional-gradient (Frank–Wolfe) GW and fused GW with exact line search, as POT 0.8.2's `cg`.
import { type MatmulKernel, frobeniusDot, outerInto } from './dense.ts';
import { defaultMatmulKernel } from './wasm/kernels.ts';
import { type GwLoss, type GwProblem, assertNonNegative, squareSize, validateGwProblem } from './gw-problem.ts';
import { type GwTensor, gwLoss, initGwTensor } from './gw-tensor.ts';
import type { GwResult } from './entropic-gw.ts';
import { marginalErrors } from './marginals.ts';
import { exactTransport } from './network-simplex.ts';
import { FieldError } from '../core/index.ts';

/** Options of {@link cgGromovWasserstein}; defaults are POT 0.8.2's `cg`. */
export interface CgGwOptions {
  /** @default 'square_loss' */
  loss?: GwLoss;
  /** Frank–Wolfe iteration cap (numItermax). @default 200 */
  maxIter?: number;
  /** Stop when |Δf|/|f| < stopThr. @default 1e-9 */
  stopThr?: number;
  /** Stop when |Δf| < stopThr2. @default 1e-9 */
  stopThr2?: number;
  /** Pivot cap of each exact OT solve (numItermaxEmd). @default 100000 */
  emdMaxIter?: number;
  /** @default the WebAssembly SIMD kernel where available, else the plain-JS one */
  kernel?: MatmulKernel;
}

/** A fused GW result: `gw` is the structure term, `fgw` = (1−α)⟨M, T⟩ + α·gw. */
export interface FusedGwResult extends GwResult {
  fgw: number;
  /** ⟨M, T⟩ */
  featureCost: number;
}

/**
 * GW by conditional gradient from T = p·qᵀ: linearise, solve the exact OT of the gradient, step by
 * the exact line search of the quadratic E(G + αΔ). Local: the result depends on the start.
 */
export function cgGromovWasserstein(prob: GwProblem, options: CgGwOptions = {}): GwResult {
  const [n, m] = validateGwProblem(prob);
  const loss = options.loss ?? 'square_loss';
  if (loss === 'kl_loss') {
    assertNonNegative('C1', prob.C1, n);
    assertNonNegative('C2', prob.C2, m);
  }
  const tensor = initGwTensor(prob.C1, prob.C2, prob.p, prob.q, loss, options.kernel ?? defaultMatmulKernel());
  const r = conditionalGradient(tensor, prob.p, prob.q, null, 1, options);
  return { ...r, gw: gwLoss(tensor, r.T) };
}

/**
 * Fused GW: min (1−α)·⟨M, T⟩ + α·E(T), M `[n, m]` a feature cost between the two spaces, α ∈ [0, 1]
 * (α = 1: plain GW; α = 0: plain OT). POT's `fused_gromov_wasserstein` with armijo=False.
 */
export function fusedGromovWasserstein(
  prob: GwProblem,
  M: Float64Array,
  options: CgGwOptions & { alpha?: number } = {},
): FusedGwResult {
  const [n, m] = validateGwProblem(prob);
  const alpha = options.alpha ?? 0.5;
  if (!(alpha >= 0 && alpha <= 1)) throw new FieldError('alpha', 'a number in [0, 1]', alpha);
  if (M.length !== n * m) throw new FieldError('M', `an ${n}×${m} feature cost (length ${n * m})`, `length ${M.length}`);
  for (let i = 0; i < M.length; i++)
    if (!Number.isFinite(M[i])) throw new FieldError(`M[${Math.floor(i / m)}][${i % m}]`, 'a finite number', M[i]);
  const loss = options.loss ?? 'square_loss';
  if (loss === 'kl_loss') {
    assertNonNegative('C1', prob.C1, squareSize('C1', prob.C1));
    assertNonNegative('C2', prob.C2, m);
  }
  const tensor = initGwTensor(prob.C1, prob.C2, prob.p, prob.q, loss, options.kernel ?? defaultMatmulKernel());
  const Mw = new Float64Array(M.length);
  for (let i = 0; i < M.length; i++) Mw[i] = (1 - alpha) * M[i];
  const r = conditionalGradient(tensor, prob.p, prob.q, Mw, alpha, options);
  const gw = gwLoss(tensor, r.T);
  const featureCost = frobeniusDot(M, r.T);
  return { ...r, gw, featureCost, fgw: (1 - alpha) * featureCost + alpha * gw };
}

/** POT's solve_1d_linesearch_quad: argmin over [0, 1] of a·x² + b·x + c. */
export function lineSearchQuadratic(a: number, b: number, c: number): number {
  if (a > 0) return Math.min(1, Math.max(0, -b / (2 * a)));
  return c > a + b + c ? 1 : 0;
}

/** Frank–Wolfe on ⟨M, G⟩ + reg·E(G); M may be null (zero). */
function conditionalGradient(
  t: GwTensor,
  p: Float64Array,
  q: Float64Array,
  M: Float64Array | null,
  reg: number,
  options: CgGwOptions,
): Omit<GwResult, 'gw'> {
  const { n, m } = t;
  const nm = n * m;
  const maxIter = options.maxIter ?? 200;
  const stopThr = options.stopThr ?? 1e-9;
  const stopThr2 = options.stopThr2 ?? 1e-9;
  const G = outerInto(p, q, new Float64Array(nm));
  // P_G = h1(C1)·G·h2(C2)ᵀ; for G = p·qᵀ it is the outer product (h1(C1)p)(h2(C2)q)ᵀ.
  const PG = new Float64Array(nm);
  {
    const hp = new Float64Array(n), hq = new Float64Array(m);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += t.hC1[i * n + k] * p[k];
      hp[i] = s;
    }
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let l = 0; l < m; l++) s += q[l] * t.hC2T[l * m + j];
      hq[j] = s;
    }
    outerInto(hp, hq, PG);
  }
  const lin = new Float64Array(nm); // M + reg·constC
  for (let i = 0; i < nm; i++) lin[i] = (M ? M[i] : 0) + reg * t.constC[i];
  const cost = () => frobeniusDot(lin, G) - reg * frobeniusDot(PG, G);
  const grad = new Float64Array(nm);
  const Y = new Float64Array(nm);
  const PD = new Float64Array(nm);
  const D = new Float64Array(nm);
  let fVal = cost();
  let it = 0;
  let converged = false;
  for (;;) {
    it++;
    const old = fVal;
    for (let i = 0; i < nm; i++) grad[i] = (M ? M[i] : 0) + 2 * reg * (t.constC[i] - PG[i]);
    const { G: Gc } = exactTransport(p, q, grad, { maxIter: options.emdMaxIter });
    // P_Gc = h1(C1)·(Gc·h2(C2)ᵀ), the sparse factor first: Gc has at most n + m − 1 non-zeros.
    Y.fill(0);
    for (let k = 0; k < n; k++)
      for (let l = 0; l < m; l++) {
        const g = Gc[k * m + l];
        if (g === 0) continue;
        const yo = k * m, ho = l * m;
        for (let j = 0; j < m; j++) Y[yo + j] += g * t.hC2T[ho + j];
      }
    t.kernel.matmul(t.hC1, Y, PD, n, n, m);
    for (let i = 0; i < nm; i++) {
      D[i] = Gc[i] - G[i];
      PD[i] -= PG[i];
    }
    // E(G + αΔ) − E(G) is exactly quadratic in α on Π(p, q).
    const a = -reg * frobeniusDot(PD, D);
    const b = frobeniusDot(lin, D) - reg * (frobeniusDot(PD, G) + frobeniusDot(PG, D));
    const alpha = lineSearchQuadratic(a, b, fVal);
    for (let i = 0; i < nm; i++) {
      G[i] += alpha * D[i];
      PG[i] += alpha * PD[i];
    }
    fVal = cost();
    const absDelta = Math.abs(fVal - old);
    if (absDelta / Math.abs(fVal) < stopThr || absDelta < stopThr2) converged = true;
    if (converged || it >= maxIter) break;
  }
  return { T: G, n, m, iterations: it, converged, marginalError: marginalErrors(G, p, q) };
}
