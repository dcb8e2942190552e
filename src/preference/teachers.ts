// Scripted segment teachers in B-Pref's style (oracle, Boltzmann β, mistake ε, skip, equal, myopic γ).
import { z } from 'zod';
import type { SegmentLabel } from '../core/preference.ts';
import type { Rng } from '../core/rng.ts';

/**
 * A scripted teacher's parameters (B-Pref `get_label`, in its order):
 * 1. skip the query when max(ΣR₁, ΣR₂) ≤ `skip` (undiscounted sums);
 * 2. mark "equal" when |ΣR₁ − ΣR₂| < `equal` (undiscounted);
 * 3. myopic: step t of an H-step segment weighs γ^(H−1−t);
 * 4. `beta` ≤ 0: rational label; > 0: right preferred with probability σ(β·(R₂ − R₁));
 * 5. flip with probability `mistake`;
 * 6. equal-marked pairs become ties (after the flip).
 */
export const TeacherConfigSchema = z.strictObject({
  /** Boltzmann rationality; ≤ 0 means a perfectly rational teacher. @default -1 */
  beta: z.number().default(-1),
  /** Myopic discount in (0, 1]; 1 means not myopic. @default 1 */
  gamma: z.number().gt(0).max(1).default(1),
  /** Probability of flipping the label. @default 0 */
  mistake: z.number().min(0).max(1).default(0),
  /** Skip threshold on max(ΣR₁, ΣR₂); null never skips. @default null */
  skip: z.number().nullable().default(null),
  /** Equal threshold on |ΣR₁ − ΣR₂|; 0 never calls a tie. @default 0 */
  equal: z.number().min(0).default(0),
});
export type TeacherConfig = z.infer<typeof TeacherConfigSchema>;

/** What a scripted teacher answers: a segment label, or `skip` (the query is not asked). */
export type TeacherLabel = Exclude<SegmentLabel, 'cant_tell'> | 'skip';

/** One statistic per segment: what a teacher compares (partial return, or negated regret). */
export interface SegmentStats {
  /** Undiscounted statistic (skip/equal tests). */
  total: number;
  /** Myopically weighted statistic (the label itself). */
  weighted: number;
}

export const TEACHER_PRESETS = ['oracle', 'stochastic', 'mistake', 'skip', 'myopic', 'equal'] as const;
export type TeacherPreset = (typeof TEACHER_PRESETS)[number];

/**
 * B-Pref's six teachers. `scale` is a typical segment statistic (B-Pref: mean episode return ×
 * segment/max_steps); skip and equal thresholds are `scale × ε` with ε = 0.1.
 */
export function teacherPreset(name: TeacherPreset, scale = 1): TeacherConfig {
  const base: TeacherConfig = { beta: -1, gamma: 1, mistake: 0, skip: null, equal: 0 };
  const by: Record<TeacherPreset, Partial<TeacherConfig>> = {
    oracle: {},
    stochastic: { beta: 1 },
    mistake: { mistake: 0.1 },
    skip: { skip: scale * 0.1 },
    myopic: { gamma: 0.9 },
    equal: { equal: scale * 0.1 },
  };
  return { ...base, ...by[name] };
}

/** The label for two segment statistics under `cfg` (B-Pref's pipeline). */
export function bprefLabel(left: SegmentStats, right: SegmentStats, cfg: TeacherConfig, rng: Rng): TeacherLabel {
  if (cfg.skip !== null && Math.max(left.total, right.total) <= cfg.skip) return 'skip';
  const equal = Math.abs(left.total - right.total) < cfg.equal;
  let rightWins: boolean;
  if (cfg.beta <= 0) {
    if (left.weighted === right.weighted) return 'tie';
    rightWins = right.weighted > left.weighted;
  } else {
    rightWins = rng.next() < sigmoid(cfg.beta * (right.weighted - left.weighted));
  }
  if (cfg.mistake > 0 && rng.next() < cfg.mistake) rightWins = !rightWins;
  if (equal) return 'tie';
  return rightWins ? 'right' : 'left';
}

/** Undiscounted and myopic (γ^(H−1−t)) sums of a per-step reward sequence. */
export function partialReturn(rewards: ArrayLike<number>, gamma = 1): SegmentStats {
  let total = 0;
  let weighted = 0;
  const h = rewards.length;
  for (let t = 0; t < h; t++) {
    const r = rewards[t]!;
    total += r;
    weighted += gamma === 1 ? r : Math.pow(gamma, h - 1 - t) * r;
  }
  return { total, weighted };
}

/** A teacher answers one query about two segments. */
export interface SegmentTeacher<S> {
  readonly name: string;
  label(left: S, right: S, rng: Rng): TeacherLabel;
}

/** A partial-return teacher over per-step rewards: B-Pref's teachers. */
export function partialReturnTeacher(cfg: Partial<TeacherConfig> = {}, name = 'partial-return'): SegmentTeacher<ArrayLike<number>> {
  const c = TeacherConfigSchema.parse(cfg);
  return {
    name,
    label: (l, r, rng) => bprefLabel(partialReturn(l, c.gamma), partialReturn(r, c.gamma), c, rng),
  };
}

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}
