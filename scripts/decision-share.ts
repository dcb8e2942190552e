// The one-step quality of a choice among candidates, shared by the selection studies.

/**
 * The chosen candidate's true gain over the candidates' mean, as a share of the best candidate's (1: the
 * best, 0: no better than average). Refused candidates (non-finite scores) are left out; null where the
 * pick was refused or the candidates hardly differ.
 */
export function shareOfBestGain(truth: number[], pick: number | null): number | null {
  const tried = truth.filter(Number.isFinite);
  if (pick === null || !Number.isFinite(truth[pick]) || tried.length === 0) return null;
  const mean = tried.reduce((s, v) => s + v, 0) / tried.length;
  const best = Math.max(...tried);
  return best - mean > 1e-6 ? (truth[pick]! - mean) / (best - mean) : null;
}
