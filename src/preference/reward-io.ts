// Self-describing reward-model checkpoints: weights, normalisation, full config, feature config, command.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { parseOrThrow } from '../core/errors.ts';
import { FeatureConfigSchema, type FeatureConfig } from './features.ts';
import { RewardModel, RewardModelConfigSchema } from './reward-model.ts';
import type { RewardTrainReport } from './reward-train.ts';

export const REWARD_FILE = 'reward.json';

export type RewardTarget = 'reward' | 'advantage';

const CheckpointSchema = z.strictObject({
  format: z.literal('pamstack-reward/1'),
  command: z.string(),
  /**
   * What the scores mean: a reward, or the optimal advantage Â*(s, a) (a partial-return model fitted to
   * regret labels, Knox et al. AAAI 2024); either ranks candidates. Absent in older files: reward.
   */
  target: z.enum(['reward', 'advantage']).optional(),
  features: FeatureConfigSchema.nullable(),
  config: RewardModelConfigSchema,
  rowDim: z.number().int().positive(),
  stateDim: z.number().int().min(0),
  norm: z.strictObject({
    rowMean: z.array(z.number()),
    rowStd: z.array(z.number()),
    stateMean: z.array(z.number()),
    stateStd: z.array(z.number()),
  }),
  weights: z.record(z.string(), z.strictObject({ shape: z.array(z.number().int()), data: z.array(z.number()) })),
  report: z.unknown().optional(),
});

/** What a reward folder holds, without its weights: the model kind, its features, what its scores mean. */
export interface RewardMeta {
  model: z.infer<typeof RewardModelConfigSchema>['model'];
  features: FeatureConfig | null;
  target: RewardTarget;
  command: string;
}

/** Reads `dir/reward.json`'s description (validated like {@link loadRewardModel}; the weights are not built). */
export function readRewardMeta(dir: string): RewardMeta {
  const c = readCheckpoint(dir);
  return { model: c.config.model, features: c.features, target: c.target ?? 'reward', command: c.command };
}

function readCheckpoint(dir: string): z.infer<typeof CheckpointSchema> & { path: string } {
  const path = join(dir, REWARD_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: cannot read a reward checkpoint (${(e as Error).message})`);
  }
  return { ...parseOrThrow(CheckpointSchema, raw, `reward checkpoint ${path}`), path };
}

/** Writes `dir/reward.json` atomically (temp file, then rename). */
export function saveRewardModel(
  dir: string,
  model: RewardModel,
  meta: { command: string; features: FeatureConfig | null; report?: RewardTrainReport; target?: RewardTarget },
): string {
  mkdirSync(dir, { recursive: true });
  const j = model.toJSON();
  const body = { format: 'pamstack-reward/1', command: meta.command, target: meta.target ?? 'reward', features: meta.features, ...j, report: meta.report };
  const path = join(dir, REWARD_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(body));
  renameSync(`${path}.tmp`, path);
  return path;
}

/** Loads and re-validates `dir/reward.json`; errors name the file and the bad field. */
export function loadRewardModel(dir: string): { model: RewardModel; features: FeatureConfig | null; command: string; target: RewardTarget } {
  const c = readCheckpoint(dir);
  const path = c.path;
  const model = new RewardModel(c.config, c.rowDim, c.stateDim);
  const setNorm = (dst: Float32Array, src: number[], what: string) => {
    if (src.length !== dst.length) throw new Error(`${path}: norm.${what} expected ${dst.length} numbers, received ${src.length}`);
    dst.set(src);
  };
  setNorm(model.rowNorm.mean, c.norm.rowMean, 'rowMean');
  setNorm(model.rowNorm.std, c.norm.rowStd, 'rowStd');
  setNorm(model.stateNorm.mean, c.norm.stateMean, 'stateMean');
  setNorm(model.stateNorm.std, c.norm.stateStd, 'stateStd');
  try {
    model.setWeights(c.weights);
  } catch (e) {
    model.dispose();
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  return { model, features: c.features, command: c.command, target: c.target ?? 'reward' };
}
