// Supervised training of the primitive diffusion policy from demonstration states with several acceptable actions each.
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { parseOrThrow } from '../core/errors.ts';
import { startProgress } from '../core/progress.ts';
import { PRIMITIVE_ORDERED } from '../core/primitive.ts';
import { deriveSeed, Rng, SeedStream } from '../core/rng.ts';
import { AdamW, cosineSchedule } from '../nn/adamw.ts';
import { writeFileAtomic } from '../nn/checkpoint.ts';
import { savePolicy, type HistoryRow } from './checkpoint.ts';
import { ACTION_DIM } from './config.ts';
import { epsError } from './eps-error.ts';
import { lossCurveSvg } from './loss-curve.ts';
import type { PrimitiveDiffusionModel } from './model.ts';
import type { PolicyProcessor } from './processor.ts';
import { trainStep } from './train-step.ts';

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** Defaults follow DeformPAM's supervised stage (AdamW 1e-4, betas 0.9/0.95, wd 1e-3, cosine, 8 noise draws). */
export const TrainConfigSchema = z.strictObject({
  /** @default 200 */
  epochs: int(1, 1_000_000).default(200),
  /** States per step. @default 32 */
  batchStates: int(1, 4096).default(32),
  /** Noise draws (t, ε) per state per step. @default 8 */
  noiseDraws: int(1, 1024).default(8),
  /** @default 1e-4 */
  lr: z.number().positive().max(1).default(1e-4),
  /** @default [0.9, 0.95] */
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.95]),
  /** @default 1e-3 */
  weightDecay: z.number().min(0).max(1).default(1e-3),
  /** Linear warm-up steps before the cosine decay. @default 0 */
  warmupSteps: int(0, 1_000_000).default(0),
  /** Share of states held out for validation. @default 0.1 */
  valFraction: z.number().min(0).max(0.5).default(0.1),
  /** Random rotation about the object frame's z axis, ± degrees (rope: 180). @default 0 */
  rotationDegrees: z.number().min(0).max(180).default(0),
  /** Save a checkpoint every this many epochs (and at the end). @default 10 */
  checkpointEvery: int(1, 1_000_000).default(10),
  /** @default 0 */
  seed: z.number().int().default(0),
});
export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** One training state: its object-frame cloud [points, 3] and acceptable object-frame actions [k, 6]. */
export interface PolicyState {
  cloud: Float32Array;
  actions: Float32Array;
  /** Index into the policy's `kinds`. */
  kind: number;
}

export interface TrainOptions {
  processor: PolicyProcessor;
  /** tfjs backend name, recorded in checkpoints. */
  backend: string;
  /** Checkpoint directory; nothing is written when absent. */
  outDir?: string;
  /** The producing command line, recorded in checkpoints. */
  command?: string;
  task?: string | null;
  /** Continue a run: the epoch and step reached, its history and optimiser state. */
  resume?: { epoch: number; step: number; history: HistoryRow[]; optimizer: { step: number; m: { shape: number[]; data: Float32Array }[]; v: { shape: number[]; data: Float32Array }[] } };
  quiet?: boolean;
  /** Called after each epoch with its row. */
  onEpoch?: (row: HistoryRow) => void;
}

/** Splits state indices into train and validation sets (seeded; at least one training state). */
export function splitStates(n: number, valFraction: number, seed: number): { train: number[]; val: number[] } {
  const idx = new Rng(deriveSeed(seed, SeedStream.shuffle)).shuffle(Array.from({ length: n }, (_, i) => i));
  const nVal = n >= 2 ? Math.min(n - 1, Math.round(n * valFraction)) : 0;
  return { val: idx.slice(0, nVal).sort((a, b) => a - b), train: idx.slice(nVal).sort((a, b) => a - b) };
}

function checkStates(states: readonly PolicyState[], model: PrimitiveDiffusionModel): void {
  const P = model.config.points;
  const K = model.config.kinds.length;
  if (!states.length) throw new Error('states: expected at least one demonstration state, received 0');
  states.forEach((s, i) => {
    if (s.cloud.length !== P * 3) throw new Error(`states[${i}].cloud: expected ${P} points (${P * 3} numbers), received ${s.cloud.length}`);
    if (!s.actions.length || s.actions.length % ACTION_DIM !== 0)
      throw new Error(`states[${i}].actions: expected k·6 numbers with k ≥ 1, received ${s.actions.length}`);
    if (!Number.isInteger(s.kind) || s.kind < 0 || s.kind >= K) throw new Error(`states[${i}].kind: expected an integer in [0, ${K}), received ${s.kind}`);
  });
}

