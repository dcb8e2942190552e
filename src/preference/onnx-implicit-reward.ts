// Diffusion-DPO's implicit reward on ONNX Runtime: implicitReward's scores, both denoisers in one graph run.
import type { CandidateScorer } from '../core/stages.ts';
import type { PolicyProcessor } from '../policy/processor.ts';
import { OnnxGraphBuilder } from '../nn/onnx-writer.ts';
import { createOrtSession, floatTensor, requireOrt, type OrtSession, type OrtSessionOptions } from '../nn/onnx-runtime.ts';
import { ACTION_DIM, type PolicyConfig } from '../policy/config.ts';
import type { PrimitiveDiffusionModel } from '../policy/model.ts';
import { denoiserConsts, denoiserNodes, encoderNodes, pointDims, policyWeights, type PolicyWeights } from '../policy/onnx-graph.ts';
import { implicitRewardBatch, implicitScores, type ImplicitRewardOptions, type ImplicitScore } from './implicit-reward.ts';

/**
 * Per-row ε-error difference of a policy and its reference (epsError of both, same (t, ε)): inputs
 * `points` [1, P, 3], `x0` [R, 6], `eps` [R, 6], `t` [R] (int64) → `diff` [R] =
 * ‖ε_θ − ε‖²/6 − ‖ε_ref − ε‖²/6 with x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·ε.
 */
export function implicitRewardGraph(
  cfg: PolicyConfig,
  policy: PolicyWeights,
  reference: PolicyWeights,
  alphasCumprod: Float32Array,
  kindIndex = 0,
): Uint8Array {
  const g = new OnnxGraphBuilder('pamstack_implicit_reward');
  const points = g.input('points', pointDims(cfg));
  const x0 = g.input('x0', ['R', ACTION_DIM]);
  const eps = g.input('eps', ['R', ACTION_DIM]);
  const t = g.input('t', ['R'], 7);
  // √ᾱ and √(1 − ᾱ) per timestep, rounded to f32 as noiseScales rounds them
  const T = alphasCumprod.length;
  const sa = Float32Array.from(alphasCumprod, (a) => Math.sqrt(a));
  const s1a = Float32Array.from(alphasCumprod, (a) => Math.sqrt(1 - a));
  const col = (name: string, table: Float32Array) => g.op('Gather', [g.constant(name, table, [T, 1]), t], { axis: { int: 0 } });
  const xt = g.op('Add', [g.op('Mul', [x0, col('sqrt_abar', sa)]), g.op('Mul', [eps, col('sqrt_one_minus_abar', s1a)])]);
  const err = (w: PolicyWeights) => {
    const enc = encoderNodes(g, cfg, w, points);
    const c = denoiserConsts(g, cfg, w, enc.global, kindIndex);
    const trow = g.op('Gather', [c.timeTable, t], { axis: { int: 0 } });
    const d = g.op('Sub', [denoiserNodes(g, cfg, w, c, enc, xt, trow), eps]);
    return g.op('ReduceMean', [g.op('Mul', [d, d])], { axes: { ints: [-1] }, keepdims: { int: 0 } });
  };
  g.output(g.op('Sub', [err(policy), err(reference)]), 'diff', ['R']);
  return g.toBytes('pamstack implicit reward: per-row eps-error difference, policy − reference');
}

/** implicitReward on ONNX Runtime (the same draws from the same seed, the same scores to f32 rounding). */
export class OnnxImplicitReward {
  readonly #session: OrtSession;
  readonly #T: number;
  readonly #fixedPoints: number | null;

  private constructor(session: OrtSession, T: number, fixedPoints: number | null) {
    this.#session = session;
    this.#T = T;
    this.#fixedPoints = fixedPoints;
  }

  /** From two already-loaded tfjs models of one configuration (the DPO policy and its frozen reference). */
  static async fromModels(policy: PrimitiveDiffusionModel, reference: PrimitiveDiffusionModel, opts: OrtSessionOptions & { kind?: number } = {}): Promise<OnnxImplicitReward> {
    if (JSON.stringify(policy.config) !== JSON.stringify(reference.config)) throw new Error('implicit reward: the policy and its reference must share one configuration');
    const bytes = implicitRewardGraph(policy.config, await policyWeights(policy), await policyWeights(reference), policy.schedule.alphasCumprod, opts.kind ?? 0);
    const session = await createOrtSession(bytes, opts);
    return new OnnxImplicitReward(session, policy.schedule.T, policy.config.local ? policy.config.points : null);
  }

  /**
   * r_k for candidates x0 [N, 6] (object frame) of the object-frame cloud [P, 3]: the draws, the
   * candidate-major batch and the mean/standard error of implicitReward, one ORT run for both models.
   */
  async score(cloud: Float32Array, candidates: Float32Array, opts: Omit<ImplicitRewardOptions, 'kind'> = {}): Promise<ImplicitScore[]> {
    const P = cloud.length / 3;
    if (!Number.isInteger(P) || P < 1 || (this.#fixedPoints !== null && P !== this.#fixedPoints))
      throw new Error(`cloud: expected ${this.#fixedPoints ?? 'k'} × 3 numbers, received ${cloud.length}`);
    const { N, M, beta, t: t32, eps, x0 } = implicitRewardBatch(candidates, this.#T, opts);
    const R = N * M;
    const t = BigInt64Array.from(t32, (v) => BigInt(v));
    const ort = await requireOrt();
    const out = await this.#session.run({
      points: await floatTensor(cloud, [1, P, 3]),
      x0: await floatTensor(x0, [R, ACTION_DIM]),
      eps: await floatTensor(eps, [R, ACTION_DIM]),
      t: new ort.Tensor('int64', t, [R]),
    } as never);
    return implicitScores(out.diff!.data as Float32Array, N, M, beta);
  }

  async dispose(): Promise<void> {
    await this.#session.release();
  }
}

/**
 * The implicit-reward CandidateScorer on ONNX Runtime, as the tfjs one of the ras stages: the
 * reference policy's processor maps the table-frame cloud and candidates into its object frame, then
 * {@link OnnxImplicitReward.score} with the decision's seed.
 */
export function onnxImplicitScorer(implicit: OnnxImplicitReward, processor: PolicyProcessor, opts: { draws?: number } = {}): CandidateScorer {
  return {
    name: 'implicit',
    score: async (cloud, candidates, seed) => {
      const obs = processor.observation(cloud);
      const { actions } = processor.actionsToObject(candidates, obs.frame);
      return implicit.score(obs.points, actions, { draws: opts.draws ?? 100, seed });
    },
  };
}
