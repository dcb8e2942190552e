// Rebuilds the committed default policies of a task with the project's own commands and writes
// policies/<task>/{README.md, eval.json, default.json} with the exact commands, sizes, seeds and table.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { FieldError } from '../../core/errors.ts';
import type { EvalResult } from '../../core/episode.ts';
import type { DeciderSpec, DeciderSpecInput } from '../decider-spec.ts';
import type { TaskName } from '../../core/task.ts';
import { deciderSpecFor } from '../decider-spec.ts';
import { commandLine, runPamstack, type FlywheelStep } from './pipeline.ts';
import { RoundsConfigSchema, runRounds, type RoundRow } from './rounds.ts';

/** Sizes of one rebuild. `full` is what policies/ holds; `ci` is a small smoke of the same chain. */
export const RebuildProfileSchema = z.strictObject({
  demoEpisodes: z.number().int().positive(),
  /** Acceptable actions stored per demonstration state (the expert's best k). */
  demoMaxActions: z.number().int().min(1).max(10),
  slEpochs: z.number().int().positive(),
  /**
   * The `policy` section of the SL training config (src/policy/config.ts), written to
   * policies/<task>/sl-config.json and passed with --config, so the folder records the architecture.
   */
  slPolicy: z.record(z.string(), z.unknown()),
  /** The `processor` section of the same config (e.g. `{ center: 'table' }` where the goal is a place on the table). */
  slProcessor: z.record(z.string(), z.unknown()),
  /** Random rotation about z for augmentation, ± degrees (0 where the goal has a fixed orientation). */
  slRotation: z.number().min(0).max(180),
  /** States per SL step and noise draws per state (small batches and many steps train this small policy best on 2 cores: docs/policy.md). */
  slBatchStates: z.number().int().positive(),
  slNoiseDraws: z.number().int().positive(),
  /**
   * Epochs of a second SL run started from the first one's weights (`train policy --init`, fresh cosine
   * schedule at `slLongerLr`); 0 skips it. Candidate quality was still rising when the first run ended.
   */
  slLongerEpochs: z.number().int().min(0),
  slLongerLr: z.number().positive(),
  prefStates: z.number().int().positive(),
  /** Which candidate the labelling rollouts run to move on (`label --collect --execute`). */
  prefExecute: z.enum(['random', 'mixed']),
  /**
   * States of a second labelling run (seed + 900, same recipe) into runs/<task>/prefs-b that only the
   * point reward also reads; 0: none. The point encoder needs more data than the feature MLPs.
   */
  prefExtraStates: z.number().int().min(0),
  /**
   * States labelled along a reward's own rollouts (`label --collect --execute reward`, seed + 1300) for the
   * point reward; the chooser is a robust feature MLP trained on the labels so far (runs/<task>/reward-chooser,
   * not committed). 0: none. On rope-circle these 400 states took the point reward from 7 to 8 of 24
   * validation successes at N = 128 and from 2 to 6 at N = 32 (docs/preference.md).
   */
  onPolicyStates: z.number().int().min(0),
  /** Epochs of the robust reward over points in each candidate's frame (`reward-points/`); 0: not trained. */
  pointRewardEpochs: z.number().int().min(0),
  /**
   * On-policy flywheel rounds on the point reward (rounds.ts: label the states it visits, retrain on all
   * labels so far, evaluate on validation seeds); the round with the best validation success replaces
   * `reward-points/`. 0: none. Needs the point reward.
   */
  flywheelRounds: z.number().int().min(0).max(20),
  /** States labelled per flywheel round. */
  flywheelStates: z.number().int().min(1),
  /** Validation episodes per flywheel round (seeds from FLYWHEEL_EVAL_SEED: never the table's or CI's). */
  flywheelEvalEpisodes: z.number().int().min(1),
  /** Candidates a policy samples per state in the evaluation rows and the demo default (N of RAS and random-of-N). */
  candidates: z.number().int().min(1).max(256),
  dpoEpochs: z.number().int().positive(),
  rewardEpochs: z.number().int().positive(),
  evalEpisodes: z.number().int().positive(),
  /**
   * Episodes on the validation seeds (VALIDATION_SEED…) that each learned row runs to choose the demo's
   * default; the table's seeds then report it without having chosen it.
   */
  validationEpisodes: z.number().int().positive(),
  /** First evaluation seed: far from the seeds of demos (0…), preferences (500…) and CI (20000…). */
  evalSeed: z.number().int().nonnegative(),
  /** Implicit-reward noise draws per candidate at evaluation. */
  draws: z.number().int().positive(),
});
export type RebuildProfile = z.infer<typeof RebuildProfileSchema>;

