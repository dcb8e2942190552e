// `pamstack transfer --items candidates`: labelled candidate states of one task → GW-transferred labels of
// another task's candidates (zero target labels) → a robust reward RAS can load as-is.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FieldError } from '../core/index.ts';
import type { Ranking } from '../core/preference.ts';
import { RANKINGS_FILE, readRankings, readStates, STATES_FILE, type CandidateState } from '../preference/dataset.ts';
import { candidateFeatureDim, candidateFeatureNames, candidateFeatures, type FeatureConfig } from '../preference/features.ts';
import { rankingToPairs } from '../preference/pairs.ts';
import type { PairData, RewardModel } from '../preference/reward-model.ts';
import { evaluatePairs, splitPairs, trainRewardModel, type PreferenceFit, type RewardTrainReport } from '../preference/reward-train.ts';
import { type CandidateItems, transferCandidateLabels } from '../transfer/candidate-transfer.ts';
import type { MatmulKernel } from '../transfer/dense.ts';
import type { IndexedPreference, TransferredPreference } from '../transfer/label-transfer.ts';

/** Named sets of shared columns for the fused cost. */
export const SHARED_PRESETS = {
  /** The action in the object frame (relative to the cloud's centroid), scaled by the extent. */
  object: ['r_pick', 'r_place', 'displacement', 'radial_change', 'turn_cos', 'turn_sin'],
  /** What lies under the two action points: point densities and nearest distances. */
  local: ['density_a_0.02', 'density_a_0.05', 'density_b_0.02', 'density_b_0.05', 'nearest_a', 'nearest_b'],
} as const;

/** Resolves `--shared` (a preset or comma-separated column names) to column indices. */
export function sharedColumns(spec: string, cfg: FeatureConfig): { names: string[]; columns: number[] } {
  const all = candidateFeatureNames(cfg);
  const names = spec in SHARED_PRESETS ? [...SHARED_PRESETS[spec as keyof typeof SHARED_PRESETS]] : spec.split(',');
  const columns = names.map((nm) => {
    const k = all.indexOf(nm);
    if (k < 0) throw new FieldError('--shared', `a preset (${Object.keys(SHARED_PRESETS).join(', ')}) or candidate feature columns (${all.join(', ')})`, nm);
    return k;
  });
  return { names, columns };
}

/** A candidate dataset as items: one feature row per (state, candidate), `offset[s]` = first item of state s. */
export interface TaskItems extends CandidateItems {
  task: string;
  states: CandidateState[];
  offset: number[];
  rows32: Float32Array;
}

export function candidateItems(name: string, states: CandidateState[], cfg: FeatureConfig): TaskItems {
  if (states.length === 0) throw new FieldError(`${name} states`, 'at least one recorded state', 0);
  const task = states[0]!.task;
  states.forEach((s, k) => {
    if (s.task !== task) throw new FieldError(`${name} states[${k}].task`, `one task per dataset (${task})`, s.task);
  });
  const dim = candidateFeatureDim(cfg);
  const offset: number[] = [];
  let n = 0;
  for (const s of states) {
    offset.push(n);
    n += s.candidates.length;
  }
  const rows32 = new Float32Array(n * dim);
  const group = new Int32Array(n);
  states.forEach((s, g) => {
    rows32.set(candidateFeatures(s.cloud, s.workspace, s.candidates, cfg), offset[g]! * dim);
    group.fill(g, offset[g]!, offset[g]! + s.candidates.length);
  });
  return { task, states, offset, rows32, rows: Float64Array.from(rows32), dim, group };
}

/** Within-state pairs of a ranking as item pairs: strict pairs (winner first, y = 1), ties (y = 0.5) when asked. */
export function rankedItemPairs(items: TaskItems, rankings: Ranking[], o: { ties: boolean }): IndexedPreference[] {
  const byId = new Map(items.states.map((s, g) => [s.stateId, g]));
  const out: IndexedPreference[] = [];
  for (const r of rankings) {
    const g = byId.get(r.stateId);
    if (g === undefined) throw new FieldError(`ranking ${r.stateId}`, 'a state of the states file', r.stateId);
    const off = items.offset[g]!;
    const e = rankingToPairs(r);
    for (const p of e.pairs) if (p.winner !== 'ideal' && p.loser !== 'ideal') out.push({ first: off + p.winner, second: off + p.loser, y: 1 });
    if (o.ties) for (const [a, b] of e.ties) out.push({ first: off + a, second: off + b, y: 0.5 });
  }
  return out;
}

