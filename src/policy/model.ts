// The primitive diffusion model: a point-cloud encoder and an ε-predicting denoiser over one primitive's 6 numbers.
import * as tf from '@tensorflow/tfjs';
import { PRIMITIVE_KINDS, type PrimitiveKind } from '../core/primitive.ts';
import { parseOrThrow } from '../core/errors.ts';
import { dense, linear } from '../nn/dense.ts';
import { mish } from '../nn/mish.ts';
import { ParamSet, type ParamArray, type ParamSpec } from '../nn/params.ts';
import { pointNetEncode, pointNetEncodeWithPoints, pointNetParamSpecs } from '../nn/point-encoder.ts';
import { LOCAL_GEOMETRY, localCloud, localFeatures, type LocalCloud } from '../nn/local-features.ts';
import { timestepEmbedding } from '../nn/timestep-embedding.ts';
import { ACTION_DIM, PolicyConfigSchema, type PolicyConfig, type PolicyConfigInput } from './config.ts';
import { squaredCosCapV2, type NoiseSchedule } from './schedule.ts';

/**
 * The denoiser bound to one batch of encodings: the condition's share of the first layer and the
 * timestep table are computed once and reused by every call (every DDIM step, every noise draw).
 */
export interface BoundDenoiser {
  /** Rows of x_t per encoding row (candidates, or noise draws × candidates). */
  readonly group: number;
  /**
   * ε̂(x_t, t | cloud) for x_t [b·group, 6] (rows grouped per encoding row, like repeat_interleave);
   * `t` is one timestep shared by all rows or one per row (integers in [0, T)).
   */
  predict(xt: tf.Tensor2D, t: number | Int32Array): tf.Tensor2D;
  /** Frees the cached tensors (not needed inside a tf.tidy). */
  dispose(): void;
}

/**
 * Encoder (PointNet, DP3-style) + MLP denoiser. The denoiser computes exactly
 * Linear([x_t ‖ emb(t) ‖ c (‖ onehot(kind)) (‖ local(pick) ‖ local(place))]) → Mish → … → Linear(6),
 * with its first weight kept as blocks (x, t, c, kind, local) so the cloud and timestep parts can be
 * computed once per decision. With `config.local`, an encoding row is [c ‖ points (n·3) ‖ per-point
 * features (n·width)], flattened, so encodings stay one tensor that batches, gathers and concatenates
 * like the plain [b, C] rows.
 */
export class PrimitiveDiffusionModel {
  readonly config: PolicyConfig;
  readonly params: ParamSet;
  readonly schedule: NoiseSchedule;
  #tembTable: tf.Tensor2D;

  private constructor(config: PolicyConfig, params: ParamSet) {
    this.config = config;
    this.params = params;
    this.schedule = squaredCosCapV2(config.diffusion.T);
    const T = config.diffusion.T;
    const steps = Int32Array.from({ length: T }, (_, i) => i);
    this.#tembTable = tf.keep(tf.tensor2d(timestepEmbedding(steps, config.denoiser.timeEmbedding), [T, config.denoiser.timeEmbedding]));
  }

  /** A freshly initialised model (PyTorch's default initialisation, drawn from `seed`). */
  static create(config: PolicyConfigInput = {}, seed = 0): PrimitiveDiffusionModel {
    const cfg = parseOrThrow(PolicyConfigSchema, config, 'policy config');
    return new PrimitiveDiffusionModel(cfg, ParamSet.create(PrimitiveDiffusionModel.paramSpecs(cfg), seed));
  }

  /** A model from stored weights; refuses missing, extra or mis-shaped parameters by name. */
  static fromArrays(config: PolicyConfig, arrays: ReadonlyMap<string, ParamArray>, trainable = true): PrimitiveDiffusionModel {
    const cfg = parseOrThrow(PolicyConfigSchema, config, 'policy config');
    return new PrimitiveDiffusionModel(cfg, ParamSet.fromArrays(PrimitiveDiffusionModel.paramSpecs(cfg), arrays, trainable));
  }

