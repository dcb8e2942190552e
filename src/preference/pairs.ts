// Rankings to preference pairs, as DeformPAM expands its "sort" annotations (best-of-remaining order).
import { FieldError } from '../core/errors.ts';
import type { Ranking } from '../core/preference.ts';

/** A pair member: a candidate index of the state, or the annotator-drawn ideal action. */
export type PairMember = number | 'ideal';

/** `winner` is preferred to `loser` at state `stateId`. */
export interface PreferencePair {
  stateId: string;
  winner: PairMember;
  loser: PairMember;
}

/** Everything a ranking says: strict pairs (DPO/BT training), ties and not-comparable kept as records. */
export interface ExpandedRanking {
  /** Strict preferences, in DeformPAM's order: widest group gap first, ideal ≻ candidate pairs last. */
  pairs: PreferencePair[];
  /** Candidates the annotator put in one group (equally good), as [a, b] with a < b. */
  ties: [number, number][];
  /** Candidates the annotator could not place; never part of a pair. */
  notComparable: number[];
}

/** @default maxPairs Infinity (DeformPAM caps the candidate pairs at 16 per ranking) */
export interface ExpandOptions {
  maxPairs?: number;
}

/**
 * Expands a ranking. Every candidate of an earlier group beats every candidate of a later group; the
 * last group may be the "rest, hard to distinguish" group. Pairs come widest gap first (DeformPAM: all
 * sorted ≻ rest, then sorted_i ≻ sorted_{i+d} for decreasing d), so a `maxPairs` cap keeps the most
 * certain ones. With `idealBeatsAll` and an ideal action, ideal ≻ every ranked candidate is appended
 * (not counted against the cap). Throws a FieldError when an index is out of range or repeated.
 */
export function rankingToPairs(r: Ranking, opts: ExpandOptions = {}): ExpandedRanking {
  checkRanking(r);
  const g = r.groups;
  const gaps: PreferencePair[] = [];
  for (let d = g.length - 1; d >= 1; d--) {
    for (let i = 0; i + d < g.length; i++) {
      for (const w of g[i]!) for (const l of g[i + d]!) gaps.push({ stateId: r.stateId, winner: w, loser: l });
    }
  }
  const cap = opts.maxPairs ?? Infinity;
  const pairs = gaps.slice(0, Number.isFinite(cap) ? cap : gaps.length);
  if (r.idealBeatsAll && r.ideal) {
    for (const grp of g) for (const c of grp) pairs.push({ stateId: r.stateId, winner: 'ideal', loser: c });
  }
  const ties: [number, number][] = [];
  for (const grp of g) {
    const s = [...grp].sort((a, b) => a - b);
    for (let i = 0; i < s.length; i++) for (let j = i + 1; j < s.length; j++) ties.push([s[i]!, s[j]!]);
  }
  return { pairs, ties, notComparable: [...r.notComparable] };
}

function checkRanking(r: Ranking): void {
  const seen = new Set<number>();
  const all = [...r.groups.flat(), ...r.notComparable];
  for (const i of all) {
    if (i >= r.candidateCount)
      throw new FieldError(`ranking ${r.stateId}: candidate index`, `0..${r.candidateCount - 1}`, i);
    if (seen.has(i)) throw new FieldError(`ranking ${r.stateId}: candidate index`, 'each index at most once', i);
    seen.add(i);
  }
}