/** Rotates [n, 3] points (and 6-number actions, as two points) about z by `angle` into `out`. */
function rotateZ(src: Float32Array, angle: number, out: Float32Array, offset: number): void {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  for (let i = 0; i < src.length; i += 3) {
    const x = src[i]!;
    const y = src[i + 1]!;
    out[offset + i] = c * x - s * y;
    out[offset + i + 1] = s * x + c * y;
    out[offset + i + 2] = src[i + 2]!;
  }
}

/** One batch in JS arrays: clouds [B, P, 3], x0/ε [B·D, 6], t [B·D], kinds [B]. */
function makeBatch(states: readonly PolicyState[], idx: readonly number[], draws: number, T: number, rotation: number, rng: Rng) {
  const B = idx.length;
  const P = states[idx[0]!]!.cloud.length / 3;
  const clouds = new Float32Array(B * P * 3);
  const x0 = new Float32Array(B * draws * ACTION_DIM);
  const t = new Int32Array(B * draws);
  const eps = rng.fillNormal(new Float32Array(B * draws * ACTION_DIM)) as Float32Array;
  const kinds: number[] = [];
  const act = new Float32Array(ACTION_DIM);
  idx.forEach((si, b) => {
    const s = states[si]!;
    kinds.push(s.kind);
    const k = rng.int(s.actions.length / ACTION_DIM);
    const angle = rotation > 0 ? rng.uniform(-rotation, rotation) : 0;
    rotateZ(s.cloud, angle, clouds, b * P * 3);
    rotateZ(s.actions.subarray(k * ACTION_DIM, (k + 1) * ACTION_DIM), angle, act, 0);
    for (let j = 0; j < ACTION_DIM; j++) act[j] = Math.max(-1, Math.min(1, act[j]!));
    for (let d = 0; d < draws; d++) {
      x0.set(act, (b * draws + d) * ACTION_DIM);
      t[b * draws + d] = rng.int(T);
    }
  });
  return { clouds, P, x0, t, eps, kinds };
}

/** Mean ε-MSE of the validation states over all their actions with fixed draws (no gradient). */
export function validationLoss(model: PrimitiveDiffusionModel, states: readonly PolicyState[], idx: readonly number[], cfg: TrainConfig, unordered: boolean): number | null {
  if (!idx.length) return null;
  const rng = new Rng((cfg.seed ^ 0x7a1) >>> 0);
  const T = model.schedule.T;
  const draws = 4;
  let sum = 0;
  let count = 0;
  for (let start = 0; start < idx.length; start += cfg.batchStates) {
    const chunk = idx.slice(start, start + cfg.batchStates);
    const P = model.config.points;
    const clouds = new Float32Array(chunk.length * P * 3);
    chunk.forEach((si, b) => clouds.set(states[si]!.cloud, b * P * 3));
    // rows per state: its k actions × draws; states differ in k, so evaluate state by state on one encoding batch
    const enc = tf.tidy(() => model.encode(tf.tensor3d(clouds, [chunk.length, P, 3])));
    chunk.forEach((si, b) => {
      const s = states[si]!;
      const k = s.actions.length / ACTION_DIM;
      const m = k * draws;
      const x0 = new Float32Array(m * ACTION_DIM);
      for (let r = 0; r < m; r++) x0.set(s.actions.subarray(Math.floor(r / draws) * ACTION_DIM, (Math.floor(r / draws) + 1) * ACTION_DIM), r * ACTION_DIM);
      const t = Int32Array.from({ length: m }, () => rng.int(T));
      const eps = rng.fillNormal(new Float32Array(m * ACTION_DIM)) as Float32Array;
      const e = tf.tidy(() =>
        tf.sum(
          epsError(model, tf.slice(enc, [b, 0], [1, -1]) as tf.Tensor2D, tf.tensor2d(x0, [m, ACTION_DIM]), t, tf.tensor2d(eps, [m, ACTION_DIM]), {
            kinds: [s.kind],
            unordered,
          }),
        ),
      );
      sum += e.dataSync()[0]!;
      count += m;
      e.dispose();
    });
    enc.dispose();
  }
  return sum / count;
}

/**
 * Trains `model` in place: per step, `batchStates` states, one of each state's acceptable actions at
 * random, `noiseDraws` (t, ε) draws each; ε-MSE (the better point order for unordered primitives);
 * AdamW with warm-up + cosine decay. Validates on held-out states each epoch, checkpoints (weights,
 * config, processor, command, optimiser state, history) and the loss curve SVG to `outDir`.
 */
