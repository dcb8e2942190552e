// `pamstack train reward`: Bradley–Terry, robust Gaussian or regret reward model from preference data.
import type { Command } from 'commander';
import { join } from 'node:path';
import { z } from 'zod';
import { initBackend } from '../../nn/backend.ts';
import { readDatasets, readRankings, readStates } from '../../preference/dataset.ts';
import { DeliveryGrid, regretSegmentPairs } from '../../preference/delivery-grid.ts';
import { DEFAULT_REWARD_FEATURES, FeatureConfigSchema, POINT_REWARD_FEATURES } from '../../preference/features.ts';
import { candidatePairData } from '../../preference/pair-data.ts';
import { saveRewardModel } from '../../preference/reward-io.ts';
import { REWARD_MODELS } from '../../preference/reward-model.ts';
import { trainRewardModel, type RewardTrainReport } from '../../preference/reward-train.ts';
import { startProgress } from '../../core/progress.ts';
import { TaskNameSchema } from '../../core/task.ts';
import { action, CliError, intFlag, numFlag, parentCommand, parseFlags, printJson } from '../command-kit.ts';

const widths = z
  .string()
  .regex(/^(\d+(,\d+)*)?$/, { message: 'expected comma-separated widths, e.g. 64,64 (empty for linear)' })
  .transform((s) => (s ? s.split(',').map(Number) : []));

const Flags = z.strictObject({
  model: z.enum(REWARD_MODELS),
  data: z.string().min(1),
  rankings: z.string().optional(),
  out: z.string().min(1).optional(),
  epochs: intFlag(1, 100000).default(200),
  lr: numFlag(1e-6, 1).default(3e-3),
  hidden: widths.default([64, 64]),
  seed: intFlag(0).default(0),
  valFraction: numFlag(0, 0.9).default(0.2),
  pairs: intFlag(10, 1_000_000).default(2000),
  ties: z.boolean().default(false),
  evalEpisodes: intFlag(0, 1000).default(0),
  evalSeed: intFlag(0).default(5000),
  task: TaskNameSchema.default('rope-circle'),
  noise: numFlag(0, 1).default(0.03),
  candidates: intFlag(2, 32).default(8),
  lcb: numFlag(0).default(0),
  features: z.enum(['object', 'grid', 'points']).default('object'),
  batch: intFlag(1, 1_000_000).optional(),
  json: z.boolean().default(false),
});

/** Success rate, mean steps, mean final IoU and holds of one decider over the eval episodes. */
interface EpisodeSummary {
  episodes: number;
  success_rate: number;
  mean_steps: number;
  iou: number;
  holds: number;
}

