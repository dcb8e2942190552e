// On-policy flywheel rounds: label the states the current reward visits, retrain the reward on all labels
// so far, evaluate it, repeat. Each step is a recorded pamstack command (pipeline.ts), as in the rebuild.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { TaskName } from '../../core/task.ts';
import { readRewardMeta } from '../../preference/reward-io.ts';
import type { DeciderSpec } from '../decider-spec.ts';
import { commandLine, runPamstack, type FlywheelStep } from './pipeline.ts';

/** Knobs of the rounds. Every key has a default; `pamstack flywheel --help` lists them. */
export const RoundsConfigSchema = z.strictObject({
  /** Rounds to run. @default 2 */
  rounds: z.number().int().min(1).max(100).default(2),
  /** States labelled per round, along the current reward's rollouts. @default 400 */
  states: z.number().int().min(1).max(100000).default(400),
  /** Candidates per labelled state. @default 8 */
  labelCandidates: z.number().int().min(2).max(32).default(8),
  /** Scripted teacher of the labels. @default 'mistake' */
  teacher: z.string().min(1).default('mistake'),
  /** Epochs of each round's reward. @default 40 */
  epochs: z.number().int().min(1).max(10000).default(40),
  /** Evaluation episodes per round (validation seeds, never the test seeds). @default 12 */
  evalEpisodes: z.number().int().min(1).max(10000).default(12),
  /** First evaluation seed. @default 30000 */
  evalSeed: z.number().int().min(0).default(30000),
  /** Seed of round 0 (labelling and training); round r uses seed + 100·r. @default 0 */
  seed: z.number().int().min(0).default(0),
});
export type RoundsConfig = z.infer<typeof RoundsConfigSchema>;

/** One round's row of the table. */
export interface RoundRow {
  round: number;
  /** Labelled states so far (the base data not counted). */
  states: number;
  rewardDir: string;
  success_rate: number;
  mean_steps: number;
  metric: number;
  wall: number;
}

/** The `--features` flag that re-trains the reward in `dir` with the same inputs. */
export function featuresFlag(dir: string): 'points' | 'grid' | 'object' {
  const f = readRewardMeta(dir).features;
  if (f?.points) return 'points';
  if (f?.grid && f.grid > 0) return 'grid';
  return 'object';
}

/**
 * Runs `cfg.rounds` rounds from the decider `spec` (a policy and a bt/robust reward): each round labels
 * `cfg.states` states along the current reward's choices, trains a reward of the same kind and features on
 * `baseData` plus every round's labels, and evaluates spec's decider with that reward. Writes each round's
 * folders under `out`, `out/rounds.json` and `out/rounds.md`; returns the table.
 */
export async function runRounds(
  task: TaskName,
  spec: DeciderSpec,
  o: { out: string; baseData: string[]; config: RoundsConfig; cwd: string; log: (l: string) => void },
): Promise<{ rows: RoundRow[]; steps: FlywheelStep[] }> {
  const cfg = o.config;
  if (spec.reward !== 'bt' && spec.reward !== 'robust') throw new Error(`flywheel: the decider's reward must be bt or robust (a reward folder to retrain), received ${spec.reward}`);
  if (spec.policy === 'expert' || spec.policy === 'random') throw new Error(`flywheel: the decider's policy must be a checkpoint folder, received ${spec.policy}`);
  const out = resolve(o.out);
  mkdirSync(out, { recursive: true });
  const features = featuresFlag(spec.rewardDir!);
  const run = (name: string, args: string[]) => runPamstack(name, args, { cwd: o.cwd, log: o.log });
  const steps: FlywheelStep[] = [];
  const rows: RoundRow[] = [];
  const data = [...o.baseData];
  let reward = spec.rewardDir!;
  let labelled = 0;
  for (let r = 0; r < cfg.rounds; r++) {
    const dir = join(out, `round-${r}`);
    const seed = cfg.seed + 100 * r;
    const t0 = performance.now();
    const label = await run(`round ${r}: label the states the current reward visits`, [
      'label', '--collect', '--task', task, '--policy', spec.policy, '--states', String(cfg.states), '--candidates', String(cfg.labelCandidates),
      '--teacher', cfg.teacher, '--seed', String(seed), '--execute', 'reward', '--reward-dir', reward, '--lcb', String(spec.lcb), '--data', join(dir, 'prefs'),
    ]);
    data.push(join(dir, 'prefs'));
    labelled += cfg.states;
    const train = await run(`round ${r}: train the reward on all labels so far`, [
      'train', 'reward', '--model', spec.reward, '--features', features, '--data', data.join(','), '--out', join(dir, 'reward'),
      '--epochs', String(cfg.epochs), '--val-fraction', '0', '--seed', String(seed),
    ]);
    reward = join(dir, 'reward');
    const ev = await run(`round ${r}: evaluate`, [
      'eval', '--task', task, '--policy', spec.policy, '--select', 'ras', '--reward', spec.reward, '--reward-dir', reward, '--lcb', String(spec.lcb),
      '--candidates', String(spec.candidates), '--episodes', String(cfg.evalEpisodes), '--seed', String(cfg.evalSeed), '--quiet',
    ]);
    steps.push(label, train, ev);
    const res = ev.summary as { success_rate: number; mean_steps: number; metrics: { iou?: number; coverage?: number } };
    rows.push({
      round: r,
      states: labelled,
      rewardDir: reward,
      success_rate: res.success_rate,
      mean_steps: res.mean_steps,
      metric: res.metrics.iou ?? res.metrics.coverage ?? NaN,
      wall: (performance.now() - t0) / 1000,
    });
    o.log(`round ${r}: ${labelled} states, success ${(res.success_rate * 100).toFixed(1)} %, metric ${rows[r]!.metric.toFixed(3)} (${rows[r]!.wall.toFixed(0)} s)`);
    writeTables(out, task, cfg, rows, steps);
  }
  return { rows, steps };
}

function writeTables(out: string, task: string, cfg: RoundsConfig, rows: RoundRow[], steps: FlywheelStep[]): void {
  writeFileSync(join(out, 'rounds.json'), `${JSON.stringify({ task, config: cfg, rows, commands: steps.map((s) => commandLine(s.argv)) }, null, 2)}\n`);
  const md = [
    `# Flywheel rounds on \`${task}\` (evaluation seeds ${cfg.evalSeed}…${cfg.evalSeed + cfg.evalEpisodes - 1})`,
    '',
    '| round | labelled states | success | mean steps | final metric | wall (s) |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.round} | ${r.states} | ${(r.success_rate * 100).toFixed(1)} % | ${r.mean_steps.toFixed(2)} | ${r.metric.toFixed(3)} | ${r.wall.toFixed(0)} |`),
    '',
    '## Commands',
    '',
    ...steps.map((s) => `- \`${commandLine(s.argv)}\` (${s.wall.toFixed(0)} s)`),
    '',
  ];
  writeFileSync(join(out, 'rounds.md'), md.join('\n'));
}
