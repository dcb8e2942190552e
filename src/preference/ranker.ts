// A scripted annotator for candidate rankings: DeformPAM's "sort" protocol driven by candidate scores.
import type { Ranking } from '../core/preference.ts';
import type { Primitive } from '../core/primitive.ts';
import type { Rng } from '../core/rng.ts';
import { TeacherConfigSchema, type TeacherConfig } from './teachers.ts';

/** Groups (best first) and not-comparable indices; null when the teacher skips the state. */
export interface RankResult {
  groups: number[][];
  notComparable: number[];
}

/** Ranks one state's candidates from their scores (higher is better; NaN = not comparable). */
export interface CandidateRanker {
  readonly name: string;
  rank(scores: ArrayLike<number>, rng: Rng): RankResult | null;
}

/**
 * The sort protocol with a B-Pref teacher's noise: repeatedly pick the best remaining candidate
 * (β > 0: Plackett–Luce draw ∝ exp(β·score); with probability `mistake` a uniformly random remaining
 * one instead) until the remaining scores lie within `equal` of each other, which then form the last
 * (tied, "hard to distinguish") group. Skips the state when max score ≤ `skip`. −Infinity scores
 * (refused candidates) rank last; NaN scores are not comparable. Myopic γ has no meaning for one step.
 */
export function scriptedRanker(cfg: Partial<TeacherConfig> = {}, name = 'scripted'): CandidateRanker {
  const c = TeacherConfigSchema.parse(cfg);
  return {
    name,
    rank(scores, rng) {
      const notComparable: number[] = [];
      let rest: number[] = [];
      for (let i = 0; i < scores.length; i++) (Number.isNaN(scores[i]!) ? notComparable : rest).push(i);
      if (rest.length === 0) return { groups: [], notComparable };
      const best = Math.max(...rest.map((i) => scores[i]!));
      if (c.skip !== null && best <= c.skip) return null;
      const groups: number[][] = [];
      while (rest.length > 0) {
        const finite = rest.filter((i) => Number.isFinite(scores[i]!));
        const vals = finite.map((i) => scores[i]!);
        if (rest.length === 1 || (c.equal > 0 && finite.length === rest.length && Math.max(...vals) - Math.min(...vals) < c.equal)) {
          groups.push([...rest].sort((a, b) => a - b));
          break;
        }
        let pick: number;
        if (c.mistake > 0 && rng.next() < c.mistake) pick = rest[rng.int(rest.length)]!;
        else if (c.beta > 0 && finite.length > 0) pick = plackettLuce(finite, scores, c.beta, rng);
        else pick = argmaxIdx(rest, scores);
        groups.push([pick]);
        rest = rest.filter((i) => i !== pick);
      }
      return { groups, notComparable };
    },
  };
}

function argmaxIdx(idx: number[], s: ArrayLike<number>): number {
  let b = idx[0]!;
  for (const i of idx) if (s[i]! > s[b]!) b = i;
  return b;
}

function plackettLuce(idx: number[], s: ArrayLike<number>, beta: number, rng: Rng): number {
  const m = Math.max(...idx.map((i) => s[i]!));
  const w = idx.map((i) => Math.exp(beta * (s[i]! - m)));
  let u = rng.next() * w.reduce((a, b) => a + b, 0);
  for (let k = 0; k < idx.length; k++) {
    u -= w[k]!;
    if (u <= 0) return idx[k]!;
  }
  return idx[idx.length - 1]!;
}

/** Wraps a rank result as a stored Ranking record (source `scripted`). */
export function scriptedRanking(
  stateId: string,
  candidateCount: number,
  r: RankResult,
  opts: { annotator: string; time: number; ideal?: Primitive; idealBeatsAll?: boolean },
): Ranking {
  return {
    kind: 'ranking',
    stateId,
    candidateCount,
    groups: r.groups,
    notComparable: r.notComparable,
    ...(opts.ideal ? { ideal: opts.ideal } : {}),
    idealBeatsAll: opts.idealBeatsAll ?? false,
    annotator: opts.annotator,
    source: 'scripted',
    time: opts.time,
  };
}
