// Collects decision states in sim: N proposed candidates per state, each scored by the candidate oracle.
import type { PointCloud } from '../core/pointcloud.ts';
import type { Primitive } from '../core/primitive.ts';
import { Rng } from '../core/rng.ts';
import type { World } from '../core/world.ts';
import { scoreCandidatesInWorld, type OracleOptions } from './candidate-oracle.ts';
import type { CandidateState } from './dataset.ts';

/** Proposes `n` candidates for the world's current state (a policy sampler, or a noisy expert). */
export type Proposer = (world: World, cloud: PointCloud, n: number, rng: Rng) => Promise<Primitive[]>;

/**
 * Which candidate the collector executes to move on: `best` by oracle (DeformPAM's operator chose
 * for rope), `random`, `first`, `mixed` (best or random with equal chance at each step: the states
 * cover both where the policy alone drifts and where a good selector leads, which is where RAS acts),
 * or `reward`: the highest of CollectOptions.select's scores, i.e. the states a deployed reward visits
 * (on-policy labels for the next reward).
 */
export type CollectExecute = 'best' | 'random' | 'first' | 'mixed' | 'reward';

/** Scores a state's candidates for `execute: 'reward'` (higher is executed). */
export type CandidateSelector = (cloud: PointCloud, candidates: Primitive[]) => Promise<number[]> | number[];

/**
 * @default candidates 8; execute 'random'; demos 0 (expert actions recorded per state)
 */
export interface CollectOptions {
  states: number;
  seed: number;
  propose: Proposer;
  candidates?: number;
  execute?: CollectExecute;
  demos?: number;
  /** Required with execute 'reward'. */
  select?: CandidateSelector;
  oracle?: OracleOptions;
  onState?: (s: CandidateState, index: number) => void;
}

/**
 * Rolls out episodes (reset with seed, seed+1, …) until `states` states are recorded. At each step:
 * observe, propose N candidates, score each by trying it from the saved state, record, then execute
 * one (see `execute`). Episodes end at success or the world's step limit.
 */
export async function collectCandidateStates(world: World, opts: CollectOptions): Promise<CandidateState[]> {
  const n = opts.candidates ?? 8;
  if (opts.execute === 'reward' && !opts.select) throw new Error("collect: execute 'reward' needs a select function (a reward to follow)");
  const rng = new Rng(opts.seed);
  const out: CandidateState[] = [];
  for (let ep = 0; out.length < opts.states; ep++) {
    world.reset(opts.seed + ep);
    for (let step = 0; step < world.stepLimit && out.length < opts.states && !world.success(); step++) {
      const cloud = world.observe();
      const candidates = await opts.propose(world, cloud, n, rng);
      if (candidates.length === 0) break;
      const scores = await scoreCandidatesInWorld(world, candidates, opts.oracle);
      const s: CandidateState = {
        stateId: `${world.task}/s${opts.seed}/e${ep}/t${step}`,
        task: world.task,
        workspace: world.workspace,
        cloud,
        candidates,
        oracle: scores.map((x) => x.score),
        episode: opts.seed + ep,
        step,
      };
      if (opts.demos) s.demos = world.expertActions(opts.demos, rng);
      out.push(s);
      opts.onState?.(s, out.length - 1);
      let pick: number | null;
      if (opts.execute === 'reward') {
        // the selector's choice among the candidates the oracle could try (refused ones stay refused)
        const sel = await opts.select!(cloud, candidates);
        pick = chooseExecuted('best', sel.map((v, i) => (Number.isFinite(s.oracle![i]!) ? v : -Infinity)), rng);
      } else pick = chooseExecuted(opts.execute ?? 'random', s.oracle!, rng);
      if (pick === null) break;
      try {
        await world.execute(candidates[pick]!);
      } catch {
        break;
      }
    }
  }
  return out;
}

/** The index of the candidate to execute (refused ones, score −Infinity, never), or null when all were refused. */
export function chooseExecuted(how: Exclude<CollectExecute, 'reward'>, scores: number[], rng: Rng): number | null {
  const ok = scores.map((s, i) => (Number.isFinite(s) ? i : -1)).filter((i) => i >= 0);
  if (ok.length === 0) return null;
  if (how === 'mixed') how = rng.next() < 0.5 ? 'best' : 'random';
  if (how === 'first') return ok[0]!;
  if (how === 'random') return ok[rng.int(ok.length)]!;
  return ok.reduce((b, i) => (scores[i]! > scores[b]! ? i : b), ok[0]!);
}

/**
 * A stand-in proposer without a policy: the world's expert actions, each point jittered by
 * N(0, noise²) in x and y (m); pads by repeating when the expert offers fewer than n.
 */
export function noisyExpertProposer(noise: number): Proposer {
  return async (world, _cloud, n, rng) => {
    const base = world.expertActions(n, rng);
    if (base.length === 0) return [];
    const out: Primitive[] = [];
    for (let i = 0; i < n; i++) {
      const p = base[i % base.length]!;
      out.push({
        kind: p.kind,
        a: [p.a[0] + rng.normal(0, noise), p.a[1] + rng.normal(0, noise), p.a[2]],
        b: [p.b[0] + rng.normal(0, noise), p.b[1] + rng.normal(0, noise), p.b[2]],
      });
    }
    return out;
  };
}