/** The SL architecture of the committed policies: a small DP3-style encoder with local conditioning (docs/policy.md explains the choice). */
const SL_POLICY = {
  points: 128,
  encoder: { kind: 'pointnet', hidden: [64, 128], out: 128 },
  local: { width: 32, radii: [0.05, 0.15] },
  denoiser: { hidden: 256, layers: 3, timeEmbedding: 64 },
};

export const REBUILD_PROFILES: Record<'full' | 'ci', RebuildProfile> = {
  full: {
    demoEpisodes: 80, demoMaxActions: 3, slEpochs: 500, slPolicy: SL_POLICY, slProcessor: {}, slRotation: 180, slBatchStates: 16, slNoiseDraws: 8,
    slLongerEpochs: 400, slLongerLr: 5e-4, prefStates: 400, prefExecute: 'mixed', prefExtraStates: 800, onPolicyStates: 400, pointRewardEpochs: 40, candidates: 128,
    flywheelRounds: 0, flywheelStates: 400, flywheelEvalEpisodes: 12,
    dpoEpochs: 30, rewardEpochs: 200, evalEpisodes: 12, validationEpisodes: 24, evalSeed: 10000, draws: 32,
  },
  ci: {
    demoEpisodes: 4, demoMaxActions: 3, slEpochs: 3, slPolicy: SL_POLICY, slProcessor: {}, slRotation: 180, slBatchStates: 16, slNoiseDraws: 8,
    slLongerEpochs: 1, slLongerLr: 5e-4, prefStates: 6, prefExecute: 'mixed', prefExtraStates: 0, onPolicyStates: 2, pointRewardEpochs: 2, candidates: 8,
    flywheelRounds: 1, flywheelStates: 2, flywheelEvalEpisodes: 1,
    dpoEpochs: 2, rewardEpochs: 20, evalEpisodes: 2, validationEpisodes: 1, evalSeed: 10000, draws: 8,
  },
};

/**
 * What differs per task in the full profile. granular-t's goal is a fixed T on the table, so its frame
 * keeps the table origin and no rotation is added; granular and cloth simulate 5–20× slower than rope
 * (sweeps push 160 grains, flings move a 10×10 cloth), so their data and evaluations are smaller, with
 * one SL run, random rollouts for labelling and 8 candidates. Their first recipes (16–24 demos and
 * labelled states) gave rewards no better than SL first on validation seeds, so granular-t labels ten
 * times the states and cloth-unfold also learns from four times the demos (its SL policy did no better than
 * random); both rerank 32 candidates and report 24 test episodes, and cloth chooses its default on 12
 * validation episodes to fit its evaluation in about 25 min (a labelled state costs ≈ 4 s on granular and
 * ≈ 9 s on cloth, an episode ≈ 6 s and ≈ 11 s, on one core).
 */
const SMALL_TASK: Partial<RebuildProfile> = {
  slEpochs: 300, slLongerEpochs: 0, prefExecute: 'random', prefExtraStates: 0, onPolicyStates: 0, pointRewardEpochs: 0, candidates: 8, evalEpisodes: 4, validationEpisodes: 8,
};
export const TASK_OVERRIDES: Partial<Record<TaskName, Partial<RebuildProfile>>> = {
  'granular-t': { ...SMALL_TASK, demoEpisodes: 24, slProcessor: { center: 'table' }, slRotation: 0, prefStates: 240, candidates: 32, evalEpisodes: 24, validationEpisodes: 24 },
  'cloth-unfold': { ...SMALL_TASK, demoEpisodes: 64, prefStates: 160, candidates: 32, evalEpisodes: 24, validationEpisodes: 12 },
};

