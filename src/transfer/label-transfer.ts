// PEARL's cross-preference alignment (CPA): target segment-pair labels from source labels through a coupling.
import { FieldError } from '../core/index.ts';

/** A labelled pair of source segments: `y` = P(first ≻ second) in [0, 1] (0.5: equally good). */
export interface IndexedPreference {
  first: number;
  second: number;
  y: number;
}

/** A transferred label for target pair (first, second). */
export interface TransferredPreference extends IndexedPreference {
  /**
   * |2y − 1|: how one-sided the coupled source labels are (0: they cancel out, 1: unanimous).
   */
  confidence: number;
  /**
   * Σ_k (w_k + w'_k) / (q_first·q_second): the share of the target pair's coupled mass that lands on
   * labelled source pairs (0: no labelled source pair is coupled to it).
   */
  support: number;
  /** PEARL's unnormalised label Σ_k (w_k·y_k + w'_k·(1 − y_k)), which shrinks like 1/n². */
  unnormalized: number;
}

/**
 * Labels target pairs from labelled source pairs through a coupling T `[M, N]` (source rows, target
 * columns), in the normalised form of research/pearl-gw.md §2:
 *   w_k = T[a_k, j]·T[b_k, l],  w'_k = T[b_k, j]·T[a_k, l],
 *   ŷ(j, l) = Σ_k (w_k·y_k + w'_k·(1 − y_k)) / Σ_k (w_k + w'_k).
 * A pair whose weights all vanish gets ŷ = 0.5, confidence 0, support 0. Cost O(K) per target pair.
 */
export function transferPreferences(
  T: Float64Array,
  M: number,
  N: number,
  source: readonly IndexedPreference[],
  targetPairs: readonly (readonly [number, number])[],
): TransferredPreference[] {
  if (T.length !== M * N) throw new FieldError('T', `an ${M}×${N} coupling (length ${M * N})`, `length ${T.length}`);
  source.forEach((s, k) => {
    if (!(Number.isInteger(s.first) && s.first >= 0 && s.first < M)) throw new FieldError(`source[${k}].first`, `an index in [0, ${M})`, s.first);
    if (!(Number.isInteger(s.second) && s.second >= 0 && s.second < M)) throw new FieldError(`source[${k}].second`, `an index in [0, ${M})`, s.second);
    if (!(s.y >= 0 && s.y <= 1)) throw new FieldError(`source[${k}].y`, 'a probability in [0, 1]', s.y);
  });
  const q = new Float64Array(N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) q[j] += T[i * N + j];
  return targetPairs.map(([j, l], t) => {
    if (!(Number.isInteger(j) && j >= 0 && j < N && Number.isInteger(l) && l >= 0 && l < N))
      throw new FieldError(`targetPairs[${t}]`, `two indices in [0, ${N})`, [j, l]);
    let num = 0, den = 0;
    for (const { first: a, second: b, y } of source) {
      const w = T[a * N + j] * T[b * N + l];
      const w2 = T[b * N + j] * T[a * N + l];
      num += w * y + w2 * (1 - y);
      den += w + w2;
    }
    const yHat = den > 0 ? num / den : 0.5;
    const mass = q[j] * q[l];
    return {
      first: j,
      second: l,
      y: yHat,
      confidence: den > 0 ? Math.abs(2 * yHat - 1) : 0,
      support: mass > 0 ? Math.min(1, den / mass) : 0,
      unnormalized: num,
    };
  });
}

/** Every unordered pair (j, l), j < l, of n segments. */
export function allPairs(n: number): [number, number][] {
  const out: [number, number][] = [];
  for (let j = 0; j < n; j++) for (let l = j + 1; l < n; l++) out.push([j, l]);
  return out;
}
