// Diffusion-DPO: fine-tunes the supervised diffusion policy on preference pairs against its frozen copy.
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Rng } from '../core/rng.ts';
import { AdamW } from '../nn/adamw.ts';
import { ACTION_DIM } from '../policy/config.ts';
import { epsError } from '../policy/eps-error.ts';
import type { PrimitiveDiffusionModel } from '../policy/model.ts';
import { trainStep } from '../policy/train-step.ts';
import { logSigmoidT } from './reward-train.ts';

/**
 * - `loss`: `logsigmoid` = −log σ(−β·Δ) (Diffusion-DPO; diffusers' form, no ½), `sigmoid` = −σ(−β·Δ)
 *   (DeformPAM's `diffusion_dpo_loss`), with Δ = (e_w − e_w^ref) − (e_l − e_l^ref) and e the
 *   per-sample ε-MSE; `plackett-luce`: the ranking-aware form over all ranked candidates of a state
 *   at once (DPO's Plackett–Luce generalisation), with implicit scores s_k = −β·(e_k − e_k^ref) and
 *   −Σ_k [s_k − log Σ_{j ∈ {k} ∪ later groups} exp s_j] per state; tied candidates do not compete. Every
 *   candidate of a state shares one (t, ε), so the scores differ by the candidate alone (the noise of
 *   one draw cancels within the state instead of swamping the pair's Δ).
 * - One t per state shared by all its pairs (winner and loser alike); ε independent per action row
 *   (DeformPAM) or shared within a pair (`shareNoise`, the official Diffusion-DPO code); the policy
 *   and the reference always see identical (t, ε).
 */
export const DPO_LOSSES = ['logsigmoid', 'sigmoid', 'plackett-luce'] as const;

export const DpoConfigSchema = z.strictObject({
  /** @default 'logsigmoid' */
  loss: z.enum(DPO_LOSSES).default('logsigmoid'),
  /** Inverse temperature β (DeformPAM: 100 with `sigmoid`). @default 100 */
  beta: z.number().positive().default(100),
  /** AdamW learning rate (DeformPAM: 1e-5). @default 1e-5 */
  lr: z.number().positive().max(1).default(1e-5),
  /** @default 0 */
  weightDecay: z.number().min(0).default(0),
  /** @default 50 */
  epochs: z.number().int().positive().default(50),
  /** States per step. @default 8 */
  batchStates: z.number().int().positive().default(8),
  /** Pairs drawn per state per step (with replacement when a state has fewer). @default 8 */
  pairsPerState: z.number().int().positive().default(8),
  /**
   * Timesteps drawn from the lowest `tFraction` of the schedule, t ~ U{0 … ⌈tFraction·T⌉−1}: the range the
   * implicit reward scores with (0.1), where the ε-error depends on the clean action; at high t it is
   * mostly noise. @default 1 (all t, as Diffusion-DPO and DeformPAM train)
   */
  tFraction: z.number().positive().max(1).default(1),
  /** Share ε between winner and loser of a pair. @default false */
  shareNoise: z.boolean().default(false),
  /** @default 0 */
  seed: z.number().int().default(0),
});
export type DpoConfig = z.infer<typeof DpoConfigSchema>;

/** One state's DPO data: its object-frame cloud [n·3] and pairs of object-frame actions (6 numbers each). */
export interface DpoState {
  cloud: Float32Array;
  /** Primitive kind index (policies with several kinds). */
  kind?: number;
  pairs: { winner: Float32Array; loser: Float32Array }[];
  /**
   * The ranked candidates (for `plackett-luce`): object-frame actions [K·6], best group first, and each
   * row's group index (0 = best; equal index = tied). Not-comparable candidates are left out.
   */
  ranked?: { actions: Float32Array; group: Int32Array };
}

/** Per-step statistics, read once per log interval. */
export interface DpoStepStats {
  loss: number;
  /** Fraction of pairs with Δ < 0 (the policy moved towards the winner relative to the reference). */
  implicitAccuracy: number;
  /** Mean Δ. */
  delta: number;
}