/** The profile a rebuild of `task` uses (the task's overrides apply to the full profile only), then `overrides` (flags). */
export function profileFor(task: TaskName, name: 'full' | 'ci', overrides: Partial<RebuildProfile> = {}): RebuildProfile {
  const p = { ...(name === 'full' ? { ...REBUILD_PROFILES.full, ...TASK_OVERRIDES[task] } : REBUILD_PROFILES.ci), ...overrides };
  if (p.flywheelRounds > 0 && p.pointRewardEpochs === 0)
    throw new FieldError('--flywheel-rounds', `0 for ${task} (its ${name} profile trains no point reward for the rounds to retrain)`, p.flywheelRounds);
  return p;
}

/** First validation seed of the default's choice: apart from the table's (10000…), CI's (20000…) and the rebuild's flywheel rounds (40000…). */
export const VALIDATION_SEED = 30000;

/** First validation seed of the flywheel rounds inside a rebuild: apart from the table's (10000…), CI's (20000…) and the flywheel command's default (30000…). */
export const FLYWHEEL_EVAL_SEED = 40000;

/**
 * The rounds' table row whose reward a rebuild keeps: best validation success, then best final metric,
 * then the later round (more labels).
 */
export function pickRound(rows: readonly RoundRow[]): RoundRow {
  if (!rows.length) throw new Error('pickRound: no rounds');
  const m = (r: RoundRow) => (Number.isNaN(r.metric) ? -Infinity : r.metric);
  return [...rows].sort((a, b) => b.success_rate - a.success_rate || m(b) - m(a) || b.round - a.round)[0]!;
}

/**
 * The evaluation rows of the table: name → eval flags (relative to the task's policies folder P). Every
 * policy row samples `n` candidates per state (the first-candidate rows use only the first). `points`
 * adds the row of the point reward (folders that have `reward-points/`).
 */
export function evalMethods(p: string, n = 8, opts: { points?: boolean } = {}): { name: string; what: string; args: string[] }[] {
  const N = ['--candidates', String(n)];
  const points = opts.points
    ? [{ name: 'ras-points', what: 'RAS, robust reward over points in each candidate\'s frame (PointNet, μ − σ)', args: ['--policy', `${p}/sl`, '--select', 'ras', '--reward', 'robust', '--reward-dir', `${p}/reward-points`, '--lcb', '1', ...N] }]
    : [];
  return [
    { name: 'expert', what: 'scripted expert (upper reference)', args: ['--policy', 'expert'] },
    { name: 'random', what: 'random primitive', args: ['--policy', 'random'] },
    { name: 'sl-first', what: `SL only: first of ${n} candidates`, args: ['--policy', `${p}/sl`, '--select', 'first', ...N] },
    { name: 'sl-random', what: `random of ${n} SL candidates`, args: ['--policy', `${p}/sl`, '--select', 'random', ...N] },
    { name: 'ras-implicit', what: 'RAS, implicit reward (DPO vs SL)', args: ['--policy', `${p}/dpo`, '--select', 'ras', '--reward', 'implicit', ...N] },
    { name: 'ras-bt', what: 'RAS, Bradley–Terry reward', args: ['--policy', `${p}/sl`, '--select', 'ras', '--reward', 'bt', '--reward-dir', `${p}/reward-bt`, ...N] },
    { name: 'ras-robust', what: 'RAS, robust Gaussian reward (μ − σ)', args: ['--policy', `${p}/sl`, '--select', 'ras', '--reward', 'robust', '--reward-dir', `${p}/reward-robust`, '--lcb', '1', ...N] },
    ...points,
    { name: 'dpo-sample', what: 'sampling from the DPO model, first candidate', args: ['--policy', `${p}/dpo`, '--select', 'first', ...N] },
  ];
}

export interface EvalRow {
  method: string;
  what: string;
  command: string;
  result: EvalResult;
  wall: number;
}

/** What the demo runs by default for a task: written to policies/<task>/default.json. */
/** policies/<task>/default.json as written: a decider spec with paths relative to the folder. */
type DefaultPolicy = DeciderSpecInput & { method: string };

