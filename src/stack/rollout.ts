// The one loop over episodes: reset → observe → decide → execute (next-best safe candidate on a refusal)
// → record, with hooks for recorders, collectors, the live view and teleop. Eval, demo and collection use it.
import type { Candidate, EvalResult, Metrics } from '../core/episode.ts';
import type { PointCloud } from '../core/pointcloud.ts';
import type { Primitive } from '../core/primitive.ts';
import { startProgress } from '../core/progress.ts';
import { deriveSeed, Rng, SeedStream } from '../core/rng.ts';
import { PrimitiveRefusedError, type ExecuteOptions, type World } from '../core/world.ts';
import type { Decider, DecisionContext, TimedDecision } from './decider.ts';

/** One episode's outcome. `steps` counts executed decisions; a failure has steps ≤ stepLimit. */
export interface EpisodeResult {
  episode: number;
  seed: number;
  success: boolean;
  steps: number;
  /** Steps to success, or the step limit for a failed episode (DeformPAM's convention). */
  stepsScored: number;
  initialMetrics: Metrics;
  finalMetrics: Metrics;
  /** Primitives the world refused at execution (each was replaced by the next-best safe candidate). */
  refused: number;
  holdReason?: string;
  /** Wall time, s. */
  wall: number;
}

/** Where the loop stands when a hook is called. */
export interface StepContext {
  episode: number;
  seed: number;
  /** 1-based index of the step about to run (or just run). */
  step: number;
  obs: PointCloud;
}

/** What a step did (e.g. for a recorder writing MCAP). */
export interface StepInfo extends StepContext {
  /** The executed primitive; null when every candidate tried was refused. */
  primitive: Primitive | null;
  /** The decision's candidates (verdicts updated with execution refusals); empty for an override. */
  candidates: Candidate[];
  /** Index of the executed candidate, null for an override or when none ran. */
  chosen: number | null;
  decision: TimedDecision | null;
  /** `decider`, or the source an override named (e.g. `teleop`). */
  source: string;
  /** Why the world refused the primitives tried before the executed one (or all of them). */
  refused?: string;
  /** The executed primitive was stopped partway by its abort signal (an e-stop); the tools stayed where they were. */
  aborted?: boolean;
  metrics: Metrics;
  success: boolean;
}

/** A primitive to run instead of deciding (teleop), or a request to stop the episode. */
export type StepOverride = { primitive: Primitive; source: string } | { stop: string };

export interface RolloutHooks {
  /** Before each decision: wait (an e-stop), run another primitive (teleop) or stop. */
  beforeDecide?(s: StepContext): Promise<StepOverride | null> | StepOverride | null;
  /** After the decider answered, before anything moves (the live view shows it here). */
  onDecision?(s: StepContext, d: TimedDecision): Promise<void> | void;
  /**
   * Which candidate to execute instead of the decider's choice (collectors: the oracle's best, a random
   * one); null holds. The fallback on a refusal continues from it in the decision's order.
   */
  choose?(s: StepContext, d: TimedDecision, rng: Rng): Promise<number | null> | number | null;
  /** Just before a primitive goes to the world: arms a motion observer; may give the execution an abort signal or a pace. */
  beforeExecute?(s: StepContext, p: Primitive): ExecuteOptions | void;
  onStep?(s: StepInfo): Promise<void> | void;
  onEpisode?(r: EpisodeResult): Promise<void> | void;
}

export interface RolloutOptions {
  episodes: number;
  /** Episode i runs on seed + i (world reset and the decision seeds). */
  seed: number;
  /** No progress bar. */
  quiet?: boolean;
  /** Checked before each decision and episode: true ends the rollout (the episode in progress ends as held). */
  stop?: () => boolean;
  hooks?: RolloutHooks;
  /** Steps per episode at most. @default the world's step limit */
  maxSteps?: number;
  /** Keep acting after success (segments that show a held goal too). @default false */
  pastSuccess?: boolean;
  /** Extra context for every decision (e.g. safety settings). */
  context?: Pick<DecisionContext, 'safety' | 'check'>;
}

/**
 * Runs `episodes` episodes of `decider` in `world`: reset(seed + i), then observe → decide → execute
 * until success, the step limit or a hold. A primitive the world refuses at execution (the state is
 * unchanged) is replaced by the next-best safe candidate; when every one is refused the episode holds
 * with the reasons.
 */
