// Entropic Gromov–Wasserstein: projected mirror descent with a Sinkhorn projection (POT 0.8.2's rules).
import { type MatmulKernel, frobeniusDot, outerInto } from './dense.ts';
import { defaultMatmulKernel, wasmF32MatmulKernel, wasmKernels } from './wasm/kernels.ts';
import { FieldError } from '../core/index.ts';
import { type GwLoss, type GwProblem, assertEpsilon, assertFinite, assertNonNegative, validateGwProblem } from './gw-problem.ts';
import { TrackedProduct, gwGradFromProductInto, gwLoss, gwLossFromProduct, gwProductInto, initGwTensor } from './gw-tensor.ts';
import { marginalErrors, projectToMarginals } from './marginals.ts';
import { type SinkhornOptions, optimalRelaxation, sinkhornInto } from './sinkhorn.ts';

/** Options of {@link entropicGromovWasserstein}; defaults are POT 0.8.2's. */
export interface EntropicGwOptions {
  /** Entropic regulariser ε > 0 (on POT's scale: the gradient carries the factor 2). */
  epsilon: number;
  /** @default 'square_loss' */
  loss?: GwLoss;
  /** Outer (mirror-descent) iteration cap. @default 1000 */
  maxIter?: number;
  /** Stop when ‖T − T_prev‖_F < tol at a checked iteration. @default 1e-9 */
  tol?: number;
  /** Check the outer stopping rule at iterations 0, k, 2k, … @default 10 */
  checkEvery?: number;
  /** The inner Sinkhorn's cap, threshold and check period. @default POT's (1000, 1e-9, 10) */
  sinkhorn?: Omit<SinkhornOptions, 'potentials'>;
  /**
   * Start each inner Sinkhorn from the previous one's potentials instead of POT's u = 1/n: the
   * same fixed points, far fewer inner iterations, but not POT's iterates when its Sinkhorn stops
   * at its cap. @default false
   */
  warmStart?: boolean;
  /**
   * Inexact inner solves: each Sinkhorn stops at max(its stopThr, innerTolerance·‖T − T_prev‖_F of
   * the last outer check), so early outer steps, far from the fixed point, stop their Sinkhorn early;
   * near the fixed point the threshold is the inner one again. Absent: always the inner stopThr
   * (POT's rule). Meant with warmStart, whose potentials carry the inner progress over. GW is not
   * convex: 0.1 and above sent 2 of the 6 POT fixtures to another local optimum; 0.01 kept all six.
   */
  innerTolerance?: number;
  /**
   * Aitken extrapolation of the outer fixed-point iteration: once three plain steps shrink ‖ΔT‖ by
   * a steady factor λ, the next gradient is taken at T + λ/(1 − λ)·ΔT (the product is linear in T,
   * so this costs no extra product). A step after an extrapolated one is always plain, and the run
   * only stops on a plain step. Needs checkEvery = 1 (otherwise ignored). @default false
   */
  extrapolate?: boolean;
  /**
   * Track the product h1(C1)·T·h2(C2)ᵀ by f32 products of each step's change ΔT (twice the f64
   * kernel's speed) with one exact f64 product once ‖ΔT‖ is small ({@link TrackedProduct}): the
   * same fixed point to ~1e-10, not POT's iterates. Needs WebAssembly SIMD or a `productKernel` (otherwise ignored).
   * @default false
   */
  f32Products?: boolean;
  /**
   * The float32 product kernel of `f32Products`. @default the WebAssembly SIMD f32 kernel; the commands
   * pass ONNX Runtime's (src/nn/onnx-matmul.ts) where it loads.
   */
  productKernel?: MatmulKernel;
  /**
   * Over-relax each inner Sinkhorn with the ω that the previous solves' contraction rates say is best
   * ({@link optimalRelaxation}), starting from `sinkhorn.relax` (or 1): the same fixed points in a
   * fraction of the inner iterations where Sinkhorn is slow (432, not 1810, at the bench's n = 500), not
   * POT's iterates. Best with checkEvery = 1 in `sinkhorn`, so each solve measures its rate. @default false
   */
  adaptiveRelax?: boolean;
  /** Project the final plan onto Π(p, q) exactly. @default true */
  project?: boolean;
  /** @default the WebAssembly SIMD kernel where available, else the plain-JS one */
  kernel?: MatmulKernel;
  /**
   * Fused GW: a cross-space feature cost `[n, m]`; the mirror-descent cost becomes
   * (1 − alpha)·M + alpha·∇E(T). Absent: plain GW.
   */
  featureCost?: Float64Array;
  /** Weight of the structure term with `featureCost`, in [0, 1]. @default 0.5 */
  alpha?: number;
}