/**
 * Runs the flywheel for `task` into `policiesDir/<task>` (checkpoints) and `runsDir/<task>` (data).
 * Returns the steps and the evaluation table; writes README.md, eval.json and default.json.
 */
export async function rebuildTask(
  task: TaskName,
  profile: RebuildProfile,
  o: { root: string; policiesDir: string; runsDir: string; seed: number; log: (l: string) => void },
): Promise<{ steps: FlywheelStep[]; table: EvalRow[]; wall: number }> {
  const P = join(o.policiesDir, task);
  const R = join(o.runsDir, task);
  for (const d of [P, R]) {
    rmSync(d, { recursive: true, force: true });
    mkdirSync(d, { recursive: true });
  }
  const run = (name: string, args: string[]) => runPamstack(name, args, { cwd: o.root, log: o.log });
  const steps: FlywheelStep[] = [];
  const s = o.seed;
  steps.push(
    await run('collect demonstrations', [
      'collect', '--task', task, '--episodes', String(profile.demoEpisodes), '--max-actions', String(profile.demoMaxActions), '--seed', String(s),
      '--out', `${R}/demos`, '--quiet',
    ]),
  );
  writeFileSync(join(P, 'sl-config.json'), `${JSON.stringify({ policy: profile.slPolicy, processor: profile.slProcessor }, null, 2)}\n`);
  const longer = profile.slLongerEpochs > 0;
  const batch = ['--batch-states', String(profile.slBatchStates), '--noise-draws', String(profile.slNoiseDraws)];
  steps.push(
    await run('train supervised policy', [
      'train', 'policy', '--data', `${R}/demos`, '--out', longer ? `${R}/sl-stage1` : `${P}/sl`, '--config', `${P}/sl-config.json`, '--epochs', String(profile.slEpochs),
      ...batch, '--lr', '1e-3', '--rotation', String(profile.slRotation), '--checkpoint-every', '10', '--seed', String(s), '--quiet',
    ]),
  );
  if (longer)
    steps.push(
      await run('train it longer (fresh schedule from its weights)', [
        'train', 'policy', '--data', `${R}/demos`, '--out', `${P}/sl`, '--init', `${R}/sl-stage1`, '--epochs', String(profile.slLongerEpochs),
        ...batch, '--lr', String(profile.slLongerLr), '--rotation', String(profile.slRotation), '--checkpoint-every', '20', '--seed', String(s), '--quiet',
      ]),
    );
  steps.push(
    await run('roll out SL candidates and label them (noisy scripted teacher)', [
      'label', '--collect', '--policy', `${P}/sl`, '--task', task, '--states', String(profile.prefStates), '--candidates', '8',
      '--teacher', 'mistake', '--seed', String(s + 500), '--execute', profile.prefExecute, '--data', `${R}/prefs`,
    ]),
  );
  steps.push(await run('Diffusion-DPO fine-tune', ['train', 'dpo', '--policy', `${P}/sl`, '--data', `${R}/prefs`, '--out', `${P}/dpo`, '--epochs', String(profile.dpoEpochs), '--seed', String(s)]));
  for (const m of ['bt', 'robust'] as const)
    steps.push(await run(`train ${m} reward`, ['train', 'reward', '--model', m, '--data', `${R}/prefs`, '--out', `${P}/reward-${m}`, '--epochs', String(profile.rewardEpochs), '--seed', String(s)]));
  if (profile.prefExtraStates > 0)
    steps.push(
      await run('a second labelling run (for the point reward)', [
        'label', '--collect', '--policy', `${P}/sl`, '--task', task, '--states', String(profile.prefExtraStates), '--candidates', '8',
        '--teacher', 'mistake', '--seed', String(s + 900), '--execute', profile.prefExecute, '--data', `${R}/prefs-b`,
      ]),
    );
  const pointData = [`${R}/prefs`, ...(profile.prefExtraStates > 0 ? [`${R}/prefs-b`] : [])];
  if (profile.onPolicyStates > 0) {
    steps.push(
      await run('train the chooser of the on-policy run (robust, object features)', [
        'train', 'reward', '--model', 'robust', '--data', pointData.join(','), '--out', `${R}/reward-chooser`, '--epochs', '20', '--seed', String(s),
      ]),
    );
    steps.push(
      await run('label the states the chooser visits (on-policy)', [
        'label', '--collect', '--policy', `${P}/sl`, '--task', task, '--states', String(profile.onPolicyStates), '--candidates', '8', '--teacher', 'mistake',
        '--seed', String(s + 1300), '--execute', 'reward', '--reward-dir', `${R}/reward-chooser`, '--lcb', '1', '--data', `${R}/prefs-c`,
      ]),
    );
    pointData.push(`${R}/prefs-c`);
  }
  if (profile.pointRewardEpochs > 0)
    steps.push(
      await run('train robust reward over points (PointNet)', [
        'train', 'reward', '--model', 'robust', '--features', 'points', '--data', pointData.join(','),
        '--out', `${P}/reward-points`, '--epochs', String(profile.pointRewardEpochs), '--lr', '1e-3', '--val-fraction', '0', '--seed', String(s),
      ]),
    );
  if (profile.flywheelRounds > 0) {
    const spec = deciderSpecFor(`${P}/sl`, { select: 'ras', reward: 'robust', rewardDir: `${P}/reward-points`, lcb: 1, candidates: profile.candidates }, '--flywheel-rounds');
    const config = RoundsConfigSchema.parse({
      rounds: profile.flywheelRounds, states: profile.flywheelStates, epochs: profile.pointRewardEpochs,
      evalEpisodes: profile.flywheelEvalEpisodes, evalSeed: FLYWHEEL_EVAL_SEED, seed: s + 2000,
    });
    const fly = await runRounds(task, spec, { out: `${R}/flywheel`, baseData: pointData, config, cwd: o.root, log: o.log });
    steps.push(...fly.steps);
    const best = pickRound(fly.rows);
    o.log(`flywheel: keeping round ${best.round}'s reward (validation success ${(best.success_rate * 100).toFixed(1)} %)`);
    rmSync(`${P}/reward-points`, { recursive: true, force: true });
    cpSync(best.rewardDir, `${P}/reward-points`, { recursive: true });
  }
  // Optimizer state is for resuming, not for deployment: keep the committed folders small.
  for (const d of ['sl', 'dpo']) rmSync(join(P, d, 'optimizer.bin'), { force: true });
  writeFileSync(join(P, 'steps.json'), `${JSON.stringify(steps, null, 2)}\n`);
  return evaluateTask(task, profile, o);
}