/** Draws one DPO batch: clouds [B, n, 3], x0 [B·2K, 6] (w₁, l₁, w₂, l₂, … per state), t [B·2K], ε [B·2K, 6]. */
export function dpoBatch(states: DpoState[], idx: number[], cfg: DpoConfig, T: number, rng: Rng) {
  const tMax = Math.max(1, Math.ceil(cfg.tFraction * T));
  const K = cfg.pairsPerState;
  const n = states[idx[0]!]!.cloud.length / 3;
  const clouds = new Float32Array(idx.length * n * 3);
  const x0 = new Float32Array(idx.length * 2 * K * ACTION_DIM);
  const t = new Int32Array(idx.length * 2 * K);
  const eps = new Float32Array(x0.length);
  const kinds: number[] = [];
  idx.forEach((si, b) => {
    const s = states[si]!;
    if (s.cloud.length !== n * 3) throw new Error(`dpo: every cloud must have ${n} points, state ${si} has ${s.cloud.length / 3}`);
    clouds.set(s.cloud, b * n * 3);
    kinds.push(s.kind ?? 0);
    const ts = rng.int(tMax);
    // a random order of the state's pairs, cycled when it has fewer than K
    const perm = rng.shuffle(Array.from({ length: s.pairs.length }, (_, i) => i));
    for (let k = 0; k < K; k++) {
      const p = s.pairs[perm[k % perm.length]!]!;
      const row = (b * 2 * K + 2 * k) * ACTION_DIM;
      x0.set(p.winner, row);
      x0.set(p.loser, row + ACTION_DIM);
      t[b * 2 * K + 2 * k] = ts;
      t[b * 2 * K + 2 * k + 1] = ts;
      for (let j = 0; j < ACTION_DIM; j++) {
        const e = rng.normal();
        eps[row + j] = e;
        eps[row + ACTION_DIM + j] = cfg.shareNoise ? e : rng.normal();
      }
    }
  });
  return { clouds, n, x0, t, eps, kinds };
}

/** Δ per pair [B·K] for a batch: policy errors minus reference errors, winner minus loser. */
export function dpoDelta(
  policy: PrimitiveDiffusionModel,
  refErr: tf.Tensor1D,
  batch: ReturnType<typeof dpoBatch>,
  B: number,
): tf.Tensor1D {
  const clouds = tf.tensor3d(batch.clouds, [B, batch.n, 3]);
  const enc = policy.encode(clouds);
  const x0 = tf.tensor2d(batch.x0, [batch.t.length, ACTION_DIM]);
  const eps = tf.tensor2d(batch.eps, [batch.t.length, ACTION_DIM]);
  const kinds = policy.config.kinds.length > 1 ? { kinds: batch.kinds } : {};
  const e = epsError(policy, enc, x0, batch.t, eps, kinds);
  const d = tf.sub(e, refErr).reshape([-1, 2]);
  return tf.sub(d.slice([0, 0], [-1, 1]), d.slice([0, 1], [-1, 1])).reshape([-1]) as tf.Tensor1D;
}

/** The reference's per-row errors for a batch (no gradient). */
export function referenceErrors(reference: PrimitiveDiffusionModel, batch: ReturnType<typeof dpoBatch>, B: number): tf.Tensor1D {
  return tf.tidy(() => {
    const enc = reference.encode(tf.tensor3d(batch.clouds, [B, batch.n, 3]));
    const kinds = reference.config.kinds.length > 1 ? { kinds: batch.kinds } : {};
    return epsError(
      reference,
      enc,
      tf.tensor2d(batch.x0, [batch.t.length, ACTION_DIM]),
      batch.t,
      tf.tensor2d(batch.eps, [batch.t.length, ACTION_DIM]),
      kinds,
    );
  });
}

/** The DPO loss of Δ [P]: mean −log σ(−βΔ) or mean −σ(−βΔ). */
export function dpoLoss(delta: tf.Tensor1D, cfg: Pick<DpoConfig, 'loss' | 'beta'>): tf.Scalar {
  return tf.tidy(() => {
    const z = tf.mul(delta, -cfg.beta);
    return (cfg.loss === 'logsigmoid' ? tf.neg(tf.mean(logSigmoidT(z))) : tf.neg(tf.mean(tf.sigmoid(z)))) as tf.Scalar;
  });
}

/**
 * Draws one ranking batch (`plackett-luce`): every state's ranked candidates as G rows (G = the most
 * any state of the batch has; shorter states repeat their first row, marked invalid), one t and one ε
 * per state shared by all its rows. `group` [B·G] is each row's group index, −1 for padding.
 */