export function register(program: Command): void {
  parentCommand(program, 'train', 'train a policy, a DPO fine-tune or a reward model')
    .command('reward')
    .description('train an explicit reward model on preferences; reports held-out accuracy and log-likelihood')
    .requiredOption('--model <kind>', `bt | robust | regret`)
    .requiredOption(
      '--data <dirs|delivery>',
      'dataset folder (states.jsonl + rankings.jsonl), several joined by commas (e.g. labelling runs), or "delivery" for synthetic regret-teacher segments',
    )
    .option('--rankings <file>', 'rankings file (default <data>/rankings.jsonl)')
    .option('--out <dir>', 'where to write reward.json')
    .option('--epochs <n>', 'training epochs', '200')
    .option('--lr <x>', 'Adam learning rate', '0.003')
    .option('--hidden <widths>', 'hidden widths of the reward net, e.g. 64,64 (empty: linear)', '64,64')
    .option('--seed <n>', 'seed (weights, split, batches)', '0')
    .option('--val-fraction <x>', 'held-out fraction of states', '0.2')
    .option('--pairs <n>', 'with --data delivery: segment pairs to generate', '2000')
    .option('--ties', 'also train on tied candidates (target 0.5)')
    .option('--eval-episodes <n>', 'then evaluate in sim: SL-first, random-of-N and RAS with this reward (episodes each)', '0')
    .option('--eval-seed <n>', 'first evaluation seed (unseen by training)', '5000')
    .option('--task <task>', 'evaluation task', 'rope-circle')
    .option('--noise <m>', 'evaluation proposer: jitter (m) on expert actions standing in for policy samples', '0.03')
    .option('--candidates <n>', 'evaluation candidates per state', '8')
    .option('--lcb <k>', 'robust reward: rank by μ − k·σ', '0')
    .option(
      '--features <set>',
      'state-action features: object (object-frame shape, the default) | points (object + 64 points in each candidate\'s frame, read by a PointNet encoder) | grid (workspace occupancy grid)',
      'object',
    )
    .option('--batch <pairs>', 'pairs per training step (default 128; with --features points whole states of about 512 pairs)')
    .option('--json', 'print one JSON object')
    .action(
      action(async (raw: Record<string, unknown>) => {
        const f = parseFlags(Flags, raw);
        await initBackend({ log: f.json ? null : undefined });
        const base = { epochs: f.epochs, lr: f.lr, seed: f.seed, valFraction: f.valFraction };
        if (f.data === 'delivery') {
          // Knox et al.'s comparison: the same regret-teacher labels fitted by partial return and by regret.
          const grid = new DeliveryGrid(8, f.seed);
          const data = regretSegmentPairs(grid, { pairs: f.pairs, steps: 3, greedy: 0.5, seed: f.seed + 1, teacher: { beta: 1 } });
          const reports: Record<string, RewardTrainReport> = {};
          for (const m of f.model === 'regret' ? (['bt', 'regret'] as const) : ([f.model] as const)) {
            const { model, report } = trainRewardModel(data, { ...base, model: m, hidden: [] });
            reports[m === 'bt' ? 'partial_return' : m] = report;
            if (f.out && m === f.model) saveRewardModel(f.out, model, { command: process.argv.slice(2).join(' '), features: null, report });
            model.dispose();
          }
          const table = Object.entries(reports).map(([k, r]) => ({ model: k, val_accuracy: r.val?.accuracy, val_log_likelihood: r.val?.logLikelihood, train_log_likelihood: r.train.logLikelihood }));
          if (f.json) printJson({ data: 'delivery', pairs: data.y.length, results: table });
          else console.table(table);
          return;
        }
        if (f.model === 'regret')
          throw new CliError('--model regret needs segment data with state values; use --data delivery (recorded sim segments are not supported yet)');
        const dirs = f.data.split(',').filter((d) => d.length > 0);
        if (dirs.length > 1 && f.rankings) throw new CliError('--rankings: only with a single --data folder (each folder uses its own rankings.jsonl)');
        const { states, rankings } = f.rankings ? { states: readStates(f.data), rankings: readRankings(f.rankings) } : readDatasets(dirs);
        const features =
          f.features === 'object' ? DEFAULT_REWARD_FEATURES : f.features === 'points' ? POINT_REWARD_FEATURES : FeatureConfigSchema.parse({});
        const points = features.points;
        // with a point encoder each candidate's row is stored once and encoded once per batch
        const data = candidatePairData(states, rankings, features, { ties: f.ties, items: points !== null });
        if (data.y.length === 0) throw new CliError(`${f.data}: the rankings hold no strict preference pairs`);
        const arch = points ? { pointEncoder: { points: points.count, hidden: [64, 64] } } : {};
        const batch = f.batch ?? (points ? 512 : 128);
        const bar = startProgress(`train reward ${f.model}`, f.epochs, { quiet: f.json });
        const { model, report } = trainRewardModel(data, { ...base, model: f.model, hidden: f.hidden, batch, ...arch }, { onEpoch: () => bar.tick() });
        bar.stop();
        const out = f.out ?? join(dirs[0]!, `reward-${f.model}`);
        saveRewardModel(out, model, { command: process.argv.slice(2).join(' '), features, report });
        let evaluation: Record<string, EpisodeSummary> | undefined;
        if (f.evalEpisodes > 0) {
          const [{ createWorld }, { deciderSpecFor }, { loadDecider }, { rollout }] = await Promise.all([
            import('../../../sim/index.ts'),
            import('../decider-spec.ts'),
            import('../decider.ts'),
            import('../rollout.ts'),
          ]);
          const world = await createWorld(f.task);
          try {
            // the jittered expert proposes; first, random and this reward pick (the same candidates per seed)
            const base = { noise: f.noise, candidates: f.candidates };
            const rows = {
              first: deciderSpecFor('expert', { ...base, select: 'first' }),
              random: deciderSpecFor('expert', { ...base, select: 'random' }),
              [`ras-${f.model}`]: deciderSpecFor('expert', { ...base, select: 'ras', reward: f.model, rewardDir: out, lcb: f.lcb }),
            };
            evaluation = {};
            for (const [name, spec] of Object.entries(rows)) {
              const decider = await loadDecider(spec);
              const bar = startProgress(`eval ${name}`, f.evalEpisodes, { quiet: f.json });
              try {
                const { result, episodes } = await rollout(world, decider, { episodes: f.evalEpisodes, seed: f.evalSeed, quiet: true, hooks: { onEpisode: () => bar.tick() } });
                evaluation[name] = { episodes: result.episodes, success_rate: result.success_rate, mean_steps: result.mean_steps, iou: result.metrics.iou ?? NaN, holds: episodes.filter((e) => e.holdReason !== undefined).length };
              } finally {
                bar.stop();
                decider.dispose();
              }
            }
          } finally {
            world.dispose();
          }
        }
        model.dispose();
        const summary = { model: f.model, states: data.states, pairs: data.y.length, train: report.train, val: report.val, best_epoch: report.bestEpoch, out, ...(evaluation ? { evaluation } : {}) };
        if (f.json) printJson(summary);
        else {
          console.log(`${f.model}: ${data.states} states, ${data.y.length} pairs (both orders), best epoch ${report.bestEpoch} → ${out}`);
          console.table({ train: report.train, val: report.val ?? {} });
          if (evaluation) console.table(evaluation);
        }
      }),
    );
}
