// Entropic OT (Sinkhorn–Knopp) with POT 0.8.2's iterates and stopping rule, stabilised by absorption.
//
// POT's `sinkhorn_knopp` iterates v = b ⊘ Kᵀu, u = a ⊘ Kv from u = 1/n with K = exp(−M/reg), and
// every 10th iteration stops once ‖colsums(T) − b‖₂ < stopThr. Here u = ũ·exp(α/reg),
// v = ṽ·exp(β/reg) and K̃ = exp((α ⊕ β − M)/reg): the same iterates in exact arithmetic, but the
// potentials α, β absorb whatever would underflow in exp(−M/reg), so small reg cannot zero the plan.

import { FieldError } from '../core/index.ts';
import { wasmKernels, wasmViews } from './wasm/kernels.ts';

/** Options of {@link sinkhornInto}. */
export interface SinkhornOptions {
  /** Iteration cap. @default 1000 (POT) */
  maxIter?: number;
  /** Stop when ‖colsums(T) − b‖₂ falls below this. @default 1e-9 (POT) */
  stopThr?: number;
  /** Check the stopping rule at iterations 0, k, 2k, … @default 10 (POT) */
  checkEvery?: number;
  /** Absorb the scalings into the potentials when one leaves [1/tau, tau]. @default 1e50 */
  tau?: number;
  /**
   * Row potentials α `[n]` to start from (u = exp(α/reg)) instead of POT's u = 1/n; they are
   * updated in place to the final ones, so the next solve can warm-start from them.
   */
  potentials?: Float64Array;
  /** Run the u-step sweep and the kernel's exps with the WebAssembly SIMD kernels where the runtime has them. @default true */
  simd?: boolean;
  /**
   * Over-relaxation ω in [1, 2), rounded to sixteenths: each scaling moves by the power ω of its plain
   * step, u ← u·(a ⊘ (u ⊙ Kv))^ω (the SIMD sweep forms the power from square roots). The same fixed
   * point, in fewer iterations near the best ω, but not POT's iterates; ω < 2 converges locally
   * (Thibault et al. 2021, "Overrelaxed Sinkhorn–Knopp"). {@link optimalRelaxation} picks ω from a
   * solve's {@link SinkhornReport.rate}. @default 1 (POT's plain steps)
   */
  relax?: number;
}

/** What one solve did. */
export interface SinkhornReport {
  iterations: number;
  /** ‖colsums(T) − b‖₂ at the last check. */
  error: number;
  converged: boolean;
  /** How often the scalings were absorbed into the potentials (each costs n·m exps). */
  absorptions: number;
  /**
   * The error's contraction per iteration, (e_last/e_first)^(1/iterations between) over the checks
   * from iteration {@link RATE_FROM} on; NaN with fewer than {@link RATE_MIN_SPAN} iterations between.
   */
  rate: number;
}

/** The rate estimate skips the first iterations' transient. */
export const RATE_FROM = 3;
/** Fewer iterations than this between the first and last check give no rate estimate. */
export const RATE_MIN_SPAN = 5;
/** Over-relaxation is rounded to 1/RELAX_STEPS (the SIMD sweep takes one square root per bit). */
const RELAX_STEPS = 16;

/**
 * The best ω for the next solve from one solved with `omega` at contraction `rate` (Young's SOR theory,
 * which holds for Sinkhorn's two-block alternation linearised at its fixed point): below the best ω the
 * rate λ exceeds ω − 1 and the plain rate is μ² = (λ + ω − 1)²/(λω²), so the best ω is 2/(1 + √(1 − μ²)).
 * At or above it λ = ω − 1 tells nothing more, so ω is shrunk by `shrink` towards 1 to look again.
 */
export function optimalRelaxation(omega: number, rate: number, shrink = 0.9): number {
  if (!(rate > 0 && rate < 1)) return omega;
  if (omega > 1 && rate <= 1.05 * (omega - 1)) return 1 + shrink * (omega - 1);
  const mu2 = Math.min((rate + omega - 1) ** 2 / (rate * omega * omega), 0.9999);
  return 2 / (1 + Math.sqrt(1 - mu2));
}