/**
 * The evaluation half of a rebuild on the checkpoints already in policies/<task> (steps.json lists
 * the training commands): the table, the demo default, the CI regression baseline and README.md.
 */
export async function evaluateTask(
  task: TaskName,
  profile: RebuildProfile,
  o: { root: string; policiesDir: string; seed: number; log: (l: string) => void },
): Promise<{ steps: FlywheelStep[]; table: EvalRow[]; wall: number }> {
  const P = join(o.policiesDir, task);
  const stepsFile = join(P, 'steps.json');
  if (!existsSync(stepsFile)) throw new Error(`${stepsFile}: missing; run the full rebuild first`);
  const steps = JSON.parse(readFileSync(stepsFile, 'utf8')) as FlywheelStep[];
  const run = (name: string, args: string[]) => runPamstack(name, args, { cwd: o.root, log: o.log });
  const table: EvalRow[] = [];
  const rows = { points: existsSync(join(P, 'reward-points')) };
  for (const m of evalMethods(P, profile.candidates, rows)) {
    const draws = m.args.includes('implicit') ? ['--draws', String(profile.draws)] : [];
    const args = ['eval', '--task', task, ...m.args, ...draws, '--episodes', String(profile.evalEpisodes), '--seed', String(profile.evalSeed), '--quiet'];
    const step = await run(`eval ${m.name}`, args);
    steps.push(step);
    table.push({ method: m.name, what: m.what, command: commandLine([...args, '--json']), result: step.summary as unknown as EvalResult, wall: step.wall });
  }
  // The demo's default is chosen on validation seeds, so the table above reports it without having chosen it.
  const validation: EvalRow[] = [];
  for (const m of evalMethods(P, profile.candidates, rows).filter((x) => isLearned(x.name))) {
    const draws = m.args.includes('implicit') ? ['--draws', String(profile.draws)] : [];
    const args = ['eval', '--task', task, ...m.args, ...draws, '--episodes', String(profile.validationEpisodes), '--seed', String(VALIDATION_SEED), '--quiet'];
    const step = await run(`validate ${m.name}`, args);
    steps.push(step);
    validation.push({ method: m.name, what: m.what, command: commandLine([...args, '--json']), result: step.summary as unknown as EvalResult, wall: step.wall });
  }
  const def = chooseDefault(validation, P, profile.candidates, rows);
  // The CI regression baseline: the demo's default and SL-only on the fixed CI seeds.
  const regression: RegressionBaseline = { task, seed: REGRESSION_SEED, episodes: REGRESSION_EPISODES, rows: [] };
  for (const name of [...new Set(['sl-first', def.method])]) {
    const m = evalMethods(P, profile.candidates, rows).find((x) => x.name === name)!;
    const draws = m.args.includes('implicit') ? ['--draws', String(profile.draws)] : [];
    const args = ['eval', '--task', task, ...m.args, ...draws, '--episodes', String(REGRESSION_EPISODES), '--seed', String(REGRESSION_SEED), '--quiet'];
    const step = await run(`regression baseline ${name}`, args);
    steps.push(step);
    regression.rows.push({ method: name, args: args.slice(1).map((a) => (a.startsWith(P) ? `$P${a.slice(P.length)}` : a)), result: step.summary as unknown as EvalResult });
  }
  writeFileSync(join(P, 'regression.json'), `${JSON.stringify(regression, null, 2)}\n`);
  // Wall time of every command that made the folder (training and evaluation), s.
  const wall = steps.reduce((a, st) => a + st.wall, 0);
  writeTaskReadme(task, profile, P, steps, { table, validation }, wall, o.seed, def);
  return { steps, table, wall };
}

