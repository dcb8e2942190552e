// Active choice of which states to label: wraps a state source and keeps the states the current reward is least sure of.
import type { CandidateState } from './dataset.ts';
import { candidateFeatures, type FeatureConfig } from './features.ts';
import type { RewardModel } from './reward-model.ts';

/** Where unlabelled decision states come from: `n` states for a seed (a recorded pool, or rollouts). */
export type StateSource = (n: number, seed: number) => Promise<CandidateState[]> | CandidateState[];

/** How unsure the current reward is about which of a state's candidates is best; higher = label it first. */
export type StateUncertainty = (s: CandidateState) => number;

/**
 * A robust reward's uncertainty at a state: the mean σ of its `top` highest-μ candidates, relative to
 * the spread of μ over all candidates (σ that cannot change the choice does not count).
 * @default top 3
 */
export function robustUncertainty(model: RewardModel, features: FeatureConfig, top = 3): StateUncertainty {
  if (model.config.model !== 'robust') throw new Error(`robustUncertainty: needs a robust reward model, received ${model.config.model}`);
  return (s) => {
    const sc = model.score(candidateFeatures(s.cloud, s.workspace, s.candidates, features));
    const mu = sc.map((x) => x.score);
    const order = mu.map((_, i) => i).sort((a, b) => mu[b]! - mu[a]!);
    const k = Math.min(top, order.length);
    let sig = 0;
    for (let j = 0; j < k; j++) sig += sc[order[j]!]!.std ?? 0;
    return sig / k / Math.max(1e-6, spread(mu));
  };
}

/**
 * Ensemble disagreement at a state: each member's candidate scores standardised within the state (a
 * reward's offset and scale are arbitrary), then the mean over candidates of their variance across members.
 */
export function ensembleUncertainty(models: RewardModel[], features: FeatureConfig): StateUncertainty {
  if (models.length < 2) throw new Error(`ensembleUncertainty: needs at least 2 reward models, received ${models.length}`);
  return (s) => {
    const rows = candidateFeatures(s.cloud, s.workspace, s.candidates, features);
    const z = models.map((m) => {
      const v = m.score(rows).map((x) => x.score);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const sd = Math.max(1e-6, spread(v));
      return v.map((x) => (x - mean) / sd);
    });
    let total = 0;
    for (let k = 0; k < s.candidates.length; k++) {
      const col = z.map((v) => v[k]!);
      const m = col.reduce((a, b) => a + b, 0) / col.length;
      total += col.reduce((a, b) => a + (b - m) ** 2, 0) / col.length;
    }
    return total / s.candidates.length;
  };
}

function spread(v: number[]): number {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
}

/** The `k` most uncertain states of `pool` (stable: ties keep pool order). */
export function mostUncertain(pool: CandidateState[], uncertainty: StateUncertainty, k: number): CandidateState[] {
  if (!Number.isInteger(k) || k < 0) throw new Error(`k: expected a non-negative integer, received ${k}`);
  const u = pool.map((s) => uncertainty(s));
  u.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new Error(`uncertainty of state ${pool[i]!.stateId}: expected a finite number, received ${v}`);
  });
  return pool
    .map((s, i) => ({ s, u: u[i]!, i }))
    .sort((a, b) => b.u - a.u || a.i - b.i)
    .slice(0, k)
    .map((x) => x.s);
}

/**
 * Active selection over a state source: draws `oversample`·n states from `base` and returns the n the
 * reward is least sure of (imitation's ActiveSelectionFragmenter, for states instead of segment pairs).
 * @default oversample 4
 */
export function activeStateSource(base: StateSource, uncertainty: StateUncertainty, oversample = 4): StateSource {
  if (!(oversample >= 1)) throw new Error(`oversample: expected a number ≥ 1, received ${oversample}`);
  return async (n, seed) => mostUncertain(await base(Math.ceil(n * oversample), seed), uncertainty, n);
}