/** Row sums below this are treated as underflowed and recomputed in the log domain. */
const TINY = 1e-280;

/**
 * Writes the entropic plan diag(u)·K·diag(v) for cost M `[n, m]` and marginals a `[n]`, b `[m]` into
 * `out` `[n, m]` (also used as the kernel's storage). M is not modified.
 */
export function sinkhornInto(
  a: Float64Array,
  b: Float64Array,
  M: Float64Array,
  reg: number,
  out: Float64Array,
  options: SinkhornOptions = {},
): SinkhornReport {
  const n = a.length, m = b.length;
  const maxIter = options.maxIter ?? 1000;
  const stopThr = options.stopThr ?? 1e-9;
  const checkEvery = options.checkEvery ?? 10;
  const tau = options.tau ?? 1e50;
  const relaxIn = options.relax ?? 1;
  if (!(relaxIn >= 1 && relaxIn < 2)) throw new FieldError('relax', 'a number in [1, 2)', relaxIn);
  // q sixteenths above 1; the SIMD sweep wants them bit-reversed (its bit 0 is the ½ power)
  const q = Math.min(Math.round((relaxIn - 1) * RELAX_STEPS), RELAX_STEPS - 1);
  const relax = q > 0;
  const omega = 1 + q / RELAX_STEPS;
  const uOld = relax ? new Float64Array(n) : null;
  const relaxBits = ((q >> 3) & 1) | ((q >> 1) & 2) | ((q << 1) & 4) | ((q << 3) & 8);
  const alpha = options.potentials ?? new Float64Array(n).fill(reg * Math.log(1 / n));
  const beta = new Float64Array(m);
  // With the SIMD kernels, K, v, a, u, Kᵀu (and copies of M and the potentials, for the kernel's exps)
  // live in the module's memory, and T is written out at the end.
  const w = (options.simd ?? true) && n > 0 && m > 0 ? wasmKernels() : null;
  const wasm = w ? wasmViews(w, [n * m, m, n, n, m, n * m, n, m]) : null;
  const [K, v, aw, u, colAcc, Mw, alphaW, betaW] = wasm
    ? (wasm.views as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array])
    : [out, new Float64Array(m), a, new Float64Array(n), new Float64Array(m), M, alpha, beta];
  aw.set(a);
  if (Mw !== M) Mw.set(M);
  const rebuild = (): void => {
    if (w && wasm) {
      alphaW.set(alpha);
      betaW.set(beta);
      const [pK, , , , pc, pM, pA, pB] = wasm.ptrs as [number, number, number, number, number, number, number, number];
      w.expKernel(pA, pB, pM, pK, pc, n, m, reg);
      u.fill(1);
      v.fill(1);
    } else rebuildKernel(alpha, beta, M, reg, K, colAcc, u, v);
  };
  u.fill(1);
  v.fill(1);
  const colMax = new Float64Array(m);
  let absorptions = 0;

  // Start: β_j puts each column's largest kernel entry at 1, so Kᵀu cannot underflow at step one.
  for (let j = 0; j < m; j++) colMax[j] = -Infinity;
  for (let i = 0; i < n; i++) {
    const ai = alpha[i], o = i * m;
    for (let j = 0; j < m; j++) {
      const x = ai - M[o + j];
      if (x > colMax[j]) colMax[j] = x;
    }
  }
  for (let j = 0; j < m; j++) beta[j] = -colMax[j];
  rebuild();

  let err = Infinity;
  let rateErr = NaN, rateIt = 0;
  let it = 0;
  let converged = false;
  for (; it < maxIter; it++) {
    // v = b ⊘ Kᵀu (the first step plain even when over-relaxing: v = 1 at the start means nothing)
    let vBad = false;
    let vMax = 0, vMin = Infinity;
    for (let j = 0; j < m; j++) {
      const bj = b[j];
      if (bj > 0) {
        const c = colAcc[j];
        if (!(c > TINY)) {
          vBad = true;
          break;
        }
        const vo = v[j]!;
        const x = relax && it > 0 && vo > 0 ? vo * Math.pow(bj / (vo * c), omega) : bj / c;
        v[j] = x;
        if (x > vMax) vMax = x;
        if (x < vMin) vMin = x;
      } else v[j] = 0;
    }
    if (vBad || vMax > tau || vMin < 1 / tau) {
      absorb(u, alpha, reg);
      logStepV(alpha, beta, M, reg, b, colAcc, colMax);
      rebuild();
      absorptions++;
    }
    // u = a ⊘ Kv, accumulating the next Kᵀu while row i is hot.
    if (uOld) uOld.set(u);
    colAcc.fill(0);
    let uBad = false;
    let uMax = 0, uMin = Infinity;
    if (w && wasm) {
      const [pK, pv, pa, pu, pc] = wasm.ptrs as [number, number, number, number, number];
      uBad = w.sinkhornRows(pK, pv, pa, pu, pc, n, m, relaxBits) > 0;
      for (let i = 0; i < n; i++) {
        if (!(a[i]! > 0)) continue;
        const x = u[i]!;
        if (x > uMax) uMax = x;
        if (x < uMin) uMin = x;
      }
    } else for (let i = 0; i < n; i++) {
      const o = i * m;
      const ai = a[i];
      if (!(ai > 0)) {
        u[i] = 0;
        continue;
      }
      // four accumulators: the dot product is latency-bound with one
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      let j = 0;
      for (; j + 3 < m; j += 4) {
        s0 += K[o + j] * v[j];
        s1 += K[o + j + 1] * v[j + 1];
        s2 += K[o + j + 2] * v[j + 2];
        s3 += K[o + j + 3] * v[j + 3];
      }
      let s = s0 + s1 + (s2 + s3);
      for (; j < m; j++) s += K[o + j] * v[j];
      if (!(s > TINY)) {
        uBad = true;
        break;
      }
      const uo = u[i]!;
      const x = relax && uo > 0 ? uo * Math.pow(ai / (uo * s), omega) : ai / s;
      u[i] = x;
      if (x > uMax) uMax = x;
      if (x < uMin) uMin = x;
      for (j = 0; j + 3 < m; j += 4) {
        colAcc[j] += x * K[o + j];
        colAcc[j + 1] += x * K[o + j + 1];
        colAcc[j + 2] += x * K[o + j + 2];
        colAcc[j + 3] += x * K[o + j + 3];
      }
      for (; j < m; j++) colAcc[j] += x * K[o + j];
    }
    const uAbsorbed = uBad || uMax > tau || uMin < 1 / tau;
    if (uAbsorbed) {
      absorb(v, beta, reg);
      if (uBad) logStepU(alpha, beta, M, reg, a);
      else absorb(u, alpha, reg);
      rebuild();
      absorptions++;
    }
    if (it % checkEvery === 0) {
      let e = 0;
      for (let j = 0; j < m; j++) {
        const d = v[j] * colAcc[j] - b[j];
        e += d * d;
      }
      err = Math.sqrt(e);
      if (it >= RATE_FROM && Number.isNaN(rateErr)) {
        rateErr = err;
        rateIt = it;
      }
      // an over-relaxed u-step leaves row i's sum at a_i·(u_i/u_old_i)^(1 − 1/ω), not a_i: stop only
      // once the rows are within the threshold too (plain steps make them exact; after an absorption
      // the old u is in another frame, so that step cannot stop)
      if (err < stopThr && uOld && (uAbsorbed || !(rowError(a, u, uOld, 1 - 1 / omega) < stopThr))) continue;
      if (err < stopThr) {
        converged = true;
        break;
      }
    }
  }
  // T = diag(u)·K̃·diag(v) (in place without the SIMD kernels); leave the row potentials for a warm start.
  for (let i = 0; i < n; i++) {
    const ui = u[i]!, o = i * m;
    for (let j = 0; j < m; j++) out[o + j] = K[o + j]! * (ui * v[j]!);
  }
  if (options.potentials) absorb(u, alpha, reg); // exp(α/reg) is now the final u: the next solve starts from it
  const last = converged ? it : Math.floor((maxIter - 1) / checkEvery) * checkEvery;
  const span = last - rateIt;
  const rate = rateErr > 0 && span >= RATE_MIN_SPAN ? (err / rateErr) ** (1 / span) : NaN;
  return { iterations: converged ? it + 1 : maxIter, error: err, converged, absorptions, rate };
}

