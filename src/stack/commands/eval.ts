// `pamstack eval`: runs a policy (expert, random or a trained policy) in the simulator over seeded episodes.
import type { Command } from 'commander';
import { z } from 'zod';
import { createWorld, SIM_TASKS } from '../../../sim/index.ts';
import { TaskNameSchema } from '../../core/task.ts';
import { action, CliError, flagDefault, intFlag, parseFlags, printJson } from '../command-kit.ts';
import { deciderSpecFor, describeSpec } from '../decider-spec.ts';
import { rollout, type EpisodeResult, type StepInfo } from '../rollout.ts';
import { defaultWorkers, rolloutParallel } from '../rollout-parallel.ts';
import { oracleChoice } from '../collect-states.ts';
import type { EvalResult } from '../../core/episode.ts';
import { EpisodeRecorder, episodeFileName } from '../../record/index.ts';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { addDeciderOptions, DeciderFlags, deciderOverrides, loadCommandDecider } from '../decider-flags.ts';

const Flags = z.strictObject({
  task: TaskNameSchema,
  policy: z.string().min(1),
  ...DeciderFlags,
  episodes: intFlag(1, 100000).default(10),
  seed: intFlag(0, 2 ** 32 - 1).default(0),
  record: z.string().min(1).optional(),
  workers: intFlag(1, 256).optional(),
  oracle: z.boolean().default(false),
  json: z.boolean().optional(),
  quiet: z.boolean().optional(),
});

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description('evaluate a decider in the simulator: success rate, mean steps and final metrics over seeded episodes')
    .requiredOption('--task <task>', `task: ${SIM_TASKS.join(', ')}`)
    .requiredOption('--policy <policy>', 'a task folder with default.json (policies/<task>: its decider spec), a policy checkpoint folder, expert or random');
  addDeciderOptions(cmd)
    .option('--episodes <n>', 'episodes (episode i uses seed + i)', flagDefault(Flags, 'episodes'))
    .option('--seed <s>', 'first episode seed', flagDefault(Flags, 'seed'))
    .option('--record <dir>', 'write one MCAP file per episode (ros2 profile, cdr: cloud, candidates, executed primitive)')
    .option('--oracle', "sim only: run the candidate the candidate oracle scores best (each tried from the saved state) instead of the decider's choice; the ceiling of selection among its candidates")
    .option('--workers <n>', "worker threads, one sim world each (results equal a serial run's; default: the machine's cores, 1 with --record)")
    .option('--json', 'print one JSON object { task, episodes, seed, success_rate, mean_steps, metrics, decider } last')
    .option('--quiet', 'no progress bar')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(Flags, raw);
        const overrides = deciderOverrides(f);
        if (f.oracle) {
          const scoring = (['select', 'reward', 'rewardDir', 'lcb', 'draws'] as const).filter((k) => overrides[k] !== undefined);
          if (scoring.length) throw new CliError(`--oracle: the oracle chooses; drop --${scoring[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
          if (f.policy === 'expert' && overrides.noise === undefined) throw new CliError('--oracle: with --policy expert give --noise (the unjittered expert proposes one candidate)');
          // The decider only proposes (no reward is loaded or run); the candidates are those its spec proposes.
          overrides.select = 'first';
        }
        const spec = deciderSpecFor(f.policy, overrides, '--policy');
        const chooser = f.oracle ? 'oracle' : undefined;
        if (f.record && f.workers !== undefined && f.workers > 1) throw new CliError('--workers: 1 with --record (the recorder runs in this process)');
        const workers = f.workers ?? (f.record ? 1 : defaultWorkers(f.episodes));
        const logEpisode = (e: EpisodeResult) => {
          if (!f.json)
            console.log(
              `episode ${e.episode} seed ${e.seed}: ${e.success ? 'success' : 'failure'} after ${e.steps} steps, iou ${fmt(e.finalMetrics.iou)}${e.finalMetrics.coverage !== undefined ? `, coverage ${fmt(e.finalMetrics.coverage)}` : ''} (${e.wall.toFixed(1)} s)`,
            );
        };
        const report = (result: EvalResult, name: string) => {
          if (f.json) printJson({ ...result, decider: describeSpec(spec), ...(chooser ? { chooser } : {}) });
          else
            console.log(
              `${result.task} ${name}: success rate ${(result.success_rate * 100).toFixed(1)} % over ${result.episodes} episodes, mean steps ${result.mean_steps.toFixed(2)}, metrics ${JSON.stringify(result.metrics)}`,
            );
        };
        if (workers > 1) {
          let result;
          try {
            ({ result } = await rolloutParallel(f.task, spec, { episodes: f.episodes, seed: f.seed, workers, quiet: f.quiet || f.json, onEpisode: logEpisode, oracle: f.oracle }));
          } catch (e) {
            throw new CliError(`eval: ${(e as Error).message}`, 1);
          }
          report(result, `${chooser ?? spec.method ?? spec.select} (${workers} workers)`);
          return;
        }
        let world;
        try {
          world = await createWorld(f.task);
        } catch (e) {
          throw new CliError(`--task: ${(e as Error).message}`);
        }
        const decider = await loadCommandDecider(world, spec);
        try {
          const recorder = f.record ? episodeRecorder(f.record, { task: f.task, policy: f.policy, select: spec.select }) : null;
          const { result } = await rollout(world, decider, {
            episodes: f.episodes,
            seed: f.seed,
            quiet: f.quiet || f.json,
            hooks: {
              ...(recorder ? { onStep: recorder.onStep } : {}),
              ...(f.oracle ? { choose: oracleChoice(world) } : {}),
              // Each episode's line as soon as it ends (long runs show results as they come).
              onEpisode: async (e) => {
                await recorder?.onEpisodeEnd();
                logEpisode(e);
              },
            },
          }).finally(() => recorder?.abortOpen());
          if (recorder && !f.json) console.log(`recorded ${recorder.files.length} episode bags in ${f.record}`);
          report(result, chooser ?? decider.name);
        } finally {
          world.dispose();
          decider.dispose();
        }
      }),
    );
}

/** Writes each episode of an eval into DIR as an MCAP bag (src/record), one file per episode. */
function episodeRecorder(dir: string, info: { task: string; policy: string; select: string }) {
  mkdirSync(dir, { recursive: true });
  let rec: EpisodeRecorder | null = null;
  const files: string[] = [];
  // StepInfo has no sim clock; the bag's step times are wall seconds since the episode started.
  let t0 = 0;
  return {
    files,
    onStep: async (s: StepInfo) => {
      if (!rec) {
        const ep = { ...info, seed: s.seed, episode: s.episode };
        rec = await EpisodeRecorder.open(join(dir, episodeFileName(ep)), ep);
        t0 = performance.now();
      }
      await rec.step({
        t: (performance.now() - t0) / 1000,
        cloud: s.obs,
        candidates: s.candidates,
        chosen: s.chosen,
        executed: s.primitive,
        metrics: s.metrics,
        success: s.success,
      });
    },
    onEpisodeEnd: async () => {
      if (rec) files.push(await rec.close());
      rec = null;
    },
    /** A failed run leaves no half-written bag behind. */
    abortOpen: async () => {
      await rec?.abort();
      rec = null;
    },
  };
}

function fmt(v: number | undefined): string {
  return v === undefined ? '-' : v.toFixed(3);
}
