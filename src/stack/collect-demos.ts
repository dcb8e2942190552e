// Scripted-expert demonstrations on the one rollout loop: every state with all the expert's acceptable
// actions, the executed one and the metrics (the Stage-1 data of DeformPAM).
import { startProgress } from '../core/progress.ts';
import type { World } from '../core/world.ts';
import { DemonstrationWriter, type DemoMeta } from '../../sim/collect-format.ts';
import { loadDecider } from './decider.ts';
import { deciderSpecFor } from './decider-spec.ts';
import { rollout } from './rollout.ts';

export interface CollectDemosOptions {
  episodes: number;
  /** Episode i runs on seed + i. */
  seed: number;
  out: string;
  /** Acceptable actions stored per state. @default 10 */
  maxActions?: number;
  /** Points per stored cloud (uniform subset of the camera's object cloud). @default 4096 */
  pointBudget?: number;
  quiet?: boolean;
}

export interface CollectSummary {
  meta: DemoMeta;
  successes: number;
  meanActions: number;
}

/** Collects expert demonstrations from `world` into `opts.out` (see docs/collect-format.md). */
export async function collectDemonstrations(world: World, opts: CollectDemosOptions): Promise<CollectSummary> {
  const maxActions = opts.maxActions ?? 10;
  const budget = opts.pointBudget ?? 4096;
  const writer = new DemonstrationWriter(opts.out, {
    task: world.task,
    primitive: world.primitive,
    frame: 'table',
    episodes: opts.episodes,
    seed: opts.seed,
    pointBudget: budget,
    maxActions,
    camera: (world as { cameraSpecs?: () => unknown }).cameraSpecs?.(),
  });
  // the expert's acceptable actions are the candidates; it runs the first safe one (its best)
  const expert = await loadDecider(deciderSpecFor('expert', { select: 'first', candidates: maxActions }));
  const progress = startProgress(`collect ${world.task}`, opts.episodes, { quiet: opts.quiet ?? false });
  let successes = 0;
  let actionsTotal = 0;
  let states = 0;
  let cloud: Float32Array = new Float32Array();
  let metricsBefore = world.metrics();
  try {
    await rollout(world, expert, {
      episodes: opts.episodes,
      seed: opts.seed,
      quiet: true,
      hooks: {
        beforeDecide: () => {
          cloud = (world.observe as (o?: { budget?: number }) => { points: Float32Array })({ budget }).points;
          metricsBefore = world.metrics();
          return null;
        },
        onStep: (s) => {
          if (s.chosen === null || !s.decision) return;
          const actions = s.candidates.map((c) => c.primitive);
          writer.add({
            episode: s.episode,
            seed: s.seed,
            step: s.step - 1,
            cloud,
            actions,
            executedIndex: s.chosen,
            metricsBefore,
            metricsAfter: s.metrics,
            successAfter: s.success,
            done: s.success || s.step >= world.stepLimit,
          });
          actionsTotal += actions.length;
          states++;
          if (s.success) successes++;
        },
        onEpisode: () => progress.tick(1, { states, successes }),
      },
    });
  } finally {
    progress.stop();
    expert.dispose();
  }
  const meta = writer.close();
  return { meta, successes, meanActions: states ? actionsTotal / states : 0 };
}
