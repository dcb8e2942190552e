// `pamstack policies rebuild` (= `npm run policies:rebuild`): retrains the committed default policies.
import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { TaskNameSchema } from '../../core/task.ts';
import { action, intFlag, parentCommand, parseFlags, printJson } from '../command-kit.ts';
import { evaluateTask, profileFor, rebuildTask } from '../flywheel/rebuild.ts';

const Flags = z.strictObject({
  task: z.array(TaskNameSchema).default(['rope-circle']),
  profile: z.enum(['full', 'ci']).default('full'),
  policiesDir: z.string().min(1).default('policies'),
  runsDir: z.string().min(1).default('runs'),
  seed: intFlag(0, 2 ** 31).default(0),
  evaluateOnly: z.boolean().default(false),
  flywheelRounds: intFlag(0, 20).optional(),
  flywheelStates: intFlag(1, 100000).optional(),
  json: z.boolean().optional(),
});

export function register(program: Command): void {
  parentCommand(program, 'policies', 'the committed default policies (policies/<task>)')
    .command('rebuild')
    .description(
      'collect demos → train SL policy → roll out and label candidates → DPO + BT/robust rewards → point reward → flywheel rounds → evaluate; writes policies/<task>/README.md',
    )
    .option('--task <task...>', 'tasks to rebuild', ['rope-circle'])
    .option('--profile <p>', 'full (what policies/ holds) | ci (a small smoke of the same chain)', 'full')
    .option('--policies-dir <dir>', 'where checkpoints go', 'policies')
    .option('--runs-dir <dir>', 'where the (uncommitted) data goes', 'runs')
    .option('--seed <s>', 'seed of data, training and labels', '0')
    .option('--flywheel-rounds <n>', 'on-policy rounds on the point reward after the data steps, keeping the best round on validation seeds (default: the profile\'s; full: 0)')
    .option('--flywheel-states <n>', 'states labelled per flywheel round (default: the profile\'s; full: 400)')
    .option('--evaluate-only', 'keep the checkpoints in policies/<task> (steps.json) and redo the evaluation, default and README')
    .option('--json', 'print one JSON summary object last')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(Flags, raw);
        const root = fileURLToPath(new URL('../../../', import.meta.url));
        const log = (l: string) => process.stderr.write(`${l}\n`);
        const out: Record<string, unknown> = {};
        for (const task of f.task) {
          log(`== rebuilding ${task} (${f.profile} profile)`);
          const o = { root, policiesDir: f.policiesDir, runsDir: f.runsDir, seed: f.seed, log };
          const profile = profileFor(task, f.profile, {
            ...(f.flywheelRounds !== undefined ? { flywheelRounds: f.flywheelRounds } : {}),
            ...(f.flywheelStates !== undefined ? { flywheelStates: f.flywheelStates } : {}),
          });
          const r = f.evaluateOnly ? await evaluateTask(task, profile, o) : await rebuildTask(task, profile, o);
          log(`\n${task}: rebuilt in ${(r.wall / 60).toFixed(1)} min`);
          log('method        success  steps');
          for (const row of r.table)
            log(`${row.method.padEnd(13)} ${(row.result.success_rate * 100).toFixed(0).padStart(5)} %  ${row.result.mean_steps.toFixed(2)}`);
          out[task] = { wall_s: r.wall, table: r.table.map((x) => ({ method: x.method, ...x.result })) };
        }
        if (f.json) printJson(out);
      }),
    );
}
