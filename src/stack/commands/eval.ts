// `pamstack eval`: runs a policy (expert, random or a trained policy) in the simulator over seeded episodes.
import type { Command } from 'commander';
import { z } from 'zod';
import { createWorld, SIM_TASKS } from '../../../sim/index.ts';
import { TaskNameSchema } from '../../core/task.ts';
import type { World } from '../../core/world.ts';
import { resolveAgent, SELECT_MODES, type SelectMode } from '../agents.ts';
import { firstScorer, loadExplicitReward, noisyExpertActionProposer, RasAgent, randomScorer, rewardModelScorer } from '../ras-agent.ts';
import { action, CliError, intFlag, parseFlags, printJson } from '../command-kit.ts';
import { evaluate, type StepInfo } from '../evaluate.ts';
import { EpisodeRecorder, episodeFileName } from '../../record/index.ts';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const Flags = z.strictObject({
  task: TaskNameSchema,
  policy: z.string().min(1),
  select: z.enum(SELECT_MODES).default('ras'),
  episodes: intFlag(1, 100000).default(10),
  seed: intFlag(0, 2 ** 32 - 1).default(0),
  reward: z.enum(['implicit', 'bt', 'robust']).default('implicit'),
  rewardDir: z.string().min(1).optional(),
  candidates: intFlag(1, 256).default(8),
  lcb: z.coerce.number().min(0).max(10).default(0),
  draws: intFlag(1, 1000).default(100),
  noise: z.coerce.number().min(0).max(1).optional(),
  record: z.string().min(1).optional(),
  json: z.boolean().optional(),
  quiet: z.boolean().optional(),
});

export function register(program: Command): void {
  program
    .command('eval')
    .description('evaluate a policy in the simulator: success rate, mean steps and final metrics over seeded episodes')
    .requiredOption('--task <task>', `task: ${SIM_TASKS.join(', ')}, cloth-unfold`)
    .requiredOption('--policy <policy>', 'expert | random | a policy directory')
    .option('--select <mode>', `candidate selection for policies: ${SELECT_MODES.join(' | ')}`, 'ras')
    .option('--episodes <n>', 'episodes (episode i uses seed + i)', '10')
    .option('--seed <s>', 'first episode seed', '0')
    .option('--reward <r>', 'with --select ras: implicit (the policy is a DPO model) | bt | robust', 'implicit')
    .option('--reward-dir <dir>', 'with --reward bt|robust: folder written by pamstack train reward')
    .option('--candidates <n>', 'candidates a policy samples per state', '8')
    .option('--lcb <k>', 'robust reward: rank by μ − k·σ', '0')
    .option('--draws <m>', 'implicit reward: noise draws per candidate', '100')
    .option('--noise <m>', 'with --policy expert: propose --candidates expert actions jittered by this std (m) and pick by --select (ras: --reward bt|robust)')
    .option('--record <dir>', 'write one MCAP file per episode (ros2 profile, cdr: cloud, candidates, executed primitive)')
    .option('--json', 'print one JSON object { task, episodes, seed, success_rate, mean_steps, metrics } last')
    .option('--quiet', 'no progress bar')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(Flags, raw);
        if (f.noise !== undefined && f.policy !== 'expert') throw new CliError('--noise: only with --policy expert (the jittered-expert proposer)');
        if (f.noise !== undefined && f.select === 'ras' && f.reward === 'implicit')
          throw new CliError('--reward: the jittered expert has no implicit reward; use --reward bt|robust with --reward-dir');
        let world;
        try {
          world = await createWorld(f.task);
        } catch (e) {
          throw new CliError(`--task: ${(e as Error).message}`);
        }
        let dispose = () => {};
        try {
          let agent;
          if (f.noise !== undefined) {
            const jittered = await jitteredExpertAgent(world, { ...f, noise: f.noise });
            agent = jittered.agent;
            dispose = jittered.dispose;
          } else
            agent = await resolveAgent(f.policy, {
              select: f.select,
              reward: f.reward,
              candidates: f.candidates,
              lcb: f.lcb,
              draws: f.draws,
              ...(f.rewardDir ? { rewardDir: f.rewardDir } : {}),
            });
          const recorder = f.record ? episodeRecorder(f.record, { task: f.task, policy: f.policy, select: f.select }) : null;
          const { result } = await evaluate(world, agent, {
            episodes: f.episodes,
            seed: f.seed,
            quiet: f.quiet || f.json,
            ...(recorder ? { onStep: recorder.onStep } : {}),
            // Each episode's line as soon as it ends (long runs show results as they come).
            onEpisode: async (e) => {
              await recorder?.onEpisodeEnd();
              if (!f.json)
                  console.log(
                    `episode ${e.episode} seed ${e.seed}: ${e.success ? 'success' : 'failure'} after ${e.steps} steps, iou ${fmt(e.finalMetrics.iou)}${e.finalMetrics.coverage !== undefined ? `, coverage ${fmt(e.finalMetrics.coverage)}` : ''} (${e.wall.toFixed(1)} s)`,
                  );
            },
          }).finally(() => recorder?.abortOpen());
          if (recorder && !f.json) console.log(`recorded ${recorder.files.length} episode bags in ${f.record}`);
          if (f.json) printJson(result);
          else
            console.log(
              `${result.task} ${agent.name}: success rate ${(result.success_rate * 100).toFixed(1)} % over ${result.episodes} episodes, mean steps ${result.mean_steps.toFixed(2)}, metrics ${JSON.stringify(result.metrics)}`,
            );
        } finally {
          world.dispose();
          dispose();
        }
      }),
    );
}

/**
 * `--policy expert --noise M`: the world's expert actions jittered by N(0, M²) (the stand-in proposer of
 * `pamstack train reward --eval-episodes`), N per state, picked by --select: first, random, or ras with
 * an explicit reward (bt | robust from --reward-dir).
 */
async function jitteredExpertAgent(
  world: World,
  f: { noise: number; select: SelectMode; reward: string; rewardDir?: string | undefined; candidates: number; lcb: number },
): Promise<{ agent: RasAgent; dispose(): void }> {
  const proposer = noisyExpertActionProposer(world, f.noise);
  if (f.select !== 'ras') return { agent: new RasAgent({ proposer, scorer: f.select === 'first' ? firstScorer() : randomScorer(), n: f.candidates }), dispose: () => {} };
  if (!f.rewardDir) throw new CliError(`--reward-dir: --reward ${f.reward} needs a folder written by pamstack train reward (or pamstack transfer)`);
  const { initBackend } = await import('../../nn/backend.ts');
  await initBackend({ log: null });
  let loaded;
  try {
    loaded = await loadExplicitReward(f.rewardDir, f.reward);
  } catch (e) {
    throw new CliError(`--reward-dir: ${(e as Error).message}`);
  }
  const { model, features } = loaded;
  const scorer = rewardModelScorer(model, features, world.workspace);
  return { agent: new RasAgent({ proposer, scorer, n: f.candidates, lcb: f.lcb }), dispose: () => model.dispose() };
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
      const i = s.primitive ? s.candidates.findIndex((c) => c.primitive === s.primitive) : -1;
      await rec.step({
        t: (performance.now() - t0) / 1000,
        cloud: s.obs,
        candidates: s.candidates,
        chosen: i >= 0 ? i : null,
        executed: s.refused ? null : s.primitive,
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