  /** Every parameter of a configuration, in a fixed order. */
  static paramSpecs(cfg: PolicyConfig): ParamSpec[] {
    const specs = pointNetParamSpecs('enc', cfg.encoder);
    const H = cfg.denoiser.hidden;
    const E = cfg.denoiser.timeEmbedding;
    const C = cfg.encoder.out;
    const K = cfg.kinds.length > 1 ? cfg.kinds.length : 0;
    const L = localWidth(cfg);
    const fanIn = ACTION_DIM + E + C + K + L;
    const u = { kind: 'uniform', fanIn } as const;
    if (cfg.local) {
      const last = cfg.encoder.hidden.at(-1)!;
      const F = cfg.local.width;
      specs.push({ name: 'enc.local.wp', shape: [last, F], init: { kind: 'uniform', fanIn: last + C } });
      specs.push({ name: 'enc.local.wg', shape: [C, F], init: { kind: 'uniform', fanIn: last + C } });
      specs.push({ name: 'enc.local.b', shape: [F], init: { kind: 'uniform', fanIn: last + C } });
    }
    specs.push({ name: 'den.in.wx', shape: [ACTION_DIM, H], init: u });
    specs.push({ name: 'den.in.wt', shape: [E, H], init: u });
    specs.push({ name: 'den.in.wc', shape: [C, H], init: u });
    if (K) specs.push({ name: 'den.in.wk', shape: [K, H], init: u });
    if (L) specs.push({ name: 'den.in.wl', shape: [L, H], init: u });
    specs.push({ name: 'den.in.b', shape: [H], init: u });
    for (let i = 1; i < cfg.denoiser.layers; i++) {
      specs.push({ name: `den.h${i}.w`, shape: [H, H], init: { kind: 'uniform', fanIn: H } });
      specs.push({ name: `den.h${i}.b`, shape: [H], init: { kind: 'uniform', fanIn: H } });
    }
    specs.push({ name: 'den.out.w', shape: [H, ACTION_DIM], init: { kind: 'uniform', fanIn: H } });
    specs.push({ name: 'den.out.b', shape: [ACTION_DIM], init: { kind: 'uniform', fanIn: H } });
    return specs;
  }

  /** Index of a primitive kind among this policy's kinds; throws naming the allowed ones. */
  kindIndex(kind: PrimitiveKind): number {
    const i = this.config.kinds.indexOf(kind);
    if (i < 0) throw new Error(`kind: this policy proposes ${this.config.kinds.join(', ')}, received ${kind} (known kinds: ${PRIMITIVE_KINDS.join(', ')})`);
    return i;
  }

  /** Width of one encoding row: the encoder's `out`, plus points and per-point features with `local`. */
  get encodingWidth(): number {
    const c = this.config;
    return c.encoder.out + (c.local ? c.points * (3 + c.local.width) : 0);
  }

  /** Encodings [b, encodingWidth] for object-frame clouds [b, n, 3]. One pass for the whole batch. */
  encode(clouds: tf.Tensor3D): tf.Tensor2D {
    if (clouds.shape[2] !== 3) throw new Error(`encode: clouds must be [b, n, 3], received [${clouds.shape}]`);
    const cfg = this.config;
    if (!cfg.local) return pointNetEncode(this.params, 'enc', cfg.encoder, clouds);
    const [b, n] = clouds.shape;
    if (n !== cfg.points) throw new Error(`encode: this policy's local features need ${cfg.points} points per cloud, received ${n}`);
    const p = this.params;
    return tf.tidy(() => {
      const { global, perPoint } = pointNetEncodeWithPoints(p, 'enc', cfg.encoder, clouds);
      const F = cfg.local!.width;
      const g = tf.reshape(linear(global, p.get('enc.local.wg') as tf.Tensor2D), [b, 1, F]);
      const local = tf.relu(tf.add(tf.reshape(dense(perPoint, p.get('enc.local.wp') as tf.Tensor2D, p.get('enc.local.b') as tf.Tensor1D), [b, n, F]), g));
      return tf.concat([global, tf.reshape(clouds, [b, n * 3]), tf.reshape(local, [b, n * F])], 1) as tf.Tensor2D;
    });
  }

