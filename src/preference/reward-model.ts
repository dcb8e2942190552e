// Explicit reward models over feature rows: Bradley–Terry, PEARL's robust Gaussian reward, regret.
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { Rng } from '../core/rng.ts';
import { POINT_FEATURES } from './features.ts';

export const REWARD_MODELS = ['bt', 'robust', 'regret'] as const;
export type RewardModelKind = (typeof REWARD_MODELS)[number];

/**
 * - `bt`: r(x) per row; a segment's score is Σ r (partial return); P(left ≻ right) = σ(S_l − S_r).
 * - `robust` (PEARL RRL, reconstructed in research/pearl-gw.md §2): r = μ(x) + σ(x)·ξ, ξ ~ N(0,1)
 *   (reparameterised), Bradley–Terry cross-entropy on Σ r plus λ·KL(N(μ,σ²) ‖ N(μ,σ₀²)); selection
 *   uses μ and σ.
 * - `regret` (Knox et al., deterministic form): regret(σ) = V(s₀) − (Σ r + V(s_T)) with a learned
 *   value net V; P(left ≻ right) = σ(regret_r − regret_l); a hinge keeps V(s_t) ≥ r_t + V(s_{t+1}).
 */
export const RewardModelConfigSchema = z.strictObject({
  model: z.enum(REWARD_MODELS),
  /** Hidden widths of the reward net; [] makes it linear. @default [64, 64] */
  hidden: z.array(z.number().int().positive()).max(4).default([64, 64]),
  /** Hidden widths of the regret model's value net. @default [64] */
  valueHidden: z.array(z.number().int().positive()).max(4).default([64]),
  /** Adam learning rate. @default 0.003 */
  lr: z.number().positive().max(1).default(3e-3),
  /** @default 200 */
  epochs: z.number().int().positive().max(100000).default(200),
  /** Pairs per step. @default 128 */
  batch: z.number().int().positive().default(128),
  /** L2 weight on all weights. @default 0.0001 */
  weightDecay: z.number().min(0).default(1e-4),
  /** Held-out fraction (split by state/group). @default 0.2 */
  valFraction: z.number().min(0).max(0.9).default(0.2),
  /** @default 0 */
  seed: z.number().int().default(0),
  /** Robust: prior std σ₀ of the KL regulariser. @default 1 */
  sigma0: z.number().positive().default(1),
  /** Robust: KL weight λ. @default 0.1 */
  klWeight: z.number().min(0).default(0.1),
  /** Regret: weight of the Bellman hinge V(s) ≥ r + V(s'). @default 0.1 */
  bellmanWeight: z.number().min(0).default(0.1),
  /**
   * A PointNet encoder over the row's trailing block of `points` × POINT_FEATURES numbers (features
   * with `points`): a shared MLP of widths `hidden` (ReLU) per point, max- and mean-pooled, joined to the
   * rest of the row before the reward net. null: a plain MLP over the whole row.
   * @default null
   */
  pointEncoder: z
    .strictObject({
      points: z.number().int().min(1).max(512),
      hidden: z.array(z.number().int().positive()).min(1).max(4).default([64, 64]),
    })
    .nullable()
    .default(null),
});
export type RewardModelConfig = z.infer<typeof RewardModelConfigSchema>;

/**
 * Pairs of equal-length segments as flat feature rows.
 * - `left`, `right`: [P, steps, rowDim]; a candidate pair has steps = 1.
 * - `y`: P(left ≻ right) per pair: 1, 0, or 0.5 (tie).
 * - `group`: optional per-pair group (e.g. state index) so held-out pairs come from unseen groups.
 * - regret only: `leftStates`, `rightStates`: [P, steps + 1, stateDim] (s₀ … s_T).
 */
export interface PairData {
  rowDim: number;
  steps: number;
  left: Float32Array;
  right: Float32Array;
  y: Float32Array;
  group?: Int32Array;
  stateDim?: number;
  leftStates?: Float32Array;
  rightStates?: Float32Array;
  /**
   * One-step pairs over shared rows (steps = 1): each candidate's row once in `rows` [I, rowDim] and
   * each pair's left and right row index; `left` and `right` are then empty. Training then batches
   * whole groups and encodes each row once per batch (what makes a point encoder affordable).
   */
  items?: { rows: Float32Array; left: Int32Array; right: Int32Array };
}

/** A scored row: reward (robust: mean) and, for the robust model, its std. */
export interface RowScore {
  score: number;
  std?: number;
}

interface Layer {
  w: tf.Variable;
  b: tf.Variable;
}

/** Serialised weights: name → shape and numbers. */
export interface WeightsJson {
  [name: string]: { shape: number[]; data: number[] };
}

/** A reward model: an MLP over standardised rows (and a value MLP for `regret`). */
export class RewardModel {
  readonly config: RewardModelConfig;
  readonly rowDim: number;
  readonly stateDim: number;
  /** Row standardisation (mean, std) applied before the net; identity until set. */
  readonly rowNorm: { mean: Float32Array; std: Float32Array };
  readonly stateNorm: { mean: Float32Array; std: Float32Array };
  #reward: Layer[];
  #value: Layer[];
  #points: Layer[];