export function rankBatch(states: DpoState[], idx: number[], T: number, rng: Rng) {
  // T here is the upper bound of the t draw (the caller applies tFraction)
  const G = Math.max(...idx.map((si) => states[si]!.ranked?.group.length ?? 0));
  if (G < 2) throw new Error('dpo plackett-luce: a batch needs a state with at least two ranked candidates');
  const n = states[idx[0]!]!.cloud.length / 3;
  const clouds = new Float32Array(idx.length * n * 3);
  const x0 = new Float32Array(idx.length * G * ACTION_DIM);
  const t = new Int32Array(idx.length * G);
  const eps = new Float32Array(x0.length);
  const group = new Int32Array(idx.length * G).fill(-1);
  const kinds: number[] = [];
  idx.forEach((si, b) => {
    const s = states[si]!;
    if (s.cloud.length !== n * 3) throw new Error(`dpo: every cloud must have ${n} points, state ${si} has ${s.cloud.length / 3}`);
    if (!s.ranked) throw new Error(`dpo plackett-luce: state ${si} has no ranked candidates`);
    clouds.set(s.cloud, b * n * 3);
    kinds.push(s.kind ?? 0);
    const ts = rng.int(T);
    const e = Array.from({ length: ACTION_DIM }, () => rng.normal());
    const K = s.ranked.group.length;
    for (let k = 0; k < G; k++) {
      const src = k < K ? k : 0;
      const row = b * G + k;
      x0.set(s.ranked.actions.subarray(src * ACTION_DIM, (src + 1) * ACTION_DIM), row * ACTION_DIM);
      eps.set(e, row * ACTION_DIM);
      t[row] = ts;
      if (k < K) group[row] = s.ranked.group[k]!;
    }
  });
  return { clouds, n, x0, t, eps, kinds, group, G };
}

/**
 * The Plackett–Luce loss of implicit scores s [B·G] (−β·(e − e_ref)) with row groups (−1 = padding):
 * −mean over rows that have a worse group in their state of [s_k − logsumexp(s over {k} ∪ worse groups)].
 */
export function plackettLuceLoss(scores: tf.Tensor1D, group: Int32Array, G: number): tf.Scalar {
  const B = group.length / G;
  const logMask = new Float32Array(B * G * G).fill(-1e9);
  const w = new Float32Array(B * G);
  for (let b = 0; b < B; b++)
    for (let k = 0; k < G; k++) {
      const gk = group[b * G + k]!;
      if (gk < 0) continue;
      logMask[(b * G + k) * G + k] = 0;
      for (let j = 0; j < G; j++) {
        const gj = group[b * G + j]!;
        if (gj > gk) {
          logMask[(b * G + k) * G + j] = 0;
          w[b * G + k] = 1;
        }
      }
    }
  const terms = w.reduce((a, v) => a + v, 0);
  if (terms === 0) throw new Error('dpo plackett-luce: no state in the batch has two ranked groups');
  return tf.tidy(() => {
    const s = scores.reshape([B, G]);
    const lse = tf.logSumExp(tf.add(s.reshape([B, 1, G]), tf.tensor3d(logMask, [B, G, G])), 2);
    const term = tf.sub(s, lse).reshape([-1]);
    return tf.neg(tf.div(tf.sum(tf.mul(term, tf.tensor1d(w))), terms)) as tf.Scalar;
  });
}

/**
 * A Diffusion-DPO trainer: `policy` is trained in place; `reference` is its frozen copy (made by
 * the caller with `policy.clone({ trainable: false })` before any update).
 */
export class DpoTrainer {
  readonly config: DpoConfig;
  readonly policy: PrimitiveDiffusionModel;
  readonly reference: PrimitiveDiffusionModel;
  readonly #opt: AdamW;
  readonly #rng: Rng;

  constructor(policy: PrimitiveDiffusionModel, reference: PrimitiveDiffusionModel, config: Partial<DpoConfig> = {}) {
    this.config = DpoConfigSchema.parse(config);
    this.policy = policy;
    this.reference = reference;
    this.#opt = new AdamW(policy.params.variables(), { lr: this.config.lr, weightDecay: this.config.weightDecay, betas: [0.9, 0.999] });
    this.#rng = new Rng(this.config.seed);
  }

