// Label collection in sim on the one rollout loop: at each state the decider proposes N candidates, the
// candidate oracle scores each from the saved state, the state is recorded, and one candidate runs on.
import { scoreCandidatesInWorld, type OracleOptions } from '../preference/candidate-oracle.ts';
import { chooseExecuted, type CollectExecute } from '../preference/collect.ts';
import type { CandidateState } from '../preference/dataset.ts';
import type { World } from '../core/world.ts';
import type { Decider } from './decider.ts';
import { rollout, type RolloutHooks, type StepContext } from './rollout.ts';

/** @default execute 'random'; demos 0 (expert actions recorded per state) */
export interface CollectOptions {
  states: number;
  /** Episode i resets with seed + i. */
  seed: number;
  /**
   * Which candidate runs to move on: the oracle's `best`, a `random` or the `first` executable one,
   * `mixed` (best or random, even odds per step), or `reward`: the decider's own choice (its reward's
   * states: on-policy labels for the next reward).
   */
  execute?: CollectExecute;
  demos?: number;
  oracle?: OracleOptions;
  /** Steps per episode at most. @default the world's step limit */
  maxSteps?: number;
  onState?: (s: CandidateState, index: number) => void;
}

/**
 * Rolls out `decider` until `states` states are recorded (candidates, oracle scores, optional expert
 * demos). Candidates the oracle could not run (score −Infinity) are never executed; with none left
 * the episode ends.
 */
export async function collectCandidateStates(world: World, decider: Decider, opts: CollectOptions): Promise<CandidateState[]> {
  const out: CandidateState[] = [];
  await rollout(world, decider, {
    episodes: Infinity,
    seed: opts.seed,
    quiet: true,
    stop: () => out.length >= opts.states,
    ...(opts.maxSteps !== undefined ? { maxSteps: opts.maxSteps } : {}),
    hooks: { choose: recordingChoice(world, opts, (s) => s.episode, out) },
  });
  return out.slice(0, opts.states);
}

/**
 * The states of episode `episode` alone (reset with seed + episode), exactly as collectCandidateStates
 * records them for that episode: a worker thread's share of a parallel collection.
 */
export async function collectEpisodeStates(world: World, decider: Decider, opts: Omit<CollectOptions, 'states'>, episode: number): Promise<CandidateState[]> {
  const out: CandidateState[] = [];
  await rollout(world, decider, { episodes: 1, seed: opts.seed + episode, quiet: true, ...(opts.maxSteps !== undefined ? { maxSteps: opts.maxSteps } : {}), hooks: { choose: recordingChoice(world, opts, () => episode, out) } });
  return out;
}

/**
 * A choose hook that runs the candidate the candidate oracle scores best (each tried from the saved
 * sim state): selection's ceiling among the decider's candidates. Null (the episode holds) when the
 * world refuses them all.
 */
export function oracleChoice(world: World, oracle?: OracleOptions): NonNullable<RolloutHooks['choose']> {
  return async (_s, d, rng) => {
    const scores = await scoreCandidatesInWorld(world, d.candidates.map((c) => c.primitive), oracle);
    return chooseExecuted('best', scores.map((x) => x.score), rng);
  };
}

/** The collector's choose hook: records the state with the oracle's scores in `out`, then picks what runs. */
function recordingChoice(world: World, opts: Omit<CollectOptions, 'states'>, episodeOf: (s: StepContext) => number, out: CandidateState[]): NonNullable<RolloutHooks['choose']> {
  const how = opts.execute ?? 'random';
  return async (s, d, rng) => {
    const candidates = d.candidates.map((c) => c.primitive);
    const scores = await scoreCandidatesInWorld(world, candidates, opts.oracle);
    const state: CandidateState = {
      stateId: `${world.task}/s${opts.seed}/e${episodeOf(s)}/t${s.step - 1}`,
      task: world.task,
      workspace: world.workspace,
      cloud: s.obs,
      candidates,
      oracle: scores.map((x) => x.score),
      episode: s.seed,
      step: s.step - 1,
    };
    if (opts.demos) state.demos = world.expertActions(opts.demos, rng);
    out.push(state);
    opts.onState?.(state, out.length - 1);
    if (how !== 'reward') return chooseExecuted(how, state.oracle!, rng);
    // the decider's choice among the candidates the oracle could run
    const ok = d.fallback.find((i) => Number.isFinite(state.oracle![i]!));
    return ok ?? null;
  };
}