  constructor(config: RewardModelConfig, rowDim: number, stateDim = 0) {
    this.config = config;
    this.rowDim = rowDim;
    this.stateDim = stateDim;
    if (config.model === 'regret' && stateDim <= 0) throw new Error('regret model: stateDim must be positive');
    const rng = new Rng(config.seed);
    const out = config.model === 'robust' ? 2 : 1;
    const pe = config.pointEncoder;
    if (pe && rowDim <= pe.points * POINT_FEATURES)
      throw new Error(`reward model: rowDim ${rowDim} leaves no room for a point block of ${pe.points} × ${POINT_FEATURES} numbers`);
    this.#points = pe ? makeMlp([POINT_FEATURES, ...pe.hidden], rng, 'p') : [];
    const inDim = pe ? rowDim - pe.points * POINT_FEATURES + 2 * pe.hidden[pe.hidden.length - 1]! : rowDim;
    this.#reward = makeMlp([inDim, ...config.hidden, out], rng, 'r');
    this.#value = config.model === 'regret' ? makeMlp([stateDim, ...config.valueHidden, 1], rng, 'v') : [];
    this.rowNorm = { mean: new Float32Array(rowDim), std: new Float32Array(rowDim).fill(1) };
    this.stateNorm = { mean: new Float32Array(stateDim), std: new Float32Array(stateDim).fill(1) };
  }

