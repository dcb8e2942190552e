// A Gromov–Wasserstein problem on Float64Array matrices: its types, defaults and input checks.
import { FieldError } from '../core/index.ts';

/** The two losses of POT's tensor decomposition: (a−b)² and a·log(a/b) − a + b. */
export type GwLoss = 'square_loss' | 'kl_loss';
export const GW_LOSSES: readonly GwLoss[] = ['square_loss', 'kl_loss'];

/**
 * Two metric-measure spaces: C1 `[n, n]`, C2 `[m, m]` (row-major, symmetric), marginals p `[n]`,
 * q `[m]` (non-negative, each summing to 1).
 */
export interface GwProblem {
  C1: Float64Array;
  C2: Float64Array;
  p: Float64Array;
  q: Float64Array;
}

/** How far a marginal's sum may stray from 1 (JSON decimals rarely sum exactly). */
export const MARGINAL_SUM_TOLERANCE = 1e-6;
/** Relative asymmetry |C_ik − C_ki| / max|C| refused above this. */
export const SYMMETRY_TOLERANCE = 1e-9;

/** Size n of a square matrix stored flat, or a FieldError naming it. */
export function squareSize(name: string, C: Float64Array): number {
  const n = Math.round(Math.sqrt(C.length));
  if (n * n !== C.length || n === 0)
    throw new FieldError(name, 'a non-empty square matrix (length n²)', `length ${C.length}`);
  return n;
}

/** Throws a FieldError naming the first non-finite entry of `x`. */
export function assertFinite(name: string, x: Float64Array, cols = 0): void {
  // three builtin scans first (fast before the JIT warms up); the loop below only names the entry
  if (!x.includes(NaN) && !x.includes(Infinity) && !x.includes(-Infinity)) return;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      const where = cols > 0 ? `${name}[${Math.floor(i / cols)}][${i % cols}]` : `${name}[${i}]`;
      throw new FieldError(where, 'a finite number', x[i]);
    }
  }
}

/** Throws a FieldError naming the first pair (i, k) with C_ik ≠ C_ki beyond the tolerance. */
export function assertSymmetric(name: string, C: Float64Array, n: number): void {
  let scale = 0;
  for (let i = 0; i < C.length; i++) scale = Math.max(scale, Math.abs(C[i]));
  const tol = SYMMETRY_TOLERANCE * Math.max(scale, 1e-300);
  for (let i = 0; i < n; i++)
    for (let k = i + 1; k < n; k++) {
      const a = C[i * n + k], b = C[k * n + i];
      if (Math.abs(a - b) > tol)
        throw new FieldError(`${name}[${i}][${k}]`, `a symmetric matrix (${name}[${k}][${i}] = ${b})`, a);
    }
}

/** Throws a FieldError unless `w` has `len` non-negative entries summing to 1 (±1e-6). */
export function assertMarginal(name: string, w: Float64Array, len: number, sizeOf: string): void {
  if (w.length !== len) throw new FieldError(name, `length ${len} (${sizeOf})`, `length ${w.length}`);
  assertFinite(name, w);
  let s = 0;
  for (let i = 0; i < len; i++) {
    if (w[i] < 0) throw new FieldError(`${name}[${i}]`, 'a non-negative weight', w[i]);
    s += w[i];
  }
  if (Math.abs(s - 1) > MARGINAL_SUM_TOLERANCE)
    throw new FieldError(name, `weights summing to 1 (±${MARGINAL_SUM_TOLERANCE})`, `sum ${s}`);
}

/** Checks a whole problem (shapes, finiteness, symmetry, marginals); returns its sizes [n, m]. */
export function validateGwProblem(prob: GwProblem, opts: { requireSymmetric?: boolean } = {}): [number, number] {
  const n = squareSize('C1', prob.C1);
  const m = squareSize('C2', prob.C2);
  assertFinite('C1', prob.C1, n);
  assertFinite('C2', prob.C2, m);
  if (opts.requireSymmetric ?? true) {
    assertSymmetric('C1', prob.C1, n);
    assertSymmetric('C2', prob.C2, m);
  }
  assertMarginal('p', prob.p, n, `C1 is ${n}×${n}`);
  assertMarginal('q', prob.q, m, `C2 is ${m}×${m}`);
  return [n, m];
}

/** Checks a KL-loss problem: a·log(a/b) needs C1, C2 ≥ 0. */
export function assertNonNegative(name: string, C: Float64Array, cols: number): void {
  for (let i = 0; i < C.length; i++)
    if (C[i] < 0)
      throw new FieldError(`${name}[${Math.floor(i / cols)}][${i % cols}]`, 'a non-negative entry (kl_loss)', C[i]);
}

/** Checks the entropic regulariser. */
export function assertEpsilon(epsilon: number): void {
  if (!(Number.isFinite(epsilon) && epsilon > 0)) throw new FieldError('epsilon', 'a finite number > 0', epsilon);
}
