// Which recorded candidate a label collector runs to move on (the loop itself is the stack's rollout).
import type { Rng } from '../core/rng.ts';

/**
 * Which candidate the collector executes to move on: `best` by oracle (DeformPAM's operator chose
 * for rope), `random`, `first`, `mixed` (best or random with equal chance at each step: the states
 * cover both where the policy alone drifts and where a good selector leads, which is where RAS acts),
 * or `reward`: the decider's own choice, i.e. the states a deployed reward visits (on-policy labels for
 * the next reward).
 */
export type CollectExecute = 'best' | 'random' | 'first' | 'mixed' | 'reward';

/** The index of the candidate to execute (refused ones, score −Infinity, never), or null when all were refused. */
export function chooseExecuted(how: Exclude<CollectExecute, 'reward'>, scores: number[], rng: Rng): number | null {
  const ok = scores.map((s, i) => (Number.isFinite(s) ? i : -1)).filter((i) => i >= 0);
  if (ok.length === 0) return null;
  if (how === 'mixed') how = rng.next() < 0.5 ? 'best' : 'random';
  if (how === 'first') return ok[0]!;
  if (how === 'random') return ok[rng.int(ok.length)]!;
  return ok.reduce((b, i) => (scores[i]! > scores[b]! ? i : b), ok[0]!);
}

