// DPO training data from recorded states and rankings, in the policy's object frame.
import type { Ranking } from '../core/preference.ts';
import type { Primitive } from '../core/primitive.ts';
import type { PolicyProcessor } from '../policy/processor.ts';
import { ACTION_DIM } from '../policy/config.ts';
import type { CandidateState } from './dataset.ts';
import type { DpoState } from './dpo.ts';
import { rankingToPairs } from './pairs.ts';

/**
 * One DpoState per ranked state: the processor's object-frame cloud, every strict pair of the
 * ranking (ideal ≻ candidate included) as object-frame actions, and the whole ranking as rows with
 * group indices (for the Plackett–Luce loss). Ties and not-comparable candidates
 * are not DPO pairs. States without a pair are dropped; a ranking of an unknown state is an error.
 */
export function dpoStatesFrom(
  states: CandidateState[],
  rankings: Ranking[],
  processor: PolicyProcessor,
  opts: { maxPairs?: number; kind?: number } = {},
): DpoState[] {
  const byId = new Map(states.map((s) => [s.stateId, s]));
  const out: DpoState[] = [];
  for (const r of rankings) {
    const s = byId.get(r.stateId);
    if (!s) throw new Error(`ranking for state ${r.stateId}: no such state in the states file`);
    const e = rankingToPairs(r, opts.maxPairs === undefined ? {} : { maxPairs: opts.maxPairs });
    if (e.pairs.length === 0) continue;
    const obs = processor.observation(s.cloud);
    const actions: Primitive[] = r.ideal ? [...s.candidates, r.ideal] : s.candidates;
    const { actions: rows } = processor.actionsToObject(actions, obs.frame);
    const row = (m: number | 'ideal') => {
      const i = m === 'ideal' ? s.candidates.length : m;
      return rows.slice(i * ACTION_DIM, (i + 1) * ACTION_DIM);
    };
    // the ranking as rows and group indices (an ideal that beats all is its own best group)
    const order: { m: number | 'ideal'; g: number }[] = [];
    const lift = r.idealBeatsAll && r.ideal ? 1 : 0;
    if (lift) order.push({ m: 'ideal', g: 0 });
    r.groups.forEach((grp, g) => grp.forEach((m) => order.push({ m, g: g + lift })));
    const ranked = { actions: new Float32Array(order.length * ACTION_DIM), group: Int32Array.from(order.map((o) => o.g)) };
    order.forEach((o, k) => ranked.actions.set(row(o.m), k * ACTION_DIM));
    const st: DpoState = { cloud: obs.points, pairs: e.pairs.map((p) => ({ winner: row(p.winner), loser: row(p.loser) })), ranked };
    if (opts.kind !== undefined) st.kind = opts.kind;
    out.push(st);
  }
  return out;
}