export async function rollout(world: World, decider: Decider, opts: RolloutOptions): Promise<{ result: EvalResult; episodes: EpisodeResult[] }> {
  const h = opts.hooks ?? {};
  const progress = startProgress(`${world.task} ${decider.name}`, opts.episodes, { quiet: opts.quiet ?? false });
  const results: EpisodeResult[] = [];
  try {
    for (let e = 0; e < opts.episodes && !opts.stop?.(); e++) {
      const r = await runEpisode(world, decider, e, (opts.seed + e) >>> 0, opts, h);
      results.push(r);
      await h.onEpisode?.(r);
      progress.tick(1, { success: results.filter((x) => x.success).length / results.length, steps: r.steps });
    }
  } finally {
    progress.stop();
  }
  return { result: aggregate(world.task, opts.seed, results), episodes: results };
}

async function runEpisode(world: World, decider: Decider, episode: number, seed: number, opts: RolloutOptions, h: RolloutHooks): Promise<EpisodeResult> {
  const w0 = performance.now();
  world.reset(seed);
  const rng = new Rng(deriveSeed(seed, SeedStream.episode));
  const initialMetrics = world.metrics();
  let success = world.success();
  let steps = 0;
  let refused = 0;
  let holdReason: string | undefined;
  const maxSteps = opts.maxSteps ?? world.stepLimit;
  while ((opts.pastSuccess || !success) && steps < maxSteps) {
    if (opts.stop?.()) {
      holdReason = 'stopped';
      break;
    }
    const obs = world.observe();
    const s: StepContext = { episode, seed, step: steps + 1, obs };
    const override = await h.beforeDecide?.(s);
    if (override && 'stop' in override) {
      holdReason = override.stop;
      break;
    }
    let info: StepInfo;
    if (override) {
      const ran = await tryExecute(world, override.primitive, h.beforeExecute?.(s, override.primitive) ?? undefined);
      if (ran.refused) refused++;
      info = {
        ...s,
        primitive: ran.refused ? null : override.primitive,
        candidates: [],
        chosen: null,
        decision: null,
        source: override.source,
        metrics: world.metrics(),
        success: world.success(),
        ...(ran.refused ? { refused: ran.refused } : {}),
        ...(ran.aborted ? { aborted: true } : {}),
      };
    } else {
      const ctx: DecisionContext = { workspace: world.workspace, kind: world.primitive, seed: deriveSeed(rng.nextU32(), decider.spec.seed), world, ...opts.context };
      const d = await decider.decide(obs, ctx);
      await h.onDecision?.(s, d);
      const first = h.choose ? await h.choose(s, d, rng) : d.chosen;
      if (first === null) {
        holdReason = d.holdReason ?? 'the decider held';
        break;
      }
      // The chosen candidate, then the rest of the safe ones best first.
      const order = [first, ...d.fallback.filter((i) => i !== first)];
      const why: string[] = [];
      let ran: number | null = null;
      let aborted = false;
      for (const i of order) {
        const p = d.candidates[i]!.primitive;
        const r = await tryExecute(world, p, h.beforeExecute?.(s, p) ?? undefined);
        if (!r.refused) {
          ran = i;
          aborted = r.aborted;
          break;
        }
        refused++;
        why.push(`#${i}: ${r.refused}`);
        d.candidates[i] = { ...d.candidates[i]!, safe: false, reason: r.refused };
      }
      info = {
        ...s,
        primitive: ran === null ? null : d.candidates[ran]!.primitive,
        candidates: d.candidates,
        chosen: ran,
        decision: d,
        source: 'decider',
        metrics: world.metrics(),
        success: world.success(),
        ...(why.length ? { refused: why.join('; ') } : {}),
        ...(aborted ? { aborted: true } : {}),
      };
      if (ran === null) {
        await h.onStep?.(info);
        holdReason = `hold: the world refused every safe candidate (${why.join('; ')})`;
        break;
      }
    }
    steps++;
    success = info.success;
    await h.onStep?.(info);
  }
  const r: EpisodeResult = {
    episode,
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
  return r;
}

/** Runs `p`: the refusal's message when the world refused it (state unchanged), and whether an abort signal stopped it. */
async function tryExecute(world: World, p: Primitive, opts?: ExecuteOptions): Promise<{ refused: string | null; aborted: boolean }> {
  try {
    const r = await world.execute(p, opts);
    return { refused: null, aborted: r.aborted === true };
  } catch (err) {
    if (err instanceof PrimitiveRefusedError) return { refused: err.message, aborted: false };
    throw err;
  }
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
