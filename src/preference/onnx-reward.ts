// Explicit reward models (BT, robust, regret's reward net, PointNet rewards) as ONNX graphs, scored on ONNX Runtime.
import type { WorkspaceBox } from '../core/geometry.ts';
import type { CandidateScorer } from '../core/stages.ts';
import { OnnxGraphBuilder } from '../nn/onnx-writer.ts';
import { createOrtSession, floatTensor, type OrtSession, type OrtSessionOptions } from '../nn/onnx-runtime.ts';
import { candidateFeatures, FeatureConfigSchema, POINT_FEATURES, type FeatureConfig } from './features.ts';
import { loadRewardModel } from './reward-io.ts';
import type { RewardModel, RowScore } from './reward-model.ts';

/**
 * The reward of raw candidate rows: input `rows` [N, rowDim] (candidateFeatures), outputs `score` [N]
 * (robust: μ) and, for the robust model, `std` [N]. The arithmetic of RewardModel.score: standardise,
 * (point block: per-point ReLU MLP, max ‖ mean), MLP, robust log-std clipped to [−6, 3] then exp.
 */
export function rewardGraph(model: RewardModel): Uint8Array {
  const json = model.toJSON();
  const w = (k: string) => {
    const e = json.weights[k];
    if (!e) throw new Error(`onnx export: reward weight ${k} is missing`);
    return { data: Float32Array.from(e.data), shape: e.shape };
  };
  const cfg = model.config;
  const D = model.rowDim;
  const g = new OnnxGraphBuilder(`pamstack_reward_${cfg.model}`);
  const rows = g.input('rows', ['N', D]);
  let x = g.op('Div', [g.op('Sub', [rows, g.constant('row_mean', model.rowNorm.mean, [D])]), g.constant('row_std', model.rowNorm.std, [D])]);
  const mlp = (tag: string, layers: number, h: string) => {
    for (let i = 0; i < layers; i++) {
      const W = w(`${tag}_w${i}`), b = w(`${tag}_b${i}`);
      h = g.op('Add', [g.op('MatMul', [h, g.constant(`${tag}_w${i}`, W.data, W.shape)]), g.constant(`${tag}_b${i}`, b.data, b.shape)]);
      if (i + 1 < layers) h = g.op('Relu', [h]);
    }
    return h;
  };
  const pe = cfg.pointEncoder;
  if (pe) {
    const head = D - pe.points * POINT_FEATURES;
    const H = pe.hidden[pe.hidden.length - 1]!;
    const pts = g.reshape(g.slice(x, 1, head, D), [-1, POINT_FEATURES]);
    const h = g.reshape(g.op('Relu', [mlp('p', pe.hidden.length, pts)]), [-1, pe.points, H]);
    const mx = g.op('ReduceMax', [h], { axes: { ints: [1] }, keepdims: { int: 0 } });
    const mean = g.op('ReduceMean', [h], { axes: { ints: [1] }, keepdims: { int: 0 } });
    x = g.op('Concat', [g.slice(x, 1, 0, head), mx, mean], { axis: { int: 1 } });
  }
  const o = mlp('r', cfg.hidden.length + 1, x);
  if (cfg.model === 'robust') {
    g.output(g.reshape(g.slice(o, 1, 0, 1), [-1]), 'score', ['N']);
    g.output(g.reshape(g.op('Exp', [g.clip(g.slice(o, 1, 1, 2), -6, 3)]), [-1]), 'std', ['N']);
  } else g.output(g.reshape(o, [-1]), 'score', ['N']);
  return g.toBytes(`pamstack ${cfg.model} reward over ${D}-number candidate rows`);
}

/** A reward model's head on ONNX Runtime: RewardModel.score's numbers, asynchronously. */
export class OnnxRewardHead {
  readonly kind: RewardModel['config']['model'];
  readonly rowDim: number;
  readonly #session: OrtSession;
  readonly #robust: boolean;

  private constructor(session: OrtSession, kind: RewardModel['config']['model'], rowDim: number) {
    this.#session = session;
    this.kind = kind;
    this.rowDim = rowDim;
    this.#robust = kind === 'robust';
  }

  /** From an already-loaded tfjs reward model (weights read once). */
  static async fromModel(model: RewardModel, opts: OrtSessionOptions = {}): Promise<OnnxRewardHead> {
    return new OnnxRewardHead(await createOrtSession(rewardGraph(model), opts), model.config.model, model.rowDim);
  }

  /** Rewards of raw rows [n, rowDim]: score (robust: μ) and, for robust, std. */
  async score(rows: Float32Array): Promise<RowScore[]> {
    const n = rows.length / this.rowDim;
    if (!Number.isInteger(n)) throw new Error(`rows: expected a multiple of ${this.rowDim} numbers, received ${rows.length}`);
    if (n === 0) return [];
    const out = await this.#session.run({ rows: await floatTensor(rows, [n, this.rowDim]) } as never);
    const s = out.score!.data as Float32Array;
    const sd = this.#robust ? (out.std!.data as Float32Array) : null;
    return Array.from(s, (v, i): RowScore => (sd ? { score: v, std: sd[i]! } : { score: v }));
  }

  async dispose(): Promise<void> {
    await this.#session.release();
  }
}

/**
 * rewardModelScorer on ONNX Runtime: candidateFeatures in JS (table frame; the workspace as known at
 * scoring time), the head in ORT. Same scores as the tfjs scorer to float32 rounding.
 */
export function onnxRewardScorer(head: OnnxRewardHead, features: FeatureConfig, workspace: () => WorkspaceBox): CandidateScorer {
  return {
    name: head.kind,
    score: async (cloud, candidates) => head.score(candidateFeatures(cloud, workspace(), candidates, features)),
  };
}

/** The head and feature config of a reward folder (reward.json), for {@link onnxRewardScorer}. */
export async function loadOnnxReward(dir: string, opts: OrtSessionOptions = {}): Promise<{ head: OnnxRewardHead; features: FeatureConfig }> {
  const { model, features } = loadRewardModel(dir);
  try {
    return { head: await OnnxRewardHead.fromModel(model, opts), features: features ?? FeatureConfigSchema.parse({}) };
  } finally {
    model.dispose();
  }
}
