// Regret on sim states: V* estimated by the scripted expert's rollouts from saved states, one-step
// segments (s, a, s') of tried candidates, and segment pairs labelled by a regret or a partial-return teacher.
import { join } from 'node:path';
import { z } from 'zod';
import type { Metrics } from '../core/episode.ts';
import { WorkspaceBoxSchema } from '../core/geometry.ts';
import { PrimitiveSchema } from '../core/primitive.ts';
import type { PointCloud } from '../core/pointcloud.ts';
import type { Primitive } from '../core/primitive.ts';
import { Rng } from '../core/rng.ts';
import { PrimitiveRefusedError, type World } from '../core/world.ts';
import type { WorkspaceBox } from '../core/geometry.ts';
import { taskScore } from './candidate-oracle.ts';
import { candidateFeatureDim, candidateFeatures, stateFeatures, type FeatureConfig } from './features.ts';
import { regretTeacher } from './regret-teacher.ts';
import type { PairData } from './reward-model.ts';
import { partialReturnTeacher, type TeacherConfig } from './teachers.ts';
import { decodeCloud, encodeCloud, readJsonl, writeJsonl } from './dataset.ts';
import type { RewardModel } from './reward-model.ts';
import { trainRewardModel, type RewardTrainReport } from './reward-train.ts';

/**
 * The task's return as a state function m(s) = task score + successBonus when solved, so the per-step
 * reward r = m(s') − m(s) telescopes: a segment's partial return is m(s_T) − m(s₀).
 * @default metric taskScore; successBonus 0.5; horizon 4 (expert steps per value rollout)
 */
export interface ExpertValueOptions {
  metric?: (m: Metrics) => number;
  successBonus?: number;
  horizon?: number;
}

function stateReturn(world: World, o: ExpertValueOptions): number {
  return (o.metric ?? taskScore)(world.metrics()) + (world.success() ? (o.successBonus ?? 0.5) : 0);
}

/**
 * V̂(s) for the world's current state: the return the scripted expert collects in up to `horizon` steps
 * (stopping at success), m(s_H) − m(s). The world is left exactly as found. A refused expert action
 * ends the rollout. This is V of the expert over a finite horizon, a lower bound on V* that
 * `tryCandidates` tightens with the candidates it tries.
 */
export async function expertValue(world: World, rng: Rng, o: ExpertValueOptions = {}): Promise<number> {
  const saved = world.saveState();
  const start = stateReturn(world, o);
  try {
    for (let h = 0; h < (o.horizon ?? 4) && !world.success(); h++) {
      const a = world.expertActions(1, rng)[0];
      if (!a) break;
      try {
        await world.execute(a);
      } catch (e) {
        if (!(e instanceof PrimitiveRefusedError)) throw e;
        break;
      }
    }
    return stateReturn(world, o) - start;
  } finally {
    world.restoreState(saved);
  }
}

/** A one-step segment (s, a, s') with the reward and value estimates the teachers read. */
export interface SimTransition {
  /** Which recorded state s it starts from (held-out splits go by state). */
  state: number;
  workspace: WorkspaceBox;
  cloud: PointCloud;
  next: PointCloud;
  action: Primitive;
  /** r = m(s') − m(s). */
  reward: number;
  /** V̂*(s), V̂*(s'). */
  vStart: number;
  vEnd: number;
}

/**
 * Tries every candidate from the current state (saveState → execute → observe → expert value →
 * restoreState) and returns one transition each (refused candidates are left out). V̂*(s) is the
 * better of the expert's value and the best tried candidate followed by the expert, so the best
 * tried segment has regret 0 and none has negative regret.
 */
export async function tryCandidates(
  world: World,
  candidates: Primitive[],
  state: number,
  rng: Rng,
  o: ExpertValueOptions = {},
): Promise<SimTransition[]> {
  const saved = world.saveState();
  const cloud = world.observe();
  const m0 = stateReturn(world, o);
  const vExpert = await expertValue(world, rng, o);
  const out: Omit<SimTransition, 'vStart'>[] = [];
  try {
    for (const a of candidates) {
      if (world.checkPrimitive(a) !== null) continue;
      try {
        await world.execute(a);
      } catch (e) {
        if (!(e instanceof PrimitiveRefusedError)) throw e;
        world.restoreState(saved);
        continue;
      }
      const reward = stateReturn(world, o) - m0;
      const next = world.observe();
      const vEnd = world.success() ? 0 : await expertValue(world, rng, o);
      out.push({ state, workspace: world.workspace, cloud, next, action: a, reward, vEnd });
      world.restoreState(saved);
    }
  } finally {
    world.restoreState(saved);
  }
  const vStart = Math.max(vExpert, ...out.map((t) => t.reward + t.vEnd));
  return out.map((t) => ({ ...t, vStart }));
}