  get variables(): tf.Variable[] {
    return [...this.#points, ...this.#reward, ...this.#value].flatMap((l) => [l.w, l.b]);
  }

  /** The reward net's input: the row itself, or with a point encoder the row's head ‖ max ‖ mean of the encoded points. */
  #encode(x: tf.Tensor2D): tf.Tensor2D {
    const pe = this.config.pointEncoder;
    if (!pe) return x;
    const n = x.shape[0];
    const head = this.rowDim - pe.points * POINT_FEATURES;
    const pts = x.slice([0, head], [n, pe.points * POINT_FEATURES]).reshape([n * pe.points, POINT_FEATURES]) as tf.Tensor2D;
    const h = tf.relu(mlp(this.#points, pts)).reshape([n, pe.points, -1]);
    return tf.concat([x.slice([0, 0], [n, head]), h.max(1), h.mean(1)], 1) as tf.Tensor2D;
  }

  /** Per-row reward mean and log-std ([n]) of standardised rows x [n, rowDim]. */
  rowOutputs(x: tf.Tensor2D): { mean: tf.Tensor1D; logStd?: tf.Tensor1D } {
    const o = mlp(this.#reward, this.#encode(x));
    if (this.config.model !== 'robust') return { mean: o.reshape([-1]) as tf.Tensor1D };
    const [m, s] = tf.split(o, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    return { mean: m.reshape([-1]) as tf.Tensor1D, logStd: tf.clipByValue(s, -6, 3).reshape([-1]) as tf.Tensor1D };
  }

  /** V(s) of standardised states [n, stateDim] (regret model only). */
  value(s: tf.Tensor2D): tf.Tensor1D {
    return mlp(this.#value, s).reshape([-1]) as tf.Tensor1D;
  }

  /**
   * Logit of P(left ≻ right) for a batch: left/right [B·steps, rowDim], states [B·(steps+1), stateDim].
   * With `noise` (robust, training) rewards are sampled μ + σ·ξ; otherwise μ is used.
   */
  logits(
    left: tf.Tensor2D,
    right: tf.Tensor2D,
    steps: number,
    extra: { leftStates?: tf.Tensor2D; rightStates?: tf.Tensor2D; noise?: { left: tf.Tensor1D; right: tf.Tensor1D } } = {},
  ): tf.Tensor1D {
    const segScore = (x: tf.Tensor2D, xi?: tf.Tensor1D): tf.Tensor1D => {
      const { mean, logStd } = this.rowOutputs(x);
      const r = xi && logStd ? mean.add(tf.exp(logStd).mul(xi)) : mean;
      return r.reshape([-1, steps]).sum(1) as tf.Tensor1D;
    };
    let l = segScore(left, extra.noise?.left);
    let r = segScore(right, extra.noise?.right);
    if (this.config.model === 'regret') {
      if (!extra.leftStates || !extra.rightStates) throw new Error('regret model: leftStates and rightStates are required');
      const shaping = (s: tf.Tensor2D): tf.Tensor1D => {
        const v = this.value(s).reshape([-1, steps + 1]);
        return v.slice([0, steps], [-1, 1]).sub(v.slice([0, 0], [-1, 1])).reshape([-1]) as tf.Tensor1D;
      };
      l = l.add(shaping(extra.leftStates));
      r = r.add(shaping(extra.rightStates));
    }
    return l.sub(r);
  }

  /**
   * Logits of pairs over shared items (one-step candidate pairs): rewards of the standardised `items`
   * [I, rowDim] (robust with `noise` [I]: μ + σ·ξ), then `signs` [B, I] (+1 left, −1 right per pair) · r.
   * Each item is encoded once however many pairs it is in; a matMul, since gather has no gradient on wasm.
   * Returns the items' log-std too (robust), for the KL term without a second pass.
   */
  itemLogits(items: tf.Tensor2D, signs: tf.Tensor2D, noise?: tf.Tensor1D): { z: tf.Tensor1D; logStd?: tf.Tensor1D } {
    const { mean, logStd } = this.rowOutputs(items);
    const r = noise && logStd ? mean.add(tf.exp(logStd).mul(noise)) : mean;
    const z = plainMatMul(signs, r.reshape([-1, 1]) as tf.Tensor2D).reshape([-1]) as tf.Tensor1D;
    return logStd ? { z, logStd } : { z };
  }

  /** Rewards of raw (unstandardised) rows [n, rowDim]: score (robust: μ) and, for robust, std. */
  score(rows: Float32Array): RowScore[] {
    const n = rows.length / this.rowDim;
    if (!Number.isInteger(n)) throw new Error(`rows: expected a multiple of ${this.rowDim} numbers, received ${rows.length}`);
    if (n === 0) return [];
    const out = tf.tidy(() => {
      const x = standardise(tf.tensor2d(rows, [n, this.rowDim]), this.rowNorm);
      const o = this.rowOutputs(x);
      return o.logStd ? [o.mean, tf.exp(o.logStd)] : [o.mean];
    });
    const mv = out[0]!.dataSync();
    const sv = out[1]?.dataSync();
    out.forEach((t) => t.dispose());
    return Array.from(mv, (v, i): RowScore => (sv ? { score: v, std: sv[i]! } : { score: v }));
  }

  /** Weights and normalisation as plain numbers. */
  toJSON(): { config: RewardModelConfig; rowDim: number; stateDim: number; norm: Record<string, number[]>; weights: WeightsJson } {
    const weights: WeightsJson = {};
    for (const v of this.variables) weights[weightKey(v.name)] = { shape: v.shape, data: Array.from(v.dataSync()) };
    return {
      config: this.config,
      rowDim: this.rowDim,
      stateDim: this.stateDim,
      norm: {
        rowMean: Array.from(this.rowNorm.mean),
        rowStd: Array.from(this.rowNorm.std),
        stateMean: Array.from(this.stateNorm.mean),
        stateStd: Array.from(this.stateNorm.std),
      },
      weights,
    };
  }

  /** Sets weights from toJSON's `weights`; every variable must be present with its shape. */
  setWeights(w: WeightsJson): void {
    for (const v of this.variables) {
      const e = w[weightKey(v.name)];
      if (!e) throw new Error(`reward weights: missing ${v.name}`);
      if (e.shape.join('x') !== v.shape.join('x'))
        throw new Error(`reward weights: ${v.name} expected shape ${v.shape.join('x')}, received ${e.shape.join('x')}`);
      tf.tidy(() => v.assign(tf.tensor(e.data, v.shape)));
    }
  }

  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}

let uid = 0;
function makeMlp(dims: number[], rng: Rng, tag: string): Layer[] {
  const id = `${tag}${uid++}`;
  const layers: Layer[] = [];
  for (let i = 0; i + 1 < dims.length; i++) {
    const fanIn = dims[i]!;
    const fanOut = dims[i + 1]!;
    const lim = Math.sqrt(6 / (fanIn + fanOut));
    const w = new Float32Array(fanIn * fanOut);
    for (let k = 0; k < w.length; k++) w[k] = rng.uniform(-lim, lim);
    // inside tidy so the initial tensors die; variables are not tracked by tidy
    layers.push(
      tf.tidy(() => ({
        w: tf.variable(tf.tensor2d(w, [fanIn, fanOut]), true, `${id}_w${i}`),
        b: tf.variable(tf.zeros([fanOut]), true, `${id}_b${i}`),
      })),
    );
  }
  return layers;
}

function mlp(layers: Layer[], x: tf.Tensor2D): tf.Tensor2D {
  let h = x;
  layers.forEach((l, i) => {
    h = tf.add(plainMatMul(h, l.w as tf.Tensor2D), l.b);
    if (i + 1 < layers.length) h = tf.relu(h);
  });
  return h;
}

/**
 * x·w with its gradient written as explicit transposes and plain matMuls: the wasm backend's
 * transposed matMul (which the built-in gradient uses) is ~15× slower (research/diffusion-and-tfjs.md).
 */
export const plainMatMul = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = inputs as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, tf.transpose(sw)), tf.matMul(tf.transpose(sx), g)];
    },
  };
}) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

export function standardise(x: tf.Tensor2D, norm: { mean: Float32Array; std: Float32Array }): tf.Tensor2D {
  return x.sub(tf.tensor1d(norm.mean)).div(tf.tensor1d(norm.std));
}

/** Strips the per-instance prefix from a variable name so saved weights load into a fresh model. */
export function weightKey(name: string): string {
  return name.replace(/^([rvp])\d+_/, '$1_');
}
