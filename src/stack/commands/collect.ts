// `pamstack collect`: scripted-expert demonstrations (clouds, acceptable actions, executed action, metrics).
import type { Command } from 'commander';
import { z } from 'zod';
import { collectDemonstrations } from '../collect-demos.ts';
import { createWorld, SIM_TASKS } from '../../../sim/index.ts';
import { TaskNameSchema } from '../../core/task.ts';
import { action, CliError, intFlag, parseFlags, printJson } from '../command-kit.ts';

const Flags = z.strictObject({
  task: TaskNameSchema,
  episodes: intFlag(1, 100000).default(10),
  seed: intFlag(0, 2 ** 32 - 1).default(0),
  out: z.string().min(1),
  maxActions: intFlag(1, 10).default(10),
  points: intFlag(1, 65536).default(4096),
  json: z.boolean().optional(),
  quiet: z.boolean().optional(),
});

export function register(program: Command): void {
  program
    .command('collect')
    .description('write scripted-expert demonstrations (format: docs/collect-format.md)')
    .requiredOption('--task <task>', `task: ${SIM_TASKS.join(', ')}`)
    .requiredOption('--out <dir>', 'output directory (must not already hold a demonstration set)')
    .option('--episodes <n>', 'episodes (episode i uses seed + i)', '10')
    .option('--seed <s>', 'first episode seed', '0')
    .option('--max-actions <k>', 'acceptable actions stored per state (1–10)', '10')
    .option('--points <n>', 'point budget of each stored cloud', '4096')
    .option('--json', 'print one JSON object { out, task, episodes, steps, successes, mean_actions } last')
    .option('--quiet', 'no progress bar')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(Flags, raw);
        let world;
        try {
          world = await createWorld(f.task);
        } catch (e) {
          throw new CliError(`--task: ${(e as Error).message}`);
        }
        try {
          const s = await collectDemonstrations(world, {
            episodes: f.episodes,
            seed: f.seed,
            out: f.out,
            maxActions: f.maxActions,
            pointBudget: f.points,
            quiet: f.quiet || f.json,
          });
          const summary = {
            out: f.out,
            task: f.task,
            episodes: f.episodes,
            steps: s.meta.steps,
            successes: s.successes,
            mean_actions: +s.meanActions.toFixed(3),
          };
          if (f.json) printJson(summary);
          else console.log(`wrote ${summary.steps} states from ${f.episodes} episodes of ${f.task} to ${f.out} (${s.successes} successful episodes, ${summary.mean_actions} actions per state)`);
        } finally {
          world.dispose();
        }
      }),
    );
}
