// `pamstack eval`: runs a policy (expert, random or a trained policy) in the simulator over seeded episodes.
import type { Command } from 'commander';
import { z } from 'zod';
import { createWorld, SIM_TASKS } from '../../../sim/index.ts';
import { TaskNameSchema } from '../../core/task.ts';
import { resolveAgent, SELECT_MODES } from '../agents.ts';
import { action, CliError, intFlag, parseFlags, printJson } from '../command-kit.ts';
import { evaluate } from '../evaluate.ts';

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
    .option('--json', 'print one JSON object { task, episodes, seed, success_rate, mean_steps, metrics } last')
    .option('--quiet', 'no progress bar')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(Flags, raw);
        const agent = await resolveAgent(f.policy, {
          select: f.select,
          reward: f.reward,
          candidates: f.candidates,
          lcb: f.lcb,
          draws: f.draws,
          ...(f.rewardDir ? { rewardDir: f.rewardDir } : {}),
        });
        let world;
        try {
          world = await createWorld(f.task);
        } catch (e) {
          throw new CliError(`--task: ${(e as Error).message}`);
        }
        try {
          const { result } = await evaluate(world, agent, {
            episodes: f.episodes,
            seed: f.seed,
            quiet: f.quiet || f.json,
            // Each episode's line as soon as it ends (long runs show results as they come).
            onEpisode: f.json
              ? undefined
              : (e) =>
                  console.log(
                    `episode ${e.episode} seed ${e.seed}: ${e.success ? 'success' : 'failure'} after ${e.steps} steps, iou ${fmt(e.finalMetrics.iou)}${e.finalMetrics.coverage !== undefined ? `, coverage ${fmt(e.finalMetrics.coverage)}` : ''} (${e.wall.toFixed(1)} s)`,
                  ),
          });
          if (f.json) printJson(result);
          else
            console.log(
              `${result.task} ${agent.name}: success rate ${(result.success_rate * 100).toFixed(1)} % over ${result.episodes} episodes, mean steps ${result.mean_steps.toFixed(2)}, metrics ${JSON.stringify(result.metrics)}`,
            );
        } finally {
          world.dispose();
        }
      }),
    );
}

function fmt(v: number | undefined): string {
  return v === undefined ? '-' : v.toFixed(3);
}