/** −regret of a one-step segment: r + V̂*(s') − V̂*(s) = Â*(s, a). */
export function transitionAdvantage(t: SimTransition): number {
  return t.reward + t.vEnd - t.vStart;
}

/**
 * @default sameState 0.5 (share of pairs whose two segments start at one state); teacher config
 * { beta: 1 / 0.05 }: Boltzmann labels with temperature 0.05 in return units (IoU)
 */
export interface SegmentPairOptions {
  pairs: number;
  seed: number;
  /** Which statistic labels the pairs. */
  labels: 'regret' | 'partial-return';
  features: FeatureConfig;
  /** Occupancy grid size of the state rows the regret model's value net reads. @default 8 */
  stateGrid?: number;
  sameState?: number;
  teacher?: Partial<TeacherConfig>;
}

/**
 * Segment pairs over one-step transitions as PairData for both preference models: `left`/`right` are
 * the candidate rows (features of (s, a)), `leftStates`/`rightStates` the occupancy of s and s', `y`
 * the teacher's P(left ≻ right), `group` a block of 4 consecutive states that both segments come
 * from (a held-out split by group holds out whole states). Skipped queries are redrawn.
 */
export function simSegmentPairs(transitions: SimTransition[], o: SegmentPairOptions): PairData {
  if (transitions.length < 2) throw new Error(`simSegmentPairs: needs at least 2 transitions, received ${transitions.length}`);
  const rng = new Rng(o.seed);
  const cfg = { beta: 20, ...(o.teacher ?? {}) };
  const rt = regretTeacher(cfg);
  const pt = partialReturnTeacher(cfg);
  const g = o.stateGrid ?? 8;
  const sd = g * g;
  const d = candidateFeatureDim(o.features);
  const rows = transitions.map((t) => candidateFeatures(t.cloud, t.workspace, [t.action], o.features));
  const byState = new Map<number, number[]>();
  transitions.forEach((t, i) => byState.set(t.state, [...(byState.get(t.state) ?? []), i]));
  const stateIds = [...byState.keys()];
  // states in blocks of 4 consecutive ids: both segments of a pair come from one block, the pair's group
  const blockOf = (s: number) => Math.floor(s / 4);
  const blocks = new Map<number, number[]>();
  for (const s of stateIds) blocks.set(blockOf(s), [...(blocks.get(blockOf(s)) ?? []), s]);
  const L = new Float32Array(o.pairs * d);
  const R = new Float32Array(o.pairs * d);
  const LS = new Float32Array(o.pairs * 2 * sd);
  const RS = new Float32Array(o.pairs * 2 * sd);
  const y = new Float32Array(o.pairs);
  const group = new Int32Array(o.pairs);
  const stateRows = (t: SimTransition, out: Float32Array, p: number) => {
    const box = { ...o.features, grid: g };
    stateFeatures(t.cloud, t.workspace, box, out, p * 2 * sd);
    stateFeatures(t.next, t.workspace, box, out, p * 2 * sd + sd);
  };
  let p = 0;
  let guard = 0;
  while (p < o.pairs) {
    if (++guard > 100 * o.pairs) throw new Error('simSegmentPairs: the teacher skipped almost every query; lower its skip threshold');
    const sa = stateIds[rng.int(stateIds.length)]!;
    const same = rng.next() < (o.sameState ?? 0.5) && byState.get(sa)!.length >= 2;
    const peers = blocks.get(blockOf(sa))!;
    const sb = same ? sa : peers[rng.int(peers.length)]!;
    const ia = byState.get(sa)![rng.int(byState.get(sa)!.length)]!;
    const ib = byState.get(sb)![rng.int(byState.get(sb)!.length)]!;
    if (ib === ia) continue;
    const ta = transitions[ia]!;
    const tb = transitions[ib]!;
    const lab =
      o.labels === 'regret'
        ? rt.label({ rewards: [ta.reward], vStart: ta.vStart, vEnd: ta.vEnd }, { rewards: [tb.reward], vStart: tb.vStart, vEnd: tb.vEnd }, rng)
        : pt.label([ta.reward], [tb.reward], rng);
    if (lab === 'skip') continue;
    L.set(rows[ia]!, p * d);
    R.set(rows[ib]!, p * d);
    stateRows(ta, LS, p);
    stateRows(tb, RS, p);
    y[p] = lab === 'left' ? 1 : lab === 'right' ? 0 : 0.5;
    group[p] = blockOf(sa);
    p++;
  }
  return { rowDim: d, steps: 1, left: L, right: R, y, group, stateDim: sd, leftStates: LS, rightStates: RS };
}

