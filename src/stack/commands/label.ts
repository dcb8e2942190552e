// `pamstack label`: scripted rankings for recorded candidate states (and, with --collect, record them in sim first).
import type { Command } from 'commander';
import { join } from 'node:path';
import { z } from 'zod';
import { Rng } from '../../core/rng.ts';
import { startProgress } from '../../core/progress.ts';
import { TaskNameSchema, type TaskName } from '../../core/task.ts';
import type { World } from '../../core/world.ts';
import { RANKINGS_FILE, readStates, writeJsonl, writeStates } from '../../preference/dataset.ts';
import { scriptedRanker, scriptedRanking } from '../../preference/ranker.ts';
import { readRewardMeta } from '../../preference/reward-io.ts';
import { teacherPreset, TEACHER_PRESETS, type TeacherConfig } from '../../preference/teachers.ts';
import type { TaskGoal } from '../../core/goal.ts';
import { ItemPushClient, ItemPushError, pushEndpoint, readTokenFile } from '../../store/item-push-client.ts';
import { action, CliError, intFlag, numFlag, parseFlags, printJson } from '../command-kit.ts';
import { pushStates } from '../push-states.ts';
import type { DeciderOverrides } from '../decider-spec.ts';

const Flags = z.strictObject({
  data: z.string().min(1),
  teacher: z.enum(TEACHER_PRESETS).default('mistake'),
  beta: numFlag().optional(),
  mistake: numFlag(0, 1).optional(),
  equal: numFlag(0).optional(),
  skip: numFlag().optional(),
  seed: intFlag(0).default(0),
  collect: z.boolean().default(false),
  task: TaskNameSchema.default('rope-circle'),
  states: intFlag(1, 100000).default(100),
  candidates: intFlag(2, 32).default(8),
  noise: numFlag(0, 1).default(0.03),
  execute: z.enum(['best', 'random', 'first', 'mixed', 'reward']).default('random'),
  rewardDir: z.string().min(1).optional(),
  lcb: numFlag(0).default(0),
  demos: intFlag(0, 32).default(0),
  policy: z.string().min(1).default('expert'),
  active: intFlag(1, 100000).optional(),
  activeReward: z.string().min(1).optional(),
  push: z.string().min(1).optional(),
  tokenFile: z.string().min(1).optional(),
  pushTimeout: numFlag(1, 86_400).default(60),
  workers: intFlag(1, 256).optional(),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  program
    .command('label')
    .description('scripted (B-Pref-style) rankings of recorded candidate states; --collect records states in sim first')
    .requiredOption('--data <dir>', 'dataset folder: reads/writes states.jsonl, writes rankings.jsonl')
    .option('--teacher <name>', `teacher preset: ${TEACHER_PRESETS.join('|')}`, 'mistake')
    .option('--beta <x>', 'Boltzmann rationality (≤ 0: rational); overrides the preset')
    .option('--mistake <p>', 'probability of a random pick at each place; overrides the preset')
    .option('--equal <x>', 'oracle-score spread below which the remaining candidates are tied')
    .option('--skip <x>', 'skip states whose best oracle score is at or below this')
    .option('--seed <n>', 'seed for the teacher (and the rollouts with --collect)', '0')
    .option('--collect', 'first roll out in sim and record states (candidates scored by the candidate oracle)')
    .option('--task <task>', 'with --collect: the task', 'rope-circle')
    .option('--states <n>', 'with --collect: states to record', '100')
    .option('--candidates <n>', 'with --collect: candidates per state', '8')
    .option('--noise <m>', 'with --collect: std (m) of the jitter on the expert actions that serve as candidates', '0.03')
    .option(
      '--execute <how>',
      'with --collect: best|random|first candidate executed to move on, mixed (best or random, even odds per step), or reward (the choice of --reward-dir: the states that reward visits)',
      'random',
    )
    .option('--reward-dir <dir>', 'with --execute reward: the reward model (reward.json) that chooses')
    .option('--lcb <k>', 'with --execute reward and a robust reward: choose by μ − k·σ', '0')
    .option('--demos <k>', 'with --collect: expert actions to record per state', '0')
    .option('--policy <policy>', 'with --collect: who proposes the candidates: a task folder (its decider spec), a policy checkpoint (DDIM, eta 1) or the jittered expert', 'expert')
    .option('--active <k>', 'rank only the k states the reward(s) of --active-reward are least sure of (the rest stay unlabelled)')
    .option('--active-reward <dirs>', 'with --active: one robust reward (σ of its top candidates) or several rewards, comma-separated (ensemble disagreement)')
    .option('--push <url>', 'also queue the states this run labels as rank items on a remote `pamstack serve` (its URL), for human annotators')
    .option('--token-file <file>', 'with --push: file holding a robot token (`pamstack users add --role robot`)')
    .option('--push-timeout <s>', 'with --push: seconds to keep retrying delivery at the end before giving up', '60')
    .option('--workers <n>', "with --collect: worker threads, one sim world and decider each (the states equal a serial run's; default: the machine's cores)")
    .option('--json', 'print one JSON summary object')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(Flags, raw);
        if ((f.active === undefined) !== (f.activeReward === undefined))
          throw new CliError(f.active === undefined ? '--active-reward: only used with --active <k>' : '--active: needs --active-reward <dir[,dir…]> (the reward whose uncertainty chooses)');
        if ((f.execute === 'reward') !== (f.rewardDir !== undefined))
          throw new CliError(f.rewardDir ? '--reward-dir: only used with --execute reward' : '--execute reward: needs --reward-dir <dir> (the reward that chooses)');
        if (f.execute === 'reward' && (!f.collect || f.policy === 'expert'))
          throw new CliError('--execute reward: needs --collect and a --policy (a checkpoint or task folder whose candidates the reward chooses among)');
        if (f.workers !== undefined && !f.collect) throw new CliError('--workers: only used with --collect (the rollouts run on workers)');
        if ((f.push === undefined) !== (f.tokenFile === undefined))
          throw new CliError(f.push ? '--push: needs --token-file <file> (the token never goes on the command line)' : '--token-file: only used with --push <url>');
        // Before the collection: a bad URL or a refused token fails in seconds, not after the rollouts.
        const pusher = f.push ? await openPusher(f.push, f.tokenFile!) : null;
        let goal: TaskGoal | undefined;
        if (f.collect) {
          const [{ createWorld }, { deciderSpecFor }, { loadCommandDecider }, { collectCandidateStates }, { collectParallel, defaultWorkers }] = await Promise.all([
            import('../../../sim/index.ts'),
            import('../decider-spec.ts'),
            import('../decider-flags.ts'),
            import('../collect-states.ts'),
            import('../rollout-parallel.ts'),
          ]);
          // The decider proposes the N candidates; it scores only when its choice is what runs (--execute reward).
          const overrides: DeciderOverrides = { candidates: f.candidates, select: 'first' };
          if (f.policy === 'expert') overrides.noise = f.noise;
          if (f.rewardDir) Object.assign(overrides, { select: 'ras', reward: rewardKind(f.rewardDir), rewardDir: f.rewardDir, lcb: f.lcb });
          const spec = deciderSpecFor(f.policy, overrides, '--policy');
          const workers = f.workers ?? defaultWorkers(f.states);
          const bar = startProgress(workers > 1 ? `collect ×${workers} workers` : 'collect', f.states, { quiet: f.json });
          try {
            const opts = { states: f.states, seed: f.seed, execute: f.execute, demos: f.demos, onState: () => bar.tick() };
            let states;
            if (workers > 1) {
              // The rollouts' worlds live in the workers; the pushed items' goal (fixed per task) needs one here only with --push.
              if (pusher) goal = await taskGoalOf(createWorld, f.task);
              try {
                states = await collectParallel(f.task, spec, { ...opts, workers });
              } catch (e) {
                throw new CliError(`label --collect: ${(e as Error).message}`, 1);
              }
            } else {
              const world = await createWorld(f.task);
              goal = world.taskGoal?.();
              const decider = await loadCommandDecider(world, spec).catch((e: unknown) => {
                world.dispose();
                throw e;
              });
              try {
                states = await collectCandidateStates(world, decider, opts);
              } finally {
                decider.dispose();
                world.dispose();
              }
            }
            writeStates(f.data, states);
          } finally {
            bar.stop();
          }
        }
        let states = readStates(f.data);
        if (f.active !== undefined) {
          const { loadRewardModel } = await import('../../preference/reward-io.ts');
          const { FeatureConfigSchema } = await import('../../preference/features.ts');
          const { ensembleUncertainty, mostUncertain, robustUncertainty } = await import('../../preference/active.ts');
          const { initBackend } = await import('../../nn/backend.ts');
          await initBackend({ log: f.json ? null : undefined });
          const loaded = f.activeReward!.split(',').map((d) => loadRewardModel(d));
          try {
            const feats = loaded.map((l) => JSON.stringify(l.features));
            if (new Set(feats).size > 1) throw new CliError('--active-reward: the rewards must share one feature config');
            const features = loaded[0]!.features ?? FeatureConfigSchema.parse({});
            if (loaded.length === 1 && loaded[0]!.model.config.model !== 'robust')
              throw new CliError(`--active-reward: one reward must be robust (its σ), ${f.activeReward} is ${loaded[0]!.model.config.model}; give several for ensemble disagreement`);
            const u = loaded.length === 1 ? robustUncertainty(loaded[0]!.model, features) : ensembleUncertainty(loaded.map((l) => l.model), features);
            states = mostUncertain(states, u, Math.min(f.active!, states.length));
          } finally {
            loaded.forEach((l) => l.model.dispose());
          }
        }
        const cfg: Partial<TeacherConfig> = { ...teacherPreset(f.teacher, 0.1) };
        if (f.beta !== undefined) cfg.beta = f.beta;
        if (f.mistake !== undefined) cfg.mistake = f.mistake;
        if (f.equal !== undefined) cfg.equal = f.equal;
        if (f.skip !== undefined) cfg.skip = f.skip;
        const ranker = scriptedRanker(cfg, f.teacher);
        const rng = new Rng(f.seed + 17);
        const rankings = [];
        let skipped = 0;
        for (const s of states) {
          if (!s.oracle) throw new CliError(`state ${s.stateId} has no oracle scores; record it with --collect (sim) first`);
          const r = ranker.rank(s.oracle, rng);
          if (!r) {
            skipped++;
            continue;
          }
          rankings.push(scriptedRanking(s.stateId, s.candidates.length, r, { annotator: `scripted:${f.teacher}`, time: Date.now() }));
        }
        const out = join(f.data, RANKINGS_FILE);
        writeJsonl(out, rankings);
        const summary: Record<string, unknown> = { states: states.length, rankings: rankings.length, skipped, teacher: f.teacher, config: cfg, out };
        if (!f.json) console.log(`labelled ${rankings.length} of ${states.length} states (${skipped} skipped) with teacher ${f.teacher} → ${out}`);
        if (pusher) {
          const p = await pushStates(pusher.client, states, { deadlineMs: f.pushTimeout * 1000, goal });
          summary.push = { url: f.push, added: p.added, duplicates: p.duplicates, skipped: p.skipped };
          if (pusher.rejected.length) throw new CliError(`--push: the server refused ${pusher.rejected.length} item(s): ${pusher.rejected[0]}`, 1);
          if (p.stopped || p.pending) throw new CliError(`--push: ${p.pending} of ${states.length - p.skipped} items not delivered within ${f.pushTimeout} s (--push-timeout): ${p.error}`, 1);
          if (!f.json) console.log(`queued ${p.added} rank items on ${f.push} (${p.duplicates} were there already${p.skipped ? `, ${p.skipped} states of one candidate not pushed` : ''})`);
        }
        if (f.json) printJson(summary);
      }),
    );
}

