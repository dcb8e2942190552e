import { describe, expect, it } from 'vitest';
import { createWorld } from '../../sim/index.ts';
import { loadDecider } from '../../src/stack/decider.ts';
import { deciderSpecFor } from '../../src/stack/decider-spec.ts';
import { rollout, type EpisodeResult } from '../../src/stack/rollout.ts';
import { rolloutParallel } from '../../src/stack/rollout-parallel.ts';

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
