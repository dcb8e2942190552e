// Regret data on the one rollout loop: at each state the decider proposes N candidates, each is tried
// from the saved state with V̂* estimated by the scripted expert (sim-regret.ts), and one runs on.
import type { World } from '../core/world.ts';
import { tryCandidates, type ExpertValueOptions, type SimTransition } from '../preference/sim-regret.ts';
import type { Decider } from './decider.ts';
import { rollout } from './rollout.ts';

/** A tried candidate with where its state came from. */
export type RecordedTransition = SimTransition & { episode: number; step: number };

export interface CollectTransitionsOptions {
  states: number;
  /** Episode i resets with seed + i. */
  seed: number;
  /** The expert's value rollouts (horizon, success bonus). */
  value?: ExpertValueOptions;
  onState?: (transitions: RecordedTransition[], index: number) => void;
}

/**
 * Rolls out `decider` until `states` states have been tried. To move on, the best tried candidate (by
 * r + V̂(s')) or a random tried one runs, even odds per step, so the states cover both good and mediocre
 * play. A state where no candidate could run ends its episode.
 */
export async function collectTransitions(world: World, decider: Decider, opts: CollectTransitionsOptions): Promise<RecordedTransition[]> {
  const out: RecordedTransition[] = [];
  let state = 0;
  await rollout(world, decider, {
    episodes: Infinity,
    seed: opts.seed,
    quiet: true,
    stop: () => state >= opts.states,
    hooks: {
      async choose(s, d, rng) {
        const candidates = d.candidates.map((c) => c.primitive);
        const tried = (await tryCandidates(world, candidates, state, rng, opts.value)).map((t) => ({ ...t, episode: s.seed, step: s.step - 1 }));
        out.push(...tried);
        opts.onState?.(tried, state);
        state++;
        if (!tried.length) return null;
        const pick = rng.next() < 0.5 ? tried.reduce((b, t) => (t.reward + t.vEnd > b.reward + b.vEnd ? t : b)) : tried[rng.int(tried.length)]!;
        return candidates.indexOf(pick.action);
      },
    },
  });
  return out;
}