/** Share of strict truth pairs whose transferred label points the same way (ŷ = 0.5 counts as wrong). */
export function labelAgreement(labels: readonly TransferredPreference[], truth: readonly IndexedPreference[]): { pairs: number; agreement: number } {
  const y = new Map(labels.map((l) => [`${l.first},${l.second}`, l.y]));
  const strict = truth.filter((t) => t.y !== 0.5);
  let ok = 0;
  for (const t of strict) {
    const a = Math.min(t.first, t.second), b = Math.max(t.first, t.second);
    const v = y.get(`${a},${b}`);
    if (v === undefined) throw new FieldError(`truth pair (${t.first}, ${t.second})`, 'two candidates of one state', 'a cross-state pair');
    const pFirst = t.first === a ? v : 1 - v;
    if (pFirst !== 0.5 && pFirst > 0.5 === t.y > 0.5) ok++;
  }
  return { pairs: strict.length, agreement: strict.length ? ok / strict.length : NaN };
}

/**
 * The within-state pairs whose recorded oracle scores differ (better first): the teacher's order without
 * its mistakes and without its arbitrary order of tied candidates. Null when a state has no scores.
 */
export function oraclePairs(items: TaskItems): IndexedPreference[] | null {
  if (!items.states.every((s) => s.oracle)) return null;
  const out: IndexedPreference[] = [];
  items.states.forEach((s, g) => {
    const o = s.oracle!, off = items.offset[g]!;
    for (let a = 0; a < o.length; a++)
      for (let b = a + 1; b < o.length; b++) {
        if (o[a] === o[b]) continue;
        out.push(o[a]! > o[b]! ? { first: off + a, second: off + b, y: 1 } : { first: off + b, second: off + a, y: 1 });
      }
  });
  return out;
}

/** Transferred labels as reward training pairs (both orders, grouped by state for the held-out split). */
export function labelPairData(items: TaskItems, labels: readonly IndexedPreference[]): PairData {
  const d = items.dim;
  const P = labels.length * 2;
  const left = new Float32Array(P * d), right = new Float32Array(P * d), y = new Float32Array(P), group = new Int32Array(P);
  labels.forEach((l, k) => {
    const a = items.rows32.subarray(l.first * d, (l.first + 1) * d), b = items.rows32.subarray(l.second * d, (l.second + 1) * d);
    left.set(a, 2 * k * d);
    right.set(b, 2 * k * d);
    left.set(b, (2 * k + 1) * d);
    right.set(a, (2 * k + 1) * d);
    y[2 * k] = l.y;
    y[2 * k + 1] = 1 - l.y;
    group[2 * k] = group[2 * k + 1] = items.group[l.first]!;
  });
  return { rowDim: d, steps: 1, left, right, y, group };
}

/** Options of {@link runCandidateTransfer}. */
export interface CandidateTransferRun {
  source: string;
  target: string;
  features: FeatureConfig;
  epsilon: number;
  /** GW by POT's exact iterates instead of the fast solver. @default false */
  exact?: boolean;
  alpha: number;
  shared: string;
  ties: boolean;
  reward: { epochs: number; hidden: number[]; seed: number; valFraction: number } | null;
  /** The fast solver's f32 product kernel (the command passes ONNX Runtime's where it loads). */
  productKernel?: MatmulKernel;
}