export async function trainPolicy(model: PrimitiveDiffusionModel, states: readonly PolicyState[], config: TrainConfigInput, opts: TrainOptions): Promise<{ history: HistoryRow[]; split: { train: number[]; val: number[] } }> {
  const cfg = parseOrThrow(TrainConfigSchema, config, 'train config');
  checkStates(states, model);
  const split = splitStates(states.length, cfg.valFraction, cfg.seed);
  const unordered = model.config.kinds.every((k) => !PRIMITIVE_ORDERED[k]);
  const stepsPerEpoch = Math.ceil(split.train.length / cfg.batchStates);
  const totalSteps = stepsPerEpoch * cfg.epochs;
  const vars = model.params.variables();
  const opt = new AdamW(vars, { lr: cfg.lr, betas: cfg.betas, weightDecay: cfg.weightDecay, schedule: cosineSchedule(totalSteps, cfg.warmupSteps) });
  const history: HistoryRow[] = opts.resume ? [...opts.resume.history] : [];
  let step = 0;
  let firstEpoch = 1;
  if (opts.resume) {
    opt.setState(opts.resume.optimizer);
    step = opts.resume.step;
    firstEpoch = opts.resume.epoch + 1;
  }
  const T = model.schedule.T;
  const rotation = (cfg.rotationDegrees * Math.PI) / 180;
  const progress = startProgress('train policy', Math.max(0, totalSteps - step), { quiet: opts.quiet });
  const t0 = performance.now() / 1000 - (history.at(-1)?.seconds ?? 0);
  const save = async (epoch: number) => {
    if (!opts.outDir) return;
    await savePolicy(opts.outDir, model, {
      processor: opts.processor,
      command: opts.command ?? '(api)',
      backend: opts.backend,
      task: opts.task ?? null,
      training: {
        config: cfg as unknown as Record<string, unknown>,
        epoch,
        step,
        history,
        optimizer: opt,
        dataset: { states: states.length, actions: states.reduce((a, s) => a + s.actions.length / ACTION_DIM, 0), train: split.train.length, val: split.val.length },
      },
    });
    writeFileAtomic(`${opts.outDir}/loss.svg`, lossCurveSvg(history));
  };
  try {
    for (let epoch = firstEpoch; epoch <= cfg.epochs; epoch++) {
      // one stream per epoch, so a resumed run draws exactly what the uninterrupted run would have
      const rng = new Rng(deriveSeed(epoch, cfg.seed + 1));
      const order = rng.shuffle([...split.train]);
      const losses: tf.Scalar[] = [];
      const lr = opt.currentLr();
      for (let s = 0; s < order.length; s += cfg.batchStates) {
        const b = makeBatch(states, order.slice(s, s + cfg.batchStates), cfg.noiseDraws, T, rotation, rng);
        const rows = b.t.length;
        const kinds = model.config.kinds.length > 1 ? b.kinds : undefined;
        losses.push(
          trainStep(vars, opt, () =>
            tf.tidy(() => {
              const enc = model.encode(tf.tensor3d(b.clouds, [b.clouds.length / (b.P * 3), b.P, 3]));
              const e = epsError(model, enc, tf.tensor2d(b.x0, [rows, ACTION_DIM]), b.t, tf.tensor2d(b.eps, [rows, ACTION_DIM]), { kinds, unordered });
              return tf.mean(e) as tf.Scalar;
            }),
          ),
        );
        step++;
        progress.tick(1, history.length ? { epoch, loss: history.at(-1)!.trainLoss } : { epoch });
      }
      // read the epoch's losses once
      const meanT = tf.tidy(() => tf.div(tf.addN(losses), losses.length));
      const trainLoss = (await meanT.data())[0]!;
      tf.dispose([meanT, ...losses]);
      if (!Number.isFinite(trainLoss)) throw new Error(`training diverged at epoch ${epoch}: loss ${trainLoss}`);
      const valLoss = validationLoss(model, states, split.val, cfg, unordered);
      const row: HistoryRow = { epoch, step, lr, trainLoss, valLoss, seconds: performance.now() / 1000 - t0 };
      history.push(row);
      if (epoch % cfg.checkpointEvery === 0 || epoch === cfg.epochs) await save(epoch);
      opts.onEpoch?.(row);
    }
  } finally {
    progress.stop();
    opt.dispose();
  }
  return { history, split };
}
