// The regret teacher (Knox et al.): labels segments by regret instead of partial return.
import type { Rng } from '../core/rng.ts';
import { bprefLabel, TeacherConfigSchema, type SegmentStats, type SegmentTeacher, type TeacherConfig } from './teachers.ts';

/**
 * A segment as the regret teacher sees it: per-step rewards, and the optimal value of its first and
 * last state (V*(s₀), V*(s_T)); or per-step optimal advantages A*(s_t, a_t) where known.
 */
export interface RegretSegment {
  rewards: ArrayLike<number>;
  vStart: number;
  vEnd: number;
  /** A*(s_t, a_t) per step; when given, regret = −Σ A* (the general, stochastic form). */
  advantages?: ArrayLike<number>;
}

/**
 * Regret of a segment: −Σ A* when advantages are given, else the deterministic form
 * V*(s₀) − (Σ r + V*(s_T)). Optimal segments have regret 0; regret ≥ 0.
 */
export function segmentRegret(s: RegretSegment): number {
  if (s.advantages) {
    let a = 0;
    for (let t = 0; t < s.advantages.length; t++) a += s.advantages[t]!;
    return -a;
  }
  let r = 0;
  for (let t = 0; t < s.rewards.length; t++) r += s.rewards[t]!;
  return s.vStart - (r + s.vEnd);
}

/**
 * B-Pref's pipeline with the statistic −regret (so higher is better): P(right ≻ left) =
 * σ(β·(regret_left − regret_right)). Myopic γ weighs per-step advantages when given, otherwise it
 * has no per-step form and is ignored.
 */
export function regretTeacher(cfg: Partial<TeacherConfig> = {}, name = 'regret'): SegmentTeacher<RegretSegment> {
  const c = TeacherConfigSchema.parse(cfg);
  const stats = (s: RegretSegment): SegmentStats => {
    const total = -segmentRegret(s);
    if (!s.advantages || c.gamma === 1) return { total, weighted: total };
    let w = 0;
    const h = s.advantages.length;
    for (let t = 0; t < h; t++) w += Math.pow(c.gamma, h - 1 - t) * s.advantages[t]!;
    return { total, weighted: w };
  };
  return { name, label: (l, r, rng: Rng) => bprefLabel(stats(l), stats(r), c, rng) };
}
