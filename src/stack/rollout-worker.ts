// One rollout worker thread: its own world and decider, the episodes it was given, each result posted back
// (an evaluated episode, or the candidate states a collection recorded in it).
import { parentPort, workerData } from 'node:worker_threads';
import { createWorld } from '../../sim/index.ts';
import { collectEpisodeStates, oracleChoice } from './collect-states.ts';
import { loadDecider } from './decider.ts';
import { rollout } from './rollout.ts';
import type { WorkerJob, WorkerMessage } from './rollout-parallel.ts';

const post = (m: WorkerMessage) => parentPort!.postMessage(m);
const job = workerData as WorkerJob;
try {
  const world = await createWorld(job.task);
  const decider = await loadDecider(job.spec);
  try {
    for (let i = job.first; i < job.episodes; i += job.stride) {
      if (job.collect) {
        post({ kind: 'states', episode: i, states: await collectEpisodeStates(world, decider, { ...job.collect, seed: job.seed }, i) });
        continue;
      }
      const { episodes } = await rollout(world, decider, {
        episodes: 1,
        seed: job.seed + i,
        quiet: true,
        ...(job.maxSteps !== undefined ? { maxSteps: job.maxSteps } : {}),
        ...(job.oracle ? { hooks: { choose: oracleChoice(world) } } : {}),
      });
      post({ kind: 'episode', result: { ...episodes[0]!, episode: i } });
    }
  } finally {
    decider.dispose();
    world.dispose();
  }
  post({ kind: 'done' });
} catch (e) {
  post({ kind: 'error', message: (e as Error).stack ?? String(e) });
}