  /**
   * Binds the denoiser to encodings [b, C]; `group` rows of x_t per encoding row; `kinds` gives each
   * encoding row's primitive kind index (required when the policy has several kinds).
   */
  denoiser(encoding: tf.Tensor2D, opts: { group?: number; kinds?: ArrayLike<number> } = {}): BoundDenoiser {
    const group = opts.group ?? 1;
    const cfg = this.config;
    const p = this.params;
    const [b, W] = encoding.shape;
    if (W !== this.encodingWidth) throw new Error(`denoiser: encoding has width ${W}, this policy's encoder gives ${this.encodingWidth}`);
    const C = cfg.encoder.out;
    if (!Number.isInteger(group) || group < 1) throw new Error(`group: expected an integer ≥ 1, received ${group}`);
    const K = cfg.kinds.length;
    const T = cfg.diffusion.T;
    const H = cfg.denoiser.hidden;
    const w = (n: string) => p.get(n) as tf.Tensor2D;
    const bias = (n: string) => p.get(n) as tf.Tensor1D;
    const global = cfg.local ? (tf.slice(encoding, [0, 0], [b, C]) as tf.Tensor2D) : encoding;
    let near: LocalCloud | null = null;
    if (cfg.local) {
      const P = cfg.points;
      const F = cfg.local.width;
      near = tf.tidy(
        () => localCloud(tf.reshape(tf.slice(encoding, [0, C], [b, P * 3]), [b, P, 3]), tf.reshape(tf.slice(encoding, [0, C + P * 3], [b, P * F]), [b, P, F])) as unknown as tf.TensorContainer,
      ) as unknown as LocalCloud;
    }
    const radii = cfg.local?.radii ?? [];
    const L = localWidth(cfg);
    // c·W_c + b (+ onehot(kind)·W_k): [b, H]
    if (K > 1 && (!opts.kinds || opts.kinds.length !== b))
      throw new Error(`kinds: this policy has ${K} primitive kinds, so each of the ${b} encodings needs a kind index`);
    const cond = tf.tidy(() => {
      const c = tf.add(linear(global, w('den.in.wc')), bias('den.in.b')) as tf.Tensor2D;
      if (K <= 1) return c;
      const oh = tf.cast(tf.oneHot(tf.tensor1d(Array.from(opts.kinds!), 'int32'), K), 'float32') as tf.Tensor2D;
      return tf.add(c, linear(oh, w('den.in.wk'))) as tf.Tensor2D;
    });
    // emb(t)·W_t for every t: [T, H]
    const timeTable = linear(this.#tembTable, w('den.in.wt'));
    const hidden: [tf.Tensor2D, tf.Tensor1D][] = [];
    for (let i = 1; i < cfg.denoiser.layers; i++) hidden.push([w(`den.h${i}.w`), bias(`den.h${i}.b`)]);
    const outW = w('den.out.w');
    const outB = bias('den.out.b');
    const wx = w('den.in.wx');
    return {
      group,
      predict(xt: tf.Tensor2D, t: number | Int32Array): tf.Tensor2D {
        return tf.tidy(() => {
          const m = xt.shape[0];
          if (m !== b * group) throw new Error(`predict: x_t has ${m} rows, expected ${b} encodings × ${group}`);
          let h = linear(xt, wx);
          if (typeof t === 'number') {
            if (!Number.isInteger(t) || t < 0 || t >= T) throw new Error(`t: expected an integer in [0, ${T}), received ${t}`);
            h = tf.add(h, tf.slice(timeTable, [t, 0], [1, H]));
          } else {
            if (t.length !== m) throw new Error(`t: expected ${m} timesteps, received ${t.length}`);
            const oh = tf.cast(tf.oneHot(tf.tensor1d(t, 'int32'), T), 'float32') as tf.Tensor2D;
            h = tf.add(h, linear(oh, timeTable));
          }
          h = group === 1 ? tf.add(h, cond) : (tf.reshape(tf.add(tf.reshape(h, [b, group, H]), tf.reshape(cond, [b, 1, H])), [m, H]) as tf.Tensor2D);
          if (near) {
            // Queries: each row's pick and place points, [b, group·2, 3]; features back to [m, 2·L/2].
            const f = localFeatures(near, tf.reshape(xt, [b, group * 2, 3]) as tf.Tensor3D, radii);
            h = tf.add(h, linear(tf.reshape(f, [m, L]) as tf.Tensor2D, w('den.in.wl')));
          }
          h = mish(h);
          for (const [hw, hb] of hidden) h = mish(dense(h, hw, hb));
          return dense(h, outW, outB);
        });
      },
      dispose() {
        cond.dispose();
        timeTable.dispose();
        if (near) tf.dispose([near.points, near.pointsT, near.sq, near.values]);
        if (global !== encoding) global.dispose();
      },
    };
  }

  /** ε̂ for x_t [b·group, 6] at timesteps t, conditioned on encodings [b, C] (binds and frees a denoiser). */
  predictNoise(encoding: tf.Tensor2D, xt: tf.Tensor2D, t: number | Int32Array, opts: { kinds?: ArrayLike<number> } = {}): tf.Tensor2D {
    return tf.tidy(() => this.denoiser(encoding, { group: xt.shape[0] / encoding.shape[0], ...opts }).predict(xt, t));
  }

  /** An independent copy; `trainable: false` freezes it (the reference of Diffusion-DPO). */
  clone(opts: { trainable?: boolean } = {}): PrimitiveDiffusionModel {
    return new PrimitiveDiffusionModel(this.config, this.params.clone(opts));
  }

  dispose(): void {
    this.params.dispose();
    this.#tembTable.dispose();
  }
}

/** Width of the denoiser's local block: pick and place, each radii × (features + geometry). */
function localWidth(cfg: PolicyConfig): number {
  return cfg.local ? 2 * cfg.local.radii.length * (cfg.local.width + LOCAL_GEOMETRY) : 0;
}