/**
 * The product's entropic configuration (`pamstack gw`, `transfer`, the bench): warm-started, inexact
 * and over-relaxed inner Sinkhorns, Aitken-extrapolated outer steps and f32 products of each step's
 * change. Same fixed point as POT's iterates (within 1e-6 in T and gw on the golden fixtures where
 * POT's inner solves converge), in a fraction of their time; `exact` callers use POT's rules instead.
 * The inner Sinkhorn keeps POT's check period of 10: checking every sweep stops early solves sooner,
 * which sent the KL fixture to another local optimum (GW is not convex).
 */
export const FAST_ENTROPIC_GW = {
  warmStart: true,
  checkEvery: 1,
  innerTolerance: 0.01,
  extrapolate: true,
  f32Products: true,
  adaptiveRelax: true,
} as const satisfies Omit<EntropicGwOptions, 'epsilon'>;

/** The entropic options a caller gets: POT's exact iterates with `exact`, else {@link FAST_ENTROPIC_GW}. */
export function entropicGwMode(exact: boolean): Omit<EntropicGwOptions, 'epsilon'> {
  return exact ? {} : { ...FAST_ENTROPIC_GW };
}

/** Extrapolate only once ‖ΔT‖_F is below this fraction of ‖T‖_F. */
const EXTRAPOLATE_BELOW = 1e-2;
/**
 * f32Products: the exact f64 refresh comes at the first ‖ΔT‖_F below this fraction of ‖T‖_F (or
 * below F32_REFRESH_TOL·tol); the f32 error left after it is ~1e-7 of changes this small.
 */
const F32_REFRESH_BELOW = 1e-4;
const F32_REFRESH_TOL = 100;
/** adaptiveRelax's cap on ω (Sinkhorn's over-relaxation diverges at 2). */
const MAX_RELAX = 1.9;

/** A GW solve's plan, objective and diagnostics. */
export interface GwResult {
  /** coupling `[n, m]`, row-major */
  T: Float64Array;
  n: number;
  m: number;
  /** Σ L(C1_ik, C2_jl)·T_ij·T_kl of the returned T (no entropy term). */
  gw: number;
  /** outer iterations run */
  iterations: number;
  converged: boolean;
  /** max row and column marginal errors of the returned T */
  marginalError: { rows: number; cols: number };
  /** fused GW only: (1 − α)·⟨M, T⟩ + α·gw */
  fgw?: number;
  /** inner solver statistics (entropic) */
  inner?: { iterations: number; maxIterationsHit: number; absorptions: number };
}

/**
 * Entropic GW between (C1, p) and (C2, q): from T = p·qᵀ, repeat T ← Sinkhorn(p, q, 2·(L⊗T), ε),
 * checking ‖ΔT‖_F every `checkEvery` iterations. Cost per iteration O(n²m + nm²) plus the Sinkhorn.
 */