/** A push client for `--push` whose token the server accepts, or a CliError naming the flag at fault. */
async function openPusher(url: string, tokenFile: string): Promise<{ client: ItemPushClient; rejected: string[] }> {
  pushEndpoint(url, '--push');
  const rejected: string[] = [];
  const client = new ItemPushClient({ url, token: readTokenFile(tokenFile, '--token-file'), onRejected: (id, e) => rejected.push(`${id}: ${e}`) });
  try {
    await client.check();
  } catch (e) {
    await client.close();
    const status = e instanceof ItemPushError ? e.status : null;
    throw new CliError(`${status === 401 || status === 403 ? '--token-file' : '--push'}: ${(e as Error).message}`);
  }
  return { client, rejected };
}

/** The goal of `task` (the same for every episode), read from a world opened for it and closed again. */
async function taskGoalOf(createWorld: (task: TaskName) => Promise<World & { dispose(): void }>, task: TaskName): Promise<TaskGoal | undefined> {
  const world = await createWorld(task);
  try {
    return world.taskGoal?.();
  } finally {
    world.dispose();
  }
}

/** The kind of reward model in `dir` (bt | robust), read from its reward.json without loading weights. */
function rewardKind(dir: string): 'bt' | 'robust' {
  let model: string;
  try {
    model = readRewardMeta(dir).model;
  } catch (e) {
    throw new CliError(`--reward-dir: ${(e as Error).message}`);
  }
  if (model !== 'bt' && model !== 'robust') throw new CliError(`--reward-dir: ${dir} holds a ${model} model; --execute reward needs bt or robust`);
  return model;
}