/** Fixed CI seeds of the sim regression suite (never used for training or the README table). */
export const REGRESSION_SEED = 20000;
export const REGRESSION_EPISODES = 3;

/** policies/<task>/regression.json: `pamstack eval` arguments (after `eval`) re-run by test/stack/regression.test.ts; `$P` = the task folder. */
export interface RegressionBaseline {
  task: string;
  seed: number;
  episodes: number;
  rows: { method: string; args: string[]; result: EvalResult }[];
}

/** The rows that can be the demo's default (the expert and random are references). */
const isLearned = (method: string) => !['expert', 'random'].includes(method);

/** Picks the demo's default from validation rows: the learned method with the best success rate, then fewest steps, then best final metric. */
export function chooseDefault(validation: EvalRow[], P: string, n = 8, opts: { points?: boolean } = {}): DefaultPolicy {
  const learned = validation.filter((r) => isLearned(r.method));
  const metric = (r: EvalRow) => r.result.metrics.iou ?? r.result.metrics.coverage ?? 0;
  const best = [...learned].sort(
    (a, b) => b.result.success_rate - a.result.success_rate || a.result.mean_steps - b.result.mean_steps || metric(b) - metric(a),
  )[0];
  const m = evalMethods(P, n, opts).find((x) => x.name === best?.method) ?? evalMethods(P, n)[4]!;
  const flag = (f: string) => {
    const i = m.args.indexOf(f);
    return i >= 0 ? m.args[i + 1] : undefined;
  };
  const rel = (p: string | undefined) => (p ? p.slice(P.length + 1) : undefined);
  const d: DefaultPolicy = { method: m.name, policy: rel(flag('--policy'))!, select: flag('--select') as DeciderSpec['select'] };
  const reward = flag('--reward');
  if (reward) d.reward = reward as DeciderSpec['reward'];
  const rd = rel(flag('--reward-dir'));
  if (rd) d.rewardDir = rd;
  const lcb = flag('--lcb');
  if (lcb) d.lcb = Number(lcb);
  if (m.args.includes('--candidates')) d.candidates = n;
  return d;
}

