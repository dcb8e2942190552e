// How precise must a scorer be for rope-circle to succeed? Runs RAS episodes in which the candidate oracle's
// true one-step scores plus Gaussian noise (std --noise, in the task's score: IoU) choose among the decider's
// candidates, or (--noise reward) the decider's own reward does; either way every decision's share of the
// best candidate's gain (the chosen candidate's true gain over the candidates' mean, over the best's) is
// logged, so success can be read against the one-step precision that produced it.
// Run: npx tsx scripts/noisy-oracle.ts --policy policies/rope-circle --candidates 32 --noise 0.02 --episodes 12 --seed 30000
import { parseArgs } from 'node:util';
import { createWorld } from '../sim/index.ts';
import { Rng } from '../src/core/rng.ts';
import type { TaskName } from '../src/core/task.ts';
import { scoreCandidatesInWorld } from '../src/preference/candidate-oracle.ts';
import { chooseExecuted } from '../src/preference/collect.ts';
import { loadCommandDecider } from '../src/stack/decider-flags.ts';
import { deciderSpecFor } from '../src/stack/decider-spec.ts';
import { rollout } from '../src/stack/rollout.ts';
import { shareOfBestGain } from './decision-share.ts';

const { values: a } = parseArgs({
  options: {
    task: { type: 'string', default: 'rope-circle' },
    policy: { type: 'string', default: 'policies/rope-circle' },
    candidates: { type: 'string', default: '32' },
    noise: { type: 'string', default: '0' },
    episodes: { type: 'string', default: '12' },
    seed: { type: 'string', default: '30000' },
  },
});
const noise = a.noise === 'reward' ? null : Number(a.noise);
if (noise !== null && !(noise >= 0)) throw new Error(`--noise: a std ≥ 0 (IoU) or "reward", received ${a.noise}`);
const world = await createWorld(a.task as TaskName);
const decider = await loadCommandDecider(world, deciderSpecFor(a.policy!, { candidates: Number(a.candidates) }, '--policy'));
const shares: number[] = [];
const noiseRng = new Rng(Number(a.seed) ^ 0x5eed);
const t0 = performance.now();
const { result } = await rollout(world, decider, {
  episodes: Number(a.episodes),
  seed: Number(a.seed),
  quiet: true,
  hooks: {
    choose: async (_s, d, rng) => {
      const truth = (await scoreCandidatesInWorld(world, d.candidates.map((c) => c.primitive))).map((x) => x.score);
      // as `eval --oracle` chooses (candidates the oracle could not score are never picked), on noisy scores
      const pick = noise === null ? d.chosen : chooseExecuted('best', truth.map((v) => v + noiseRng.normal(0, noise)), rng);
      const sh = shareOfBestGain(truth, pick);
      if (sh !== null) shares.push(sh);
      return pick;
    },
  },
});
const successes = Math.round(result.success_rate * result.episodes);
const share = shares.reduce((s, v) => s + v, 0) / Math.max(1, shares.length);
console.log(
  JSON.stringify({
    noise: a.noise, candidates: Number(a.candidates), episodes: result.episodes, seed: Number(a.seed), successes,
    iou: result.metrics.iou, decisions: shares.length, share: Number(share.toFixed(3)), wall_s: Math.round((performance.now() - t0) / 1000),
  }),
);
world.dispose();
decider.dispose();