/** The transitions file of `pamstack regret collect`, one JSON line per tried candidate. */
export const TRANSITIONS_FILE = 'transitions.jsonl';

const CloudRecordSchema = z.strictObject({ n: z.number().int().min(0), points: z.string() });
const TransitionRecordSchema = z.strictObject({
  state: z.number().int().min(0),
  workspace: WorkspaceBoxSchema,
  cloud: CloudRecordSchema,
  next: CloudRecordSchema,
  action: PrimitiveSchema,
  reward: z.number(),
  vStart: z.number(),
  vEnd: z.number(),
  episode: z.number().int().optional(),
  step: z.number().int().optional(),
});

/** Writes `dir/transitions.jsonl` atomically (with the episode seed and step of each state where given). */
export function writeTransitions(dir: string, ts: readonly (SimTransition & { episode?: number; step?: number })[]): string {
  const path = join(dir, TRANSITIONS_FILE);
  writeJsonl(path, ts.map((t) => ({ ...t, cloud: encodeCloud(t.cloud), next: encodeCloud(t.next) })));
  return path;
}

/** Reads `dir/transitions.jsonl`; an error names the file, line and field. */
export function readTransitions(dir: string): SimTransition[] {
  const path = join(dir, TRANSITIONS_FILE);
  return readJsonl(path, TransitionRecordSchema).map((r, i) => ({
    state: r.state,
    workspace: r.workspace,
    action: r.action,
    reward: r.reward,
    vStart: r.vStart,
    vEnd: r.vEnd,
    cloud: decodeCloud(r.cloud, `${path}:${i + 1}`),
    next: decodeCloud(r.next, `${path}:${i + 1}`),
  }));
}

/** One row of {@link compareRegretModels}: a preference model fitted to one teacher's labels. */
export interface RegretFitRow {
  labels: 'regret' | 'partial-return';
  model: 'partial return (BT)' | 'regret (r + V)';
  valLogLikelihood: number;
  valAccuracy: number;
  trainLogLikelihood: number;
  bestEpoch: number;
  wall_s: number;
}

/**
 * Knox et al.'s comparison on sim transitions: pairs labelled by the regret and by the partial-return
 * teacher, each fitted by the partial-return (BT) and the regret (r + V) preference model, held-out
 * log-likelihood by blocks of states. Returns the rows and the partial-return model fitted to regret
 * labels, which learns the optimal advantage Â*(s, a) (the caller owns and disposes it).
 */
export function compareRegretModels(
  ts: SimTransition[],
  o: { pairs: number; epochs: number; sameState: number; features: FeatureConfig; seed?: number; onFit?: (row: RegretFitRow) => void },
): { rows: RegretFitRow[]; advantage: { model: RewardModel; report: RewardTrainReport } } {
  const blocks = new Set(ts.map((t) => Math.floor(t.state / 4))).size;
  if (blocks < 2) throw new Error(`transitions from at least 5 states are needed (the held-out split goes by blocks of 4 states), received ${new Set(ts.map((t) => t.state)).size}`);
  const rows: RegretFitRow[] = [];
  let advantage: { model: RewardModel; report: RewardTrainReport } | null = null;
  for (const labels of ['regret', 'partial-return'] as const) {
    const data = simSegmentPairs(ts, { pairs: o.pairs, seed: o.seed ?? 7, labels, features: o.features, sameState: o.sameState });
    for (const model of ['bt', 'regret'] as const) {
      const t1 = performance.now();
      const fit = trainRewardModel(data, { model, epochs: o.epochs, lr: 1e-3, hidden: [64, 64], valueHidden: [64], valFraction: 0.25, seed: 0 });
      const row: RegretFitRow = {
        labels,
        model: model === 'bt' ? 'partial return (BT)' : 'regret (r + V)',
        valLogLikelihood: fit.report.val!.logLikelihood,
        valAccuracy: fit.report.val!.accuracy,
        trainLogLikelihood: fit.report.train.logLikelihood,
        bestEpoch: fit.report.bestEpoch,
        wall_s: (performance.now() - t1) / 1000,
      };
      rows.push(row);
      o.onFit?.(row);
      if (labels === 'regret' && model === 'bt') advantage = { model: fit.model, report: fit.report };
      else fit.model.dispose();
    }
  }
  return { rows, advantage: advantage! };
}
