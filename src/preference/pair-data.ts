// Builds reward-model training data (PairData) from recorded states and their rankings.
import type { Ranking } from '../core/preference.ts';
import type { CandidateState } from './dataset.ts';
import { candidateFeatureDim, candidateFeatures, type FeatureConfig } from './features.ts';
import { rankingToPairs } from './pairs.ts';
import type { PairData } from './reward-model.ts';

/**
 * Candidate pairs (steps = 1) for BT / robust models: every strict pair of every ranking (ideal ≻
 * candidate included when the state's ideal is given), both orders so the model sees y = 1 and
 * y = 0, grouped by state for the held-out split. `ties` adds tied pairs with y = 0.5. `items` stores
 * each candidate's row once with pairs as indices (PairData.items) instead of a row per pair side.
 * Rankings whose state is missing are an error naming the state.
 */
export function candidatePairData(
  states: CandidateState[],
  rankings: Ranking[],
  cfg: FeatureConfig,
  opts: { maxPairs?: number; ties?: boolean; items?: boolean } = {},
): PairData & { states: number } {
  const byId = new Map(states.map((s) => [s.stateId, s]));
  const d = candidateFeatureDim(cfg);
  const left: Float32Array[] = [];
  const right: Float32Array[] = [];
  const ys: number[] = [];
  const groups: number[] = [];
  const used = new Map<string, number>();
  // with opts.items: each candidate row once, pairs as indices into them
  const itemRows: Float32Array[] = [];
  const leftIdx: number[] = [];
  const rightIdx: number[] = [];
  rankings.forEach((r) => {
    const s = byId.get(r.stateId);
    if (!s) throw new Error(`ranking for state ${r.stateId}: no such state in the states file`);
    const e = rankingToPairs(r, opts.maxPairs === undefined ? {} : { maxPairs: opts.maxPairs });
    const actions = r.ideal ? [...s.candidates, r.ideal] : s.candidates;
    const feats = candidateFeatures(s.cloud, s.workspace, actions, cfg);
    const row = (m: number | 'ideal') => {
      const i = m === 'ideal' ? s.candidates.length : m;
      return feats.subarray(i * d, (i + 1) * d);
    };
    if (!used.has(r.stateId)) used.set(r.stateId, used.size);
    const g = used.get(r.stateId)!;
    const first = itemRows.length;
    if (opts.items) for (let i = 0; i < actions.length; i++) itemRows.push(feats.subarray(i * d, (i + 1) * d));
    const item = (m: number | 'ideal') => first + (m === 'ideal' ? s.candidates.length : m);
    const push = (a: number | 'ideal', b: number | 'ideal', y: number) => {
      if (opts.items) {
        leftIdx.push(item(a));
        rightIdx.push(item(b));
      } else {
        left.push(row(a));
        right.push(row(b));
      }
      ys.push(y);
      groups.push(g);
    };
    for (const p of e.pairs) {
      push(p.winner, p.loser, 1);
      push(p.loser, p.winner, 0);
    }
    if (opts.ties) for (const [a, b] of e.ties) push(a, b, 0.5);
  });
  const P = ys.length;
  if (opts.items) {
    const rows = new Float32Array(itemRows.length * d);
    itemRows.forEach((r, i) => rows.set(r, i * d));
    const items = { rows, left: Int32Array.from(leftIdx), right: Int32Array.from(rightIdx) };
    const empty = new Float32Array(0);
    return { rowDim: d, steps: 1, left: empty, right: empty, y: Float32Array.from(ys), group: Int32Array.from(groups), states: used.size, items };
  }
  const L = new Float32Array(P * d);
  const R = new Float32Array(P * d);
  for (let i = 0; i < P; i++) {
    L.set(left[i]!, i * d);
    R.set(right[i]!, i * d);
  }
  return { rowDim: d, steps: 1, left: L, right: R, y: Float32Array.from(ys), group: Int32Array.from(groups), states: used.size };
}