export function entropicGromovWasserstein(prob: GwProblem, options: EntropicGwOptions): GwResult {
  const [n, m] = validateGwProblem(prob);
  assertEpsilon(options.epsilon);
  const kappa = options.innerTolerance;
  if (kappa !== undefined && !(kappa >= 0 && Number.isFinite(kappa)))
    throw new FieldError('innerTolerance', 'a finite number ≥ 0', kappa);
  const loss = options.loss ?? 'square_loss';
  if (loss === 'kl_loss') {
    assertNonNegative('C1', prob.C1, n);
    assertNonNegative('C2', prob.C2, m);
  }
  const eps = options.epsilon;
  const maxIter = options.maxIter ?? 1000;
  const tol = options.tol ?? 1e-9;
  const checkEvery = options.checkEvery ?? 10;
  const kernel = options.kernel ?? defaultMatmulKernel();
  const { p, q } = prob;

  const tensor = initGwTensor(prob.C1, prob.C2, p, q, loss, kernel);
  let T: Float64Array = outerInto(p, q, new Float64Array(n * m));
  let Tprev: Float64Array = new Float64Array(n * m);
  const grad = new Float64Array(n * m);
  const tracked = options.f32Products && (options.productKernel || wasmKernels())
    ? new TrackedProduct(tensor, p, q, options.productKernel ?? wasmF32MatmulKernel, F32_REFRESH_BELOW, F32_REFRESH_TOL * tol)
    : null;
  const product = tracked ? tracked.product : new Float64Array(n * m);
  const M = options.featureCost;
  const alpha = options.alpha ?? 0.5;
  if (M) {
    if (M.length !== n * m) throw new FieldError('featureCost', `an ${n}×${m} matrix (length ${n * m})`, `length ${M.length}`);
    assertFinite('featureCost', M, m);
    if (!(alpha >= 0 && alpha <= 1)) throw new FieldError('alpha', 'a number in [0, 1]', alpha);
  }
  const potentials = options.warmStart ? new Float64Array(n).fill(eps * Math.log(1 / n)) : undefined;

  let omega = options.sinkhorn?.relax ?? 1;
  let cpt = 0;
  let err = 1;
  const inner = { iterations: 0, maxIterationsHit: 0, absorptions: 0 };
  // extrapolation state: the last product and the ‖ΔT‖ of the last plain steps (newest last)
  const extrapolate = (options.extrapolate ?? false) && checkEvery === 1;
  const prevProduct = extrapolate ? new Float64Array(n * m) : null;
  const plainErrs: number[] = [];
  let extrapolated = false;
  while ((err > tol || extrapolated) && cpt < maxIter) {
    [Tprev, T] = [T, Tprev];
    let c = 0;
    if (prevProduct) {
      if (extrapolated) plainErrs.length = 0;
      else if (cpt > 0) plainErrs.push(err);
      const k = plainErrs.length;
      if (k >= 3) {
        const l1 = plainErrs[k - 1]! / plainErrs[k - 2]!, l0 = plainErrs[k - 2]! / plainErrs[k - 3]!;
        // near the fixed point only: a far-off extrapolation can leave the basin (GW is not convex)
        const near = err < EXTRAPOLATE_BELOW * Math.sqrt(frobeniusDot(Tprev, Tprev));
        if (near && l1 > 0 && l1 < 0.9 && Math.abs(l1 - l0) < 0.05 * l1) c = l1 / (1 - l1);
      }
    }
    if (tracked) tracked.update(Tprev);
    else gwProductInto(tensor, Tprev, product);
    const cc = tensor.constC;
    if (c > 0) {
      const pp = prevProduct!;
      for (let i = 0; i < cc.length; i++) {
        const x = product[i]!;
        grad[i] = 2 * (cc[i]! - (x + c * (x - pp[i]!)));
        pp[i] = x;
      }
    } else {
      gwGradFromProductInto(tensor, product, grad);
      prevProduct?.set(product);
    }
    extrapolated = c > 0;
    if (M) for (let i = 0; i < grad.length; i++) grad[i] = (1 - alpha) * M[i] + alpha * grad[i];
    const innerThr = options.sinkhorn?.stopThr ?? 1e-9;
    const stopThr = options.innerTolerance === undefined ? innerThr : Math.max(innerThr, options.innerTolerance * err);
    const rep = sinkhornInto(p, q, grad, eps, T, { ...options.sinkhorn, stopThr, potentials, relax: omega });
    if (options.adaptiveRelax) omega = Math.min(optimalRelaxation(omega, rep.rate), MAX_RELAX);
    inner.iterations += rep.iterations;
    inner.absorptions += rep.absorptions;
    if (!rep.converged) inner.maxIterationsHit++;
    if (cpt % checkEvery === 0) {
      let s = 0;
      for (let i = 0; i < T.length; i++) {
        const d = T[i] - Tprev[i];
        s += d * d;
      }
      err = Math.sqrt(s);
    }
    cpt++;
  }
  if (options.project ?? true) projectToMarginals(T, p, q);
  // the tracked product is f64-accurate after its refresh, and T is one small step from its last plan
  const structure = tracked?.exact ? gwLossFromProduct(tensor, T, tracked.update(T)) : gwLoss(tensor, T);
  return {
    T,
    n,
    m,
    gw: structure,
    ...(M ? { fgw: (1 - alpha) * frobeniusDot(M, T) + alpha * structure } : {}),
    iterations: cpt,
    converged: err <= tol,
    marginalError: marginalErrors(T, p, q),
    inner,
  };
}
