// Self-describing policy checkpoints: weights + config + processor (normalisation) + producing command, loadable on any backend.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { ValidationError } from '../core/errors.ts';
import { CheckpointError, TensorFileSchema, readTensorFile, writeFileAtomic, writeTensorFile } from '../nn/checkpoint.ts';
import type { AdamW } from '../nn/adamw.ts';
import { checkArrays, type ParamArray } from '../nn/params.ts';
import { PolicyConfigSchema } from './config.ts';
import { PrimitiveDiffusionModel } from './model.ts';
import { PolicyProcessor, ProcessorConfigSchema } from './processor.ts';

export const POLICY_FORMAT = 'pamstack-policy';
export const POLICY_FORMAT_VERSION = 1;

/** One row of the training history (losses are mean ε-MSE). */
export const HistoryRowSchema = z.strictObject({
  epoch: z.number().int(),
  step: z.number().int(),
  lr: z.number(),
  trainLoss: z.number(),
  valLoss: z.number().nullable(),
  seconds: z.number(),
});
export type HistoryRow = z.infer<typeof HistoryRowSchema>;

export const PolicyCheckpointSchema = z.strictObject({
  format: z.literal(POLICY_FORMAT),
  version: z.literal(POLICY_FORMAT_VERSION),
  config: PolicyConfigSchema,
  processor: ProcessorConfigSchema,
  /** Task the demonstrations came from, when known. */
  task: z.string().nullable(),
  /** The command line that produced this checkpoint. */
  command: z.string(),
  createdAt: z.string(),
  /** tfjs backend that trained it (any backend can load it). */
  backend: z.string(),
  weights: TensorFileSchema,
  training: z
    .strictObject({
      /** The trainer's configuration (validated by the trainer on resume). */
      config: z.record(z.string(), z.unknown()),
      epoch: z.number().int().min(0),
      step: z.number().int().min(0),
      history: z.array(HistoryRowSchema),
      optimizer: TensorFileSchema,
      optimizerStep: z.number().int().min(0),
      dataset: z.strictObject({ states: z.number().int(), actions: z.number().int(), train: z.number().int(), val: z.number().int() }),
    })
    .nullable(),
});
export type PolicyCheckpoint = z.infer<typeof PolicyCheckpointSchema>;

export interface SavePolicyOptions {
  processor: PolicyProcessor;
  command: string;
  backend: string;
  task?: string | null;
  training?: Omit<NonNullable<PolicyCheckpoint['training']>, 'optimizer' | 'optimizerStep'> & { optimizer: AdamW };
}

/** Writes `dir/policy.json`, `dir/weights.bin` (and `dir/optimizer.bin` with training state); files replace atomically. */
export async function savePolicy(dir: string, model: PrimitiveDiffusionModel, opts: SavePolicyOptions): Promise<PolicyCheckpoint> {
  mkdirSync(dir, { recursive: true });
  const weights = writeTensorFile(dir, 'weights.bin', (await model.params.toArrays()).entries());
  let training: PolicyCheckpoint['training'] = null;
  if (opts.training) {
    const { optimizer, ...rest } = opts.training;
    const st = await optimizer.state();
    const names = model.params.names();
    const entries: [string, ParamArray][] = [];
    names.forEach((n, i) => {
      entries.push([`m/${n}`, st.m[i]!]);
      entries.push([`v/${n}`, st.v[i]!]);
    });
    training = { ...rest, optimizer: writeTensorFile(dir, 'optimizer.bin', entries), optimizerStep: st.step };
  }
  const ckpt: PolicyCheckpoint = {
    format: POLICY_FORMAT,
    version: POLICY_FORMAT_VERSION,
    config: model.config,
    processor: opts.processor.config,
    task: opts.task ?? null,
    command: opts.command,
    createdAt: new Date().toISOString(),
    backend: opts.backend,
    weights,
    training,
  };
  writeFileAtomic(`${dir}/policy.json`, `${JSON.stringify(ckpt, null, 2)}\n`);
  return ckpt;
}

/** Reads and validates `dir/policy.json` only (no weights). */
export function readPolicyCheckpoint(dir: string): PolicyCheckpoint {
  const path = `${dir}/policy.json`;
  if (!existsSync(path)) throw new CheckpointError(dir, 'no policy.json (not a policy checkpoint directory)');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CheckpointError(dir, `policy.json is corrupted: ${(e as Error).message}`);
  }
  const fmt = (raw as { format?: unknown; version?: unknown } | null) ?? {};
  if (fmt.format !== POLICY_FORMAT) throw new CheckpointError(dir, `policy.json: format is ${JSON.stringify(fmt.format)}, expected "${POLICY_FORMAT}"`);
  if (fmt.version !== POLICY_FORMAT_VERSION)
    throw new CheckpointError(dir, `policy.json: version ${JSON.stringify(fmt.version)} is not supported (this pamstack reads version ${POLICY_FORMAT_VERSION})`);
  const r = PolicyCheckpointSchema.safeParse(raw);
  if (!r.success) throw new CheckpointError(dir, new ValidationError('policy.json', r.error.issues).message);
  return r.data;
}

export interface LoadedPolicy {
  model: PrimitiveDiffusionModel;
  processor: PolicyProcessor;
  checkpoint: PolicyCheckpoint;
}

/**
 * Loads a checkpoint on the current backend. Refuses a corrupted file (size, SHA-256, JSON) and weights
 * that do not match the stored configuration (missing, extra or mis-shaped parameters, non-finite values).
 */
export function loadPolicy(dir: string, opts: { trainable?: boolean } = {}): LoadedPolicy {
  const checkpoint = readPolicyCheckpoint(dir);
  const arrays = readTensorFile(dir, checkpoint.weights);
  try {
    checkArrays(PrimitiveDiffusionModel.paramSpecs(checkpoint.config), arrays);
  } catch (e) {
    throw new CheckpointError(dir, `weights do not match its configuration: ${(e as Error).message}`);
  }
  const model = PrimitiveDiffusionModel.fromArrays(checkpoint.config, arrays, opts.trainable ?? true);
  return { model, processor: new PolicyProcessor(checkpoint.processor, checkpoint.config.points), checkpoint };
}

/** The optimiser moments stored with a training checkpoint, in the model's parameter order. */
export function readOptimizerState(dir: string, checkpoint: PolicyCheckpoint, names: string[]): { step: number; m: ParamArray[]; v: ParamArray[] } {
  if (!checkpoint.training) throw new CheckpointError(dir, 'has no training state to resume from (it was saved for inference only)');
  const arrays = readTensorFile(dir, checkpoint.training.optimizer);
  const get = (k: string) => {
    const a = arrays.get(k);
    if (!a) throw new CheckpointError(dir, `optimizer.bin lacks ${k}`);
    return a;
  };
  return { step: checkpoint.training.optimizerStep, m: names.map((n) => get(`m/${n}`)), v: names.map((n) => get(`v/${n}`)) };
}