/** The transfer, its report and (unless `reward` is null) the trained robust reward. */
export function runCandidateTransfer(o: CandidateTransferRun): {
  report: Record<string, unknown>;
  labels: TransferredPreference[];
  model: RewardModel | null;
  fit: RewardTrainReport | null;
} {
  for (const [flag, dir] of [['--source', o.source], ['--target', o.target]] as const)
    if (!existsSync(join(dir, STATES_FILE))) throw new FieldError(flag, `a candidate dataset folder holding ${STATES_FILE} (pamstack label --collect)`, dir);
  const srcRankPath = join(o.source, RANKINGS_FILE);
  if (!existsSync(srcRankPath)) throw new FieldError('--source', `a labelled candidate dataset (states.jsonl + ${RANKINGS_FILE}, e.g. from pamstack label)`, o.source);
  const src = candidateItems('--source', readStates(o.source), o.features);
  const srcPrefs = rankedItemPairs(src, readRankings(srcRankPath), { ties: o.ties });
  const tgt = candidateItems('--target', readStates(o.target), o.features);
  // the target's own rankings, when present, only score agreement
  const tgtRankPath = join(o.target, RANKINGS_FILE);
  const tgtRankings = existsSync(tgtRankPath) ? readRankings(tgtRankPath) : null;
  const shared = o.alpha < 1 ? sharedColumns(o.shared, o.features) : null;
  const t = transferCandidateLabels(src, srcPrefs, tgt, {
    epsilon: o.epsilon,
    exact: o.exact ?? false,
    alpha: o.alpha,
    ...(o.productKernel ? { productKernel: o.productKernel } : {}),
    ...(shared ? { sourceColumns: shared.columns, targetColumns: shared.columns } : {}),
  });
  const n = t.labels.length;
  const report: Record<string, unknown> = {
    items: 'candidates',
    source: { task: src.task, states: src.states.length, candidates: src.group.length, labelled_pairs: srcPrefs.length },
    target: { task: tgt.task, states: tgt.states.length, candidates: tgt.group.length, pairs: n, labels_used: 0 },
    coupling: { epsilon: o.epsilon, alpha: o.alpha, shared: shared?.names ?? null, gw: t.gw.gw, fgw: t.gw.fgw ?? null, iterations: t.gw.iterations, converged: t.gw.converged, marginal_error: t.gw.marginalError },
    labels: { form: 'normalised (pearl-gw.md §2)', mean_confidence: t.labels.reduce((s, l) => s + l.confidence, 0) / n },
  };
  const truth = tgtRankings ? rankedItemPairs(tgt, tgtRankings, { ties: false }) : null;
  const oracle = oraclePairs(tgt);
  if (oracle) report.agreement_oracle = labelAgreement(t.labels, oracle);
  if (truth) {
    const confident = new Set(t.labels.filter((l) => l.confidence >= 0.5).map((l) => `${Math.min(l.first, l.second)},${Math.max(l.first, l.second)}`));
    report.agreement = {
      strict: labelAgreement(t.labels, truth),
      confident: labelAgreement(t.labels, truth.filter((p) => confident.has(`${Math.min(p.first, p.second)},${Math.max(p.first, p.second)}`))),
      confident_share: confident.size / n,
    };
  }
  if (!o.reward) return { report, labels: t.labels, model: null, fit: null };
  const data = labelPairData(tgt, t.labels);
  const { model, report: fit } = trainRewardModel(data, { model: 'robust', ...o.reward });
  report.reward = { model: 'robust', train: fit.train, val: fit.val, best_epoch: fit.bestEpoch };
  // the target's teacher and oracle only score the reward: on all states and on its held-out states
  const { val } = splitPairs(data, o.reward.valFraction, o.reward.seed);
  const heldOut = new Set(val.map((i) => data.group![i]!));
  const fitOn = (pairs: IndexedPreference[]) => {
    const on = (keep: (g: number) => boolean): PreferenceFit => {
      const d = labelPairData(tgt, pairs.filter((p) => keep(tgt.group[p.first]!)));
      return evaluatePairs(model, d, Array.from(d.y, (_, i) => i));
    };
    return { all: on(() => true), held_out: on((g) => heldOut.has(g)) };
  };
  if (truth) report.reward_vs_target_teacher = fitOn(truth);
  if (oracle) report.reward_vs_target_oracle = fitOn(oracle);
  return { report, labels: t.labels, model, fit };
}
