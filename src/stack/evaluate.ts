// Runs agents in a World over seeded episodes and aggregates the eval contract of DESIGN.md.
import type { Candidate, EvalResult, Metrics } from '../core/episode.ts';
import type { PointCloud } from '../core/pointcloud.ts';
import type { Primitive } from '../core/primitive.ts';
import { startProgress } from '../core/progress.ts';
import { Rng } from '../core/rng.ts';
import { PrimitiveRefusedError, type World } from '../core/world.ts';
import type { Agent } from './agents.ts';

/** One episode's outcome. `steps` counts primitives tried (refused ones too); a failure has steps ≤ stepLimit. */
export interface EpisodeResult {
  episode: number;
  seed: number;
  success: boolean;
  steps: number;
  /** Steps to success, or the step limit for a failed episode (DeformPAM's convention). */
  stepsScored: number;
  initialMetrics: Metrics;
  finalMetrics: Metrics;
  refused: number;
  holdReason?: string;
  /** Wall time, s. */
  wall: number;
}

/** What the step hook sees (e.g. a recorder writing MCAP). */
export interface StepInfo {
  episode: number;
  seed: number;
  step: number;
  obs: PointCloud;
  primitive: Primitive | null;
  candidates: Candidate[];
  refused?: string;
  metrics: Metrics;
  success: boolean;
}

export interface EvaluateOptions {
  episodes: number;
  /** Episode i runs on seed + i (world reset and agent rng). */
  seed: number;
  /** No progress bar. */
  quiet?: boolean;
  onStep?: (s: StepInfo) => void | Promise<void>;
  onEpisode?: (e: EpisodeResult) => void | Promise<void>;
}

/**
 * Runs `episodes` episodes: reset(seed + i), then observe → act → execute until success, the step
 * limit or a hold. A refused primitive uses up its step and leaves the state as it was.
 */
export async function evaluate(
  world: World,
  agent: Agent,
  opts: EvaluateOptions,
): Promise<{ result: EvalResult; episodes: EpisodeResult[] }> {
  const progress = startProgress(`eval ${world.task} ${agent.name}`, opts.episodes, { quiet: opts.quiet ?? false });
  const results: EpisodeResult[] = [];
  try {
    for (let e = 0; e < opts.episodes; e++) {
      const seed = (opts.seed + e) >>> 0;
      const w0 = performance.now();
      world.reset(seed);
      agent.reset?.(seed);
      const rng = new Rng(seed ^ 0xa5a5a5a5);
      const initialMetrics = world.metrics();
      let success = world.success();
      let steps = 0;
      let refused = 0;
      let holdReason: string | undefined;
      while (!success && steps < world.stepLimit) {
        const obs = world.observe();
        const d = await agent.act(world, obs, rng);
        if (!d.primitive) {
          holdReason = d.holdReason ?? 'the agent held';
          break;
        }
        steps++;
        let refusedWhy: string | undefined;
        try {
          await world.execute(d.primitive);
        } catch (err) {
          if (!(err instanceof PrimitiveRefusedError)) throw err;
          refused++;
          refusedWhy = err.message;
        }
        success = world.success();
        if (opts.onStep) {
          const info: StepInfo = {
            episode: e,
            seed,
            step: steps,
            obs,
            primitive: d.primitive,
            candidates: d.candidates ?? [],
            metrics: world.metrics(),
            success,
          };
          if (refusedWhy) info.refused = refusedWhy;
          await opts.onStep(info);
        }
      }
      const r: EpisodeResult = {
        episode: e,
        seed,
        success,
        steps,
        stepsScored: success ? steps : world.stepLimit,
        initialMetrics,
        finalMetrics: world.metrics(),
        refused,
        wall: (performance.now() - w0) / 1000,
      };
      if (holdReason) r.holdReason = holdReason;
      results.push(r);
      await opts.onEpisode?.(r);
      const rate = results.filter((x) => x.success).length / results.length;
      progress.tick(1, { success: rate, steps: r.steps });
    }
  } finally {
    progress.stop();
  }
  return { result: aggregate(world.task, opts.seed, results), episodes: results };
}

/**
 * The eval contract: success rate, mean steps (failures count as the step limit) and the mean of each
 * final-state metric over all episodes (a metric is present when every episode reports it).
 */
export function aggregate(task: string, seed: number, eps: EpisodeResult[]): EvalResult {
  const n = eps.length;
  const metrics: Metrics = {};
  for (const key of ['iou', 'coverage', 'chamfer', 'emd'] as const) {
    const vals = eps.map((e) => e.finalMetrics[key]).filter((v): v is number => typeof v === 'number');
    if (n > 0 && vals.length === n) metrics[key] = vals.reduce((a, b) => a + b, 0) / n;
  }
  return {
    task,
    episodes: n,
    seed,
    success_rate: n ? eps.filter((e) => e.success).length / n : 0,
    mean_steps: n ? eps.reduce((a, e) => a + e.stepsScored, 0) / n : 0,
    metrics,
  };
}
