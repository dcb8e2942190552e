// Reward-guided action selection: rank scored candidates, filter unsafe ones, fall back in order, or hold.
import type { Candidate } from '../core/episode.ts';
import type { WorkspaceBox } from '../core/geometry.ts';
import type { Primitive } from '../core/primitive.ts';
import type { Decision } from '../core/stages.ts';
import { safetyViolation, SafetyConfigSchema, type SafetyConfig } from './safety.ts';

/** A candidate's reward; `std` is its uncertainty (robust reward), used by the lower confidence bound. */
export interface CandidateScore {
  score: number;
  std?: number;
}

/**
 * @default safety SafetyConfigSchema defaults (table at z = 0, no clearance, no reach limit)
 * @default lcb 0 (rank by score − lcb·std; 0 ranks by the mean)
 */
export interface SelectOptions {
  workspace: WorkspaceBox;
  safety?: Partial<SafetyConfig>;
  lcb?: number;
  /** An extra veto, e.g. `world.checkPrimitive`: a reason string refuses the candidate. */
  check?: (p: Primitive) => string | null;
}

/** The value a candidate is ranked by: score − lcb·std (NaN scores rank last). */
export function rankingValue(s: CandidateScore, lcb = 0): number {
  const v = s.score - (lcb > 0 ? lcb * (s.std ?? 0) : 0);
  return Number.isNaN(v) ? -Infinity : v;
}

/**
 * Picks the best safe candidate. Candidates are tried from the highest ranking value down (ties by
 * index); the first that passes the safety filter and `check` is chosen. Every candidate in the
 * returned Decision carries its score, std, verdict and reason. With no safe candidate, `chosen` is
 * null and `holdReason` lists each candidate's reason.
 */
export function selectAction(candidates: Primitive[], scores: CandidateScore[], opts: SelectOptions): Decision {
  if (scores.length !== candidates.length)
    throw new Error(`scores: expected ${candidates.length} entries (one per candidate), received ${scores.length}`);
  const safety = SafetyConfigSchema.parse(opts.safety ?? {});
  const lcb = opts.lcb ?? 0;
  const out: Candidate[] = candidates.map((p, i) => {
    const s = scores[i]!;
    const reason = safetyViolation(p, opts.workspace, safety) ?? opts.check?.(p) ?? null;
    const c: Candidate = { primitive: p, score: s.score, safe: reason === null };
    if (s.std !== undefined) c.scoreStd = s.std;
    if (reason !== null) c.reason = reason;
    return c;
  });
  const order = selectionOrder(scores, lcb);
  for (const i of order) if (out[i]!.safe) return { candidates: out, chosen: i };
  if (candidates.length === 0) return { candidates: out, chosen: null, holdReason: 'no candidates were proposed' };
  const why = order.map((i) => `#${i}: ${out[i]!.reason}`).join('; ');
  return { candidates: out, chosen: null, holdReason: `hold: no safe candidate (${why})` };
}

/** The order in which candidates would be tried (highest ranking value first). */
export function selectionOrder(scores: CandidateScore[], lcb = 0): number[] {
  const order = scores.map((_, i) => i);
  return order.sort((i, j) => rankingValue(scores[j]!, lcb) - rankingValue(scores[i]!, lcb) || i - j);
}
