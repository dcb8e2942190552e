// `pamstack demo` (= `npm start`): the simulated stack with the live web viewer.
import type { Command } from 'commander';
import { z } from 'zod';
import { TaskNameSchema } from '../../core/task.ts';
import { action, flagDefault, intFlag, numFlag, parseFlags, printJson } from '../command-kit.ts';
import { runDemo } from '../demo.ts';
import { addDeciderOptions, DeciderFlags, deciderOverrides } from '../decider-flags.ts';

const Flags = z.strictObject({
  task: TaskNameSchema.default('rope-circle'),
  policy: z.string().min(1).optional(),
  ...DeciderFlags,
  episodes: intFlag(0, 1_000_000).default(0),
  seed: intFlag(0, 2 ** 32 - 1).default(1000),
  headless: z.boolean().default(false),
  port: intFlag(0, 65535).default(8080),
  host: z.string().min(1).default('127.0.0.1'),
  db: z.string().min(1).default('data/pamstack.db'),
  stepDelay: intFlag(0, 60_000).default(600),
  motionSpeed: numFlag(0, 100).default(1),
  json: z.boolean().optional(),
});

export function register(program: Command): void {
  const cmd = program
    .command('demo')
    .description('run the simulated stack: episodes with reward-guided selection, served live in the web app')
    .option('--task <task>', 'rope-circle | rope-<shape> | granular-t | cloth-unfold', flagDefault(Flags, 'task'))
    .option('--policy <policy>', 'a task folder (default: policies/<task> when committed, else expert), a policy checkpoint, expert or random');
  addDeciderOptions(cmd)
    .option('--episodes <n>', 'episodes to run; 0 runs until Ctrl-C', flagDefault(Flags, 'episodes'))
    .option('--seed <s>', 'first episode seed', flagDefault(Flags, 'seed'))
    .option('--headless', 'no web server (log only)')
    .option('--port <n>', 'web app port (0 picks a free one)', flagDefault(Flags, 'port'))
    .option('--host <host>', 'interface the web app listens on', flagDefault(Flags, 'host'))
    .option('--db <file>', 'SQLite store of the web app', flagDefault(Flags, 'db'))
    .option('--step-delay <ms>', 'pause between showing a decision and executing it, ms (web mode)', flagDefault(Flags, 'stepDelay'))
    .option('--motion-speed <x>', 'playback speed of the arm\'s motion in the browser (1 = real time, 0 = no motion)', flagDefault(Flags, 'motionSpeed'))
    .option('--json', 'print the episodes summary as one JSON object last')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(Flags, raw);
        let stop!: () => void;
        const stopped = new Promise<void>((r) => (stop = r));
        const onSig = (sig: NodeJS.Signals) => {
          process.stderr.write('\nstopping: the primitive in progress is aborted (Ctrl-C again to quit at once)\n');
          stop();
          process.once('SIGINT', () => process.exit(130));
          // A stop is graceful where it can be (abort, close the server, commit the store); a decision
          // still computing or a model still loading cannot be interrupted, so exit regardless after 1.5 s.
          setTimeout(() => {
            process.stderr.write('stopping took over 1.5 s: exiting now\n');
            process.exit(sig === 'SIGINT' ? 130 : 143);
          }, 1500).unref();
        };
        process.once('SIGINT', onSig);
        process.once('SIGTERM', onSig);
        const log = (l: string) => process.stderr.write(`${l}\n`);
        const out = await runDemo({
          task: f.task,
          ...(f.policy ? { policy: f.policy } : {}),
          overrides: deciderOverrides(f),
          episodes: f.episodes,
          seed: f.seed,
          headless: f.headless,
          port: f.port,
          host: f.host,
          db: f.db,
          stepDelayMs: f.stepDelay,
          motionSpeed: f.motionSpeed,
          log,
          stop: stopped,
        });
        process.off('SIGINT', onSig);
        process.off('SIGTERM', onSig);
        const r = out.result;
        log(
          `\n${r.task}: ${r.episodes} episodes, success rate ${(r.success_rate * 100).toFixed(1)} %, mean steps ${r.mean_steps.toFixed(2)}, metrics ${JSON.stringify(r.metrics)}`,
        );
        if (f.json) printJson(r);
      }),
    );
}
