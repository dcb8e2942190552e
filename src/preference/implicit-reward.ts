// The implicit reward of Diffusion-DPO: −β · mean over low-noise draws of (ε-error of DPO model − of reference).
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../core/rng.ts';
import { ACTION_DIM } from '../policy/config.ts';
import { epsError } from '../policy/eps-error.ts';
import type { PrimitiveDiffusionModel } from '../policy/model.ts';

/**
 * @default draws 100 (DeformPAM's M); lowFraction 0.1 (t ~ U{0 … ⌈0.1·T⌉−1}); beta 100; seed 0
 */
export interface ImplicitRewardOptions {
  draws?: number;
  lowFraction?: number;
  beta?: number;
  seed?: number;
  /** Primitive kind index (policies with several kinds). */
  kind?: number;
}

/** Reward per candidate and the standard error of its Monte-Carlo mean. */
export interface ImplicitScore {
  score: number;
  std: number;
}

/**
 * r_k = −β · (1/M) Σ_m [‖ε_θ(x_t^{k,m}, t_m | s) − ε_m‖² − ‖ε_ref(x_t^{k,m}, t_m | s) − ε_m‖²] for the
 * candidates x0 [N, 6] (object frame) of one state with object-frame cloud [n, 3]. Both models see the
 * same (t_m, ε_m); the draws are also shared across candidates (common random numbers, so the ranking
 * of candidates does not depend on which noise each happened to get). All N·M rows are one batch per
 * model. Only the argmax matters for selection (β-invariant); log Z(s) cancels within a state.
 */
export function implicitReward(
  policy: PrimitiveDiffusionModel,
  reference: PrimitiveDiffusionModel,
  cloud: Float32Array,
  candidates: Float32Array,
  opts: ImplicitRewardOptions = {},
): ImplicitScore[] {
  const { N, M, beta, t, eps, x0 } = implicitRewardBatch(candidates, policy.schedule.T, opts);
  const diff = tf.tidy(() => {
    const c = tf.tensor3d(cloud, [1, cloud.length / 3, 3]);
    const x = tf.tensor2d(x0, [N * M, ACTION_DIM]);
    const e = tf.tensor2d(eps, [N * M, ACTION_DIM]);
    const kinds = policy.config.kinds.length > 1 ? { kinds: [opts.kind ?? 0] } : {};
    const ep = epsError(policy, policy.encode(c), x, t, e, kinds);
    const er = epsError(reference, reference.encode(c), x, t, e, kinds);
    return tf.sub(ep, er);
  });
  const d = diff.dataSync() as Float32Array;
  diff.dispose();
  return implicitScores(d, N, M, beta);
}

/**
 * The draws and rows of implicitReward for candidates x0 [N, 6]: t_m ~ U{0 … ⌈lowFraction·T⌉−1} and
 * ε_m ~ N(0, I) from `seed`, shared by every candidate, rows candidate-major (row k·M + m).
 */
export function implicitRewardBatch(
  candidates: Float32Array,
  T: number,
  opts: Omit<ImplicitRewardOptions, 'kind'> = {},
): { N: number; M: number; beta: number; t: Int32Array; eps: Float32Array; x0: Float32Array } {
  const N = candidates.length / ACTION_DIM;
  if (!Number.isInteger(N) || N < 1) throw new Error(`candidates: expected N·6 numbers, received ${candidates.length}`);
  const M = opts.draws ?? 100;
  const beta = opts.beta ?? 100;
  const tMax = Math.max(1, Math.ceil((opts.lowFraction ?? 0.1) * T));
  const rng = new Rng(opts.seed ?? 0);
  const tDraw = Int32Array.from({ length: M }, () => rng.int(tMax));
  const epsDraw = rng.fillNormal(new Float32Array(M * ACTION_DIM)) as Float32Array;
  const t = new Int32Array(N * M);
  const eps = new Float32Array(N * M * ACTION_DIM);
  const x0 = new Float32Array(N * M * ACTION_DIM);
  for (let k = 0; k < N; k++)
    for (let m = 0; m < M; m++) {
      const r = k * M + m;
      t[r] = tDraw[m]!;
      eps.set(epsDraw.subarray(m * ACTION_DIM, (m + 1) * ACTION_DIM), r * ACTION_DIM);
      x0.set(candidates.subarray(k * ACTION_DIM, (k + 1) * ACTION_DIM), r * ACTION_DIM);
    }
  return { N, M, beta, t, eps, x0 };
}

/** −β · the mean over draws of each candidate's error difference d [N·M], with the standard error of that mean. */
export function implicitScores(d: Float32Array, N: number, M: number, beta: number): ImplicitScore[] {
  const out: ImplicitScore[] = [];
  for (let k = 0; k < N; k++) {
    let s = 0;
    let s2 = 0;
    for (let m = 0; m < M; m++) {
      const v = d[k * M + m]!;
      s += v;
      s2 += v * v;
    }
    const mean = s / M;
    out.push({ score: -beta * mean, std: beta * Math.sqrt(Math.max(0, s2 / M - mean * mean) / M) });
  }
  return out;
}