  /** One update on states `idx`; returns the batch's loss, implicit accuracy and mean Δ (before the update). */
  step(states: DpoState[], idx: number[]): DpoStepStats {
    if (this.config.loss === 'plackett-luce') return this.#rankStep(states, idx);
    const batch = dpoBatch(states, idx, this.config, this.policy.schedule.T, this.#rng);
    const B = idx.length;
    const refErr = referenceErrors(this.reference, batch, B);
    let deltaOut: tf.Tensor1D | null = null;
    const loss = trainStep(this.policy.params.variables(), this.#opt, () => {
      const d = dpoDelta(this.policy, refErr, batch, B);
      deltaOut = tf.keep(d.clone());
      return dpoLoss(d, this.config);
    });
    refErr.dispose();
    const dv = deltaOut!.dataSync() as Float32Array;
    (deltaOut as tf.Tensor1D | null)?.dispose();
    const lv = loss.dataSync()[0]!;
    loss.dispose();
    let acc = 0;
    let mean = 0;
    for (const v of dv) {
      if (v < 0) acc++;
      mean += v;
    }
    return { loss: lv, implicitAccuracy: acc / dv.length, delta: mean / dv.length };
  }

  /** A Plackett–Luce step; accuracy and Δ are over the batch's strictly ordered candidate pairs. */
  #rankStep(states: DpoState[], idx: number[]): DpoStepStats {
    const batch = rankBatch(states, idx, Math.max(1, Math.ceil(this.config.tFraction * this.policy.schedule.T)), this.#rng);
    const B = idx.length;
    const refErr = referenceErrors(this.reference, batch, B);
    let errOut: tf.Tensor1D | null = null;
    const loss = trainStep(this.policy.params.variables(), this.#opt, () => {
      const enc = this.policy.encode(tf.tensor3d(batch.clouds, [B, batch.n, 3]));
      const kinds = this.policy.config.kinds.length > 1 ? { kinds: batch.kinds } : {};
      const e = tf.sub(epsError(this.policy, enc, tf.tensor2d(batch.x0, [batch.t.length, ACTION_DIM]), batch.t, tf.tensor2d(batch.eps, [batch.t.length, ACTION_DIM]), kinds), refErr) as tf.Tensor1D;
      errOut = tf.keep(e.clone());
      return plackettLuceLoss(tf.mul(e, -this.config.beta) as tf.Tensor1D, batch.group, batch.G);
    });
    refErr.dispose();
    const ev = errOut!.dataSync() as Float32Array;
    (errOut as tf.Tensor1D | null)?.dispose();
    const lv = loss.dataSync()[0]!;
    loss.dispose();
    let acc = 0;
    let mean = 0;
    let pairs = 0;
    const G = batch.G;
    for (let b = 0; b < B; b++)
      for (let k = 0; k < G; k++)
        for (let j = 0; j < G; j++) {
          const gk = batch.group[b * G + k]!;
          const gj = batch.group[b * G + j]!;
          if (gk < 0 || gj <= gk) continue;
          const d = ev[b * G + k]! - ev[b * G + j]!;
          if (d < 0) acc++;
          mean += d;
          pairs++;
        }
    return { loss: lv, implicitAccuracy: pairs ? acc / pairs : NaN, delta: pairs ? mean / pairs : 0 };
  }

  /** Trains for `config.epochs` epochs over `states` (shuffled batches); calls `onEpoch` with the mean stats. */
  train(states: DpoState[], onEpoch?: (epoch: number, s: DpoStepStats) => void): DpoStepStats[] {
    const rank = this.config.loss === 'plackett-luce';
    const usable = states.map((s, i) => (rank ? new Set(s.ranked?.group ?? []).size >= 2 : s.pairs.length > 0) ? i : -1).filter((i) => i >= 0);
    if (usable.length === 0) throw new Error('dpo: no state has a preference pair');
    const out: DpoStepStats[] = [];
    for (let e = 1; e <= this.config.epochs; e++) {
      const order = this.#rng.shuffle([...usable]);
      const acc = { loss: 0, implicitAccuracy: 0, delta: 0 };
      let steps = 0;
      for (let i = 0; i < order.length; i += this.config.batchStates) {
        const s = this.step(states, order.slice(i, i + this.config.batchStates));
        acc.loss += s.loss;
        acc.implicitAccuracy += s.implicitAccuracy;
        acc.delta += s.delta;
        steps++;
      }
      const m = { loss: acc.loss / steps, implicitAccuracy: acc.implicitAccuracy / steps, delta: acc.delta / steps };
      out.push(m);
      onEpoch?.(e, m);
    }
    return out;
  }

  dispose(): void {
    this.#opt.dispose?.();
  }
}
