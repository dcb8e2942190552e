// Scripted-expert demonstrations: runs the expert over seeded episodes and writes every state with all
// its acceptable actions, the executed one and the metrics (the Stage-1 data of DeformPAM).
import { Rng, startProgress, type World } from '../src/core/index.ts';
import { DemonstrationWriter, type DemoMeta } from './collect-format.ts';

export interface CollectOptions {
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
export async function collectDemonstrations(world: World, opts: CollectOptions): Promise<CollectSummary> {
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
  const progress = startProgress(`collect ${world.task}`, opts.episodes, { quiet: opts.quiet ?? false });
  let successes = 0;
  let actionsTotal = 0;
  let states = 0;
  try {
    for (let e = 0; e < opts.episodes; e++) {
      const seed = (opts.seed + e) >>> 0;
      world.reset(seed);
      const rng = new Rng(seed ^ 0x5eed);
      let step = 0;
      let done = world.success();
      while (!done) {
        const cloud = (world.observe as (o?: { budget?: number }) => { points: Float32Array })({ budget }).points;
        const actions = world.expertActions(maxActions, rng);
        if (actions.length === 0) break;
        const metricsBefore = world.metrics();
        await world.execute(actions[0]!);
        step++;
        const successAfter = world.success();
        done = successAfter || step >= world.stepLimit;
        writer.add({
          episode: e,
          seed,
          step: step - 1,
          cloud,
          actions,
          executedIndex: 0,
          metricsBefore,
          metricsAfter: world.metrics(),
          successAfter,
          done,
        });
        actionsTotal += actions.length;
        states++;
        if (successAfter) successes++;
      }
      progress.tick(1, { states, successes });
    }
  } finally {
    progress.stop();
  }
  const meta = writer.close();
  return { meta, successes, meanActions: states ? actionsTotal / states : 0 };
}