/** ‖rowsums − a‖₂ after an over-relaxed u-step from uOld to u (rows i: a_i·(u_i/uOld_i)^power). */
function rowError(a: Float64Array, u: Float64Array, uOld: Float64Array, power: number): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) {
    const uo = uOld[i]!;
    if (!(uo > 0) || !(a[i]! > 0)) continue;
    const d = a[i]! * (Math.pow(u[i]! / uo, power) - 1);
    e += d * d;
  }
  return Math.sqrt(e);
}

/** K̃ = exp((α_i + β_j − M_ij)/reg) with u = v = 1 absorbed; colAcc = K̃ᵀ·1. */
function rebuildKernel(
  alpha: Float64Array, beta: Float64Array, M: Float64Array, reg: number,
  K: Float64Array, colAcc: Float64Array, u: Float64Array, v: Float64Array,
): void {
  const n = alpha.length, m = beta.length;
  colAcc.fill(0);
  for (let i = 0; i < n; i++) {
    const ai = alpha[i], o = i * m;
    for (let j = 0; j < m; j++) {
      const x = Math.exp((ai + beta[j] - M[o + j]) / reg);
      K[o + j] = x;
      colAcc[j] += x;
    }
  }
  u.fill(1);
  v.fill(1);
}

/** potential += reg·log(scaling): the scaling's information moves into the potential. */
function absorb(scaling: Float64Array, potential: Float64Array, reg: number): void {
  for (let i = 0; i < scaling.length; i++) potential[i] += reg * Math.log(scaling[i]);
}

