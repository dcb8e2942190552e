// `eval --oracle`: the candidate oracle (each candidate tried from the saved sim state) chooses what runs,
// the decider only proposes; selection's ceiling among its candidates. Serial and worker runs agree.
import { describe, expect, it } from 'vitest';
import { createWorld } from '../../sim/index.ts';
import { scoreCandidatesInWorld } from '../../src/preference/candidate-oracle.ts';
import { oracleChoice } from '../../src/stack/collect-states.ts';
import { loadDecider } from '../../src/stack/decider.ts';
import { deciderSpecFor } from '../../src/stack/decider-spec.ts';
import { rollout, type EpisodeResult } from '../../src/stack/rollout.ts';
import { rolloutParallel } from '../../src/stack/rollout-parallel.ts';
import { runCli } from './run-cli.ts';

const spec = deciderSpecFor('expert', { noise: 0.06, candidates: 4, select: 'first' });
const key = (e: EpisodeResult) => ({ ...e, wall: 0 });

describe('the oracle chooser', () => {
  it('runs the candidate with the best tried score, and the world ends where that try ended', async () => {
    const world = await createWorld('rope-circle');
    const decider = await loadDecider(spec);
    const expected: { best: number; score: number }[] = [];
    const ran: { chosen: number | null; iou: number }[] = [];
    try {
      const choose = oracleChoice(world);
      await rollout(world, decider, {
        episodes: 1,
        seed: 5,
        quiet: true,
        maxSteps: 3,
        hooks: {
          // scored again here, before the chooser, to know what it must pick
          onDecision: async (_s, d) => {
            const scores = (await scoreCandidatesInWorld(world, d.candidates.map((c) => c.primitive))).map((x) => x.score);
            const best = scores.indexOf(Math.max(...scores));
            expected.push({ best, score: scores[best]! });
          },
          choose,
          onStep: (s) => void ran.push({ chosen: s.chosen, iou: s.metrics.iou! }),
        },
      });
    } finally {
      decider.dispose();
      world.dispose();
    }
    expect(ran).toHaveLength(3);
    ran.forEach((r, k) => {
      expect(r.chosen).toBe(expected[k]!.best);
      expect(r.iou).toBeCloseTo(expected[k]!.score, 9);
    });
    // the jittered expert's candidates differ, so the oracle's choice is not always the first
    expect(ran.some((r) => r.chosen !== 0)).toBe(true);
  }, 120_000);

  it('gives the same episodes on worker threads as in one thread', async () => {
    const world = await createWorld('rope-circle');
    const decider = await loadDecider(spec);
    let serial;
    try {
      serial = await rollout(world, decider, { episodes: 2, seed: 7, quiet: true, maxSteps: 2, hooks: { choose: oracleChoice(world) } });
    } finally {
      decider.dispose();
      world.dispose();
    }
    const par = await rolloutParallel('rope-circle', spec, { episodes: 2, seed: 7, workers: 2, quiet: true, maxSteps: 2, oracle: true });
    expect(par.episodes.map(key)).toEqual(serial.episodes.map(key));
    const plain = await rolloutParallel('rope-circle', spec, { episodes: 2, seed: 7, workers: 2, quiet: true, maxSteps: 2 });
    expect(plain.episodes.map((e) => e.finalMetrics.iou)).not.toEqual(serial.episodes.map((e) => e.finalMetrics.iou));
  }, 120_000);
});

describe('pamstack eval --oracle', () => {
  it.each([
    ['--select', ['--select', 'ras'], /^pamstack: --oracle: the oracle chooses; drop --select/],
    ['--reward-dir', ['--reward-dir', 'x'], /^pamstack: --oracle: the oracle chooses; drop --reward-dir/],
    ['the unjittered expert', [], /^pamstack: --oracle: with --policy expert give --noise/],
  ])('refuses %s with a message naming the flag', async (_n, extra, re) => {
    const { code, err } = await runCli(['eval', '--task', 'rope-circle', '--policy', 'expert', '--oracle', '--episodes', '1', ...extra]);
    expect(code).toBe(2);
    expect(err.trim()).toMatch(re);
  });
});