/**
 * A folder that was made in stages (commands run by hand, outputs copied between runs) says how in this
 * hand-written file; the README shows it under its first line, so a re-evaluation keeps it.
 */
export const PROVENANCE_FILE = 'PROVENANCE.md';

/** Writes default.json, eval.json and README.md of policies/<task> from the steps and both tables. */
export function writeTaskReadme(
  task: string,
  profile: RebuildProfile,
  P: string,
  steps: FlywheelStep[],
  { table, validation }: { table: EvalRow[]; validation: EvalRow[] },
  wall: number,
  seed: number,
  def: DefaultPolicy,
): void {
  writeFileSync(join(P, 'default.json'), `${JSON.stringify(def, null, 2)}\n`);
  writeFileSync(join(P, 'eval.json'), `${JSON.stringify({ task, profile, seed, table, validation, wall }, null, 2)}\n`);
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
  const f3 = (x: number | undefined) => (x === undefined ? '–' : x.toFixed(3));
  const row = (r: EvalRow) =>
    `| ${r.method}${r.method === def.method ? ' (default)' : ''} | ${r.what} | ${pct(r.result.success_rate)} | ${r.result.mean_steps.toFixed(2)} | ${f3(r.result.metrics.iou)} | ${f3(r.result.metrics.coverage)} | ${f3(r.result.metrics.chamfer)} | ${f3(r.result.metrics.emd)} |`;
  const lines = [
    `# Default policies for \`${task}\``,
    '',
    `Made by \`npm run policies:rebuild -- --task ${task}\` in ${(wall / 60).toFixed(1)} min on ${process.env.PAMSTACK_MACHINE ?? 'the 2-core development machine'} (seed ${seed}).`,
    ...(existsSync(join(P, PROVENANCE_FILE)) ? [readFileSync(join(P, PROVENANCE_FILE), 'utf8').trim()] : []),
    `The demo (\`npm start -- --task ${task}\`) runs **${def.method}**: the best learned row on ${profile.validationEpisodes} validation episodes (success, then steps, then final metric; last table).`,
    '',
    '## Commands that made it',
    '',
    '| step | command | wall (s) | summary |',
    '|---|---|---|---|',
    ...steps.map((st) => `| ${st.name} | \`${commandLine(st.argv)}\` | ${st.wall.toFixed(0)} | ${summarize(st.summary)} |`),
    '',
    `## Evaluation (${profile.evalEpisodes} episodes, seeds ${profile.evalSeed}…${profile.evalSeed + profile.evalEpisodes - 1}, never used in training, choice or CI)`,
    '',
    '| method | what | success | mean steps | IoU | coverage | Chamfer | EMD |',
    '|---|---|---|---|---|---|---|---|',
    ...table.map(row),
    '',
    `## Choice of the default (${profile.validationEpisodes} episodes, validation seeds ${VALIDATION_SEED}…${VALIDATION_SEED + profile.validationEpisodes - 1})`,
    '',
    '| method | what | success | mean steps | IoU | coverage | Chamfer | EMD |',
    '|---|---|---|---|---|---|---|---|',
    ...validation.map(row),
    '',
    'Folders: `sl/` supervised diffusion policy (`sl-config.json`: its architecture), `dpo/` its Diffusion-DPO fine-tune (dpo.json names the',
    'reference), `reward-bt/` and `reward-robust/` explicit reward models (object-frame features)' +
      (existsSync(join(P, 'reward-points')) ? ', `reward-points/` the robust reward over points in each candidate\'s frame.' : '.') +
      ' The data (`runs/`) is not committed.',
    '',
  ];
  writeFileSync(join(P, 'README.md'), lines.join('\n'));
}

function summarize(s: Record<string, unknown> | null): string {
  if (!s) return '';
  const keep = Object.entries(s).filter(([, v]) => typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean');
  return keep
    .slice(0, 6)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toPrecision(4) : v}`)
    .join(', ')
    .replace(/\|/g, '/');
}
