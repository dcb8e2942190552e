// Marginal checks and the final projection of a near-feasible plan onto Π(p, q).
import { colSumsInto, rowSumsInto } from './dense.ts';

/** max_i |Σ_j T_ij − p_i| and max_j |Σ_i T_ij − q_j| for T `[n, m]`. */
export function marginalErrors(T: Float64Array, p: Float64Array, q: Float64Array): { rows: number; cols: number } {
  const n = p.length, m = q.length;
  const r = rowSumsInto(T, n, m), c = colSumsInto(T, n, m);
  let rows = 0, cols = 0;
  for (let i = 0; i < n; i++) rows = Math.max(rows, Math.abs(r[i] - p[i]));
  for (let j = 0; j < m; j++) cols = Math.max(cols, Math.abs(c[j] - q[j]));
  return { rows, cols };
}

/**
 * Projects T `[n, m]` (non-negative) onto the couplings of p and q in place (Altschuler, Weed &
 * Rigollet 2017, Alg. 2): scale rows down to ≤ p, columns down to ≤ q, then add the rank-one
 * correction errᵣ·errᶜᵀ/‖errᵣ‖₁. Moves T by at most about its marginal error; marginals become exact
 * up to rounding. Returns T.
 */
export function projectToMarginals(T: Float64Array, p: Float64Array, q: Float64Array): Float64Array {
  const n = p.length, m = q.length;
  const r = rowSumsInto(T, n, m);
  for (let i = 0; i < n; i++) {
    const s = r[i] > p[i] && r[i] > 0 ? p[i] / r[i] : 1;
    if (s !== 1) for (let j = 0, o = i * m; j < m; j++) T[o + j] *= s;
  }
  const c = colSumsInto(T, n, m);
  const cs = new Float64Array(m);
  for (let j = 0; j < m; j++) cs[j] = c[j] > q[j] && c[j] > 0 ? q[j] / c[j] : 1;
  for (let i = 0; i < n; i++) for (let j = 0, o = i * m; j < m; j++) T[o + j] *= cs[j];
  rowSumsInto(T, n, m, r);
  colSumsInto(T, n, m, c);
  const er = new Float64Array(n), ec = new Float64Array(m);
  let mass = 0;
  for (let i = 0; i < n; i++) {
    er[i] = Math.max(0, p[i] - r[i]);
    mass += er[i];
  }
  for (let j = 0; j < m; j++) ec[j] = Math.max(0, q[j] - c[j]);
  if (mass > 0)
    for (let i = 0; i < n; i++) {
      const f = er[i] / mass;
      if (f !== 0) for (let j = 0, o = i * m; j < m; j++) T[o + j] += f * ec[j];
    }
  return T;
}
