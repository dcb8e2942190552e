// `pamstack flywheel`: on-policy rounds from a decider (label the states its reward visits, retrain, evaluate).
import type { Command } from 'commander';
import { z } from 'zod';
import { TaskNameSchema } from '../../core/task.ts';
import { action, CliError, flagDefault, intFlag, parseFlags, printJson } from '../command-kit.ts';
import { deciderSpecFor } from '../decider-spec.ts';
import { RoundsConfigSchema, runRounds } from '../flywheel/rounds.ts';

const defaults = RoundsConfigSchema.parse({});
const Flags = z.strictObject({
  task: TaskNameSchema,
  policy: z.string().min(1),
  out: z.string().min(1),
  data: z.string().min(1).optional(),
  rounds: intFlag(1, 100).default(defaults.rounds),
  states: intFlag(1, 100000).default(defaults.states),
  epochs: intFlag(1, 10000).default(defaults.epochs),
  evalEpisodes: intFlag(1, 10000).default(defaults.evalEpisodes),
  evalSeed: intFlag(0, 2 ** 32 - 1).default(defaults.evalSeed),
  seed: intFlag(0, 2 ** 31).default(defaults.seed),
  json: z.boolean().optional(),
});

export function register(program: Command): void {
  program
    .command('flywheel')
    .description('on-policy rounds: label the states the current reward visits, retrain the reward on all labels so far, evaluate; a table per round')
    .requiredOption('--task <task>', 'the task')
    .requiredOption('--policy <policy>', 'a decider with a bt or robust reward: a task folder (policies/<task>) or a checkpoint with --reward/--reward-dir in its default.json')
    .requiredOption('--out <dir>', 'where each round\'s labels and reward go, with rounds.json and rounds.md')
    .option('--data <dirs>', 'labelled data the current reward was trained on (comma-separated), kept in every round\'s training set')
    .option('--rounds <n>', 'rounds', flagDefault(Flags, 'rounds'))
    .option('--states <n>', 'states labelled per round', flagDefault(Flags, 'states'))
    .option('--epochs <n>', 'epochs of each round\'s reward', flagDefault(Flags, 'epochs'))
    .option('--eval-episodes <n>', 'evaluation episodes per round', flagDefault(Flags, 'evalEpisodes'))
    .option('--eval-seed <s>', 'first evaluation seed (validation seeds: never the test seeds)', flagDefault(Flags, 'evalSeed'))
    .option('--seed <s>', 'seed of round 0 (round r: seed + 100·r)', flagDefault(Flags, 'seed'))
    .option('--json', 'print one JSON summary object last')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(Flags, raw);
        const spec = deciderSpecFor(f.policy, {}, '--policy');
        if (spec.reward !== 'bt' && spec.reward !== 'robust') throw new CliError(`--policy: the decider's reward must be bt or robust (a reward folder to retrain), received ${spec.reward}`);
        const config = RoundsConfigSchema.parse({ rounds: f.rounds, states: f.states, epochs: f.epochs, evalEpisodes: f.evalEpisodes, evalSeed: f.evalSeed, seed: f.seed });
        const log = (l: string) => process.stderr.write(`${l}\n`);
        const { rows } = await runRounds(f.task, spec, { out: f.out, baseData: f.data ? f.data.split(',') : [], config, cwd: process.cwd(), log });
        if (f.json) printJson({ task: f.task, rounds: rows });
        else console.table(rows.map((r) => ({ round: r.round, states: r.states, success: r.success_rate, mean_steps: r.mean_steps, metric: r.metric, wall_s: Math.round(r.wall) })));
      }),
    );
}
