import { describe, expect, it } from 'vitest';
import { createWorld } from '../../sim/index.ts';
import { loadDecider } from '../../src/stack/decider.ts';
import { deciderSpecFor } from '../../src/stack/decider-spec.ts';
import { rollout, type EpisodeResult } from '../../src/stack/rollout.ts';
import { collectParallel, rolloutParallel } from '../../src/stack/rollout-parallel.ts';
import { collectCandidateStates } from '../../src/stack/collect-states.ts';

const key = (e: EpisodeResult) => ({ ...e, wall: 0 });

describe('rolloutParallel (one world and decider per worker thread)', () => {
  it('gives exactly the serial run\'s episodes and aggregate for the same seeds, in episode order', async () => {
    const spec = deciderSpecFor('random', { select: 'first', candidates: 4 });
    const world = await createWorld('rope-circle');
    const decider = await loadDecider(spec);
    let serial;
    try {
      serial = await rollout(world, decider, { episodes: 3, seed: 11, quiet: true, maxSteps: 3 });
    } finally {
      decider.dispose();
      world.dispose();
    }
    const order: number[] = [];
    const par = await rolloutParallel('rope-circle', spec, { episodes: 3, seed: 11, workers: 2, quiet: true, maxSteps: 3, onEpisode: (e) => void order.push(e.episode) });
    expect(order).toEqual([0, 1, 2]);
    expect(par.result).toEqual(serial.result);
    expect(par.episodes.map(key)).toEqual(serial.episodes.map(key));
    expect(par.episodes.map((e) => e.seed)).toEqual([11, 12, 13]);
  }, 120_000);

  it('a worker that cannot load its decider fails the run with the reason', async () => {
    const spec = { ...deciderSpecFor('random'), policy: '/nonexistent/policy' };
    await expect(rolloutParallel('rope-circle', spec, { episodes: 2, seed: 0, workers: 2, quiet: true })).rejects.toThrow(/nonexistent/);
  }, 120_000);
});

describe('collectParallel (label collection over worker threads)', () => {
  it("records exactly the serial collection's states, ids and oracle scores, in its order", async () => {
    // episodes of 2 steps, so 5 states span 3 episodes over 2 workers; mixed execution draws from each episode's rng
    const spec = deciderSpecFor('expert', { noise: 0.03, candidates: 3, select: 'first' });
    const world = await createWorld('rope-circle');
    const decider = await loadDecider(spec);
    let serial;
    try {
      serial = await collectCandidateStates(world, decider, { states: 5, seed: 23, execute: 'mixed', maxSteps: 2 });
    } finally {
      decider.dispose();
      world.dispose();
    }
    const seen: number[] = [];
    const par = await collectParallel('rope-circle', spec, { states: 5, seed: 23, execute: 'mixed', maxSteps: 2, workers: 2, onState: (_s, i) => void seen.push(i) });
    expect(serial.map((s) => s.stateId)).toEqual(['rope-circle/s23/e0/t0', 'rope-circle/s23/e0/t1', 'rope-circle/s23/e1/t0', 'rope-circle/s23/e1/t1', 'rope-circle/s23/e2/t0']);
    expect(par).toEqual(serial);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  }, 120_000);
});