/** β_j = reg·log b_j − reg·LSE_i((α_i − M_ij)/reg): the v step done exactly in the log domain. */
function logStepV(
  alpha: Float64Array, beta: Float64Array, M: Float64Array, reg: number,
  b: Float64Array, colAcc: Float64Array, colMax: Float64Array,
): void {
  const n = alpha.length, m = beta.length;
  colMax.fill(-Infinity);
  for (let i = 0; i < n; i++) {
    const ai = alpha[i], o = i * m;
    if (ai === -Infinity) continue;
    for (let j = 0; j < m; j++) {
      const x = ai - M[o + j];
      if (x > colMax[j]) colMax[j] = x;
    }
  }
  colAcc.fill(0);
  for (let i = 0; i < n; i++) {
    const ai = alpha[i], o = i * m;
    if (ai === -Infinity) continue;
    for (let j = 0; j < m; j++) colAcc[j] += Math.exp((ai - M[o + j] - colMax[j]) / reg);
  }
  for (let j = 0; j < m; j++)
    beta[j] = b[j] > 0 ? reg * Math.log(b[j]) - colMax[j] - reg * Math.log(colAcc[j]) : -Infinity;
}

/** α_i = reg·log a_i − reg·LSE_j((β_j − M_ij)/reg): the u step done exactly in the log domain. */
function logStepU(alpha: Float64Array, beta: Float64Array, M: Float64Array, reg: number, a: Float64Array): void {
  const n = alpha.length, m = beta.length;
  for (let i = 0; i < n; i++) {
    if (!(a[i] > 0)) {
      alpha[i] = -Infinity;
      continue;
    }
    const o = i * m;
    let mx = -Infinity;
    for (let j = 0; j < m; j++) {
      const x = beta[j] - M[o + j];
      if (x > mx) mx = x;
    }
    let s = 0;
    for (let j = 0; j < m; j++) s += Math.exp((beta[j] - M[o + j] - mx) / reg);
    alpha[i] = reg * Math.log(a[i]) - mx - reg * Math.log(s);
  }
}
