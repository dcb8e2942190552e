// The primitive diffusion policy as ONNX graphs: encoder, per-step denoiser and the whole DDIM loop.
//
// Each graph repeats the arithmetic of model.ts / sampler.ts / src/nn op for op (same operand order,
// same constants), so ONNX Runtime gives the tfjs candidates for the same noise to float32 rounding.
// The batch is one cloud (what a decision observes); the candidate count N is a free dimension.
import type { ParamArray } from '../nn/params.ts';
import { OnnxGraphBuilder } from '../nn/onnx-writer.ts';
import { LOCAL_GEOMETRY } from '../nn/local-features.ts';
import { timestepEmbedding } from '../nn/timestep-embedding.ts';
import { ACTION_DIM, type PolicyConfig } from './config.ts';
import type { PrimitiveDiffusionModel } from './model.ts';
import { ddimTimesteps, type NoiseSchedule } from './schedule.ts';

/** Weights by parameter name (ParamSet.toArrays of a model). */
export type PolicyWeights = ReadonlyMap<string, ParamArray>;

/** Reads a model's weights for graph building. */
export function policyWeights(model: PrimitiveDiffusionModel): Promise<Map<string, ParamArray>> {
  return model.params.toArrays();
}

function param(w: PolicyWeights, name: string): Float32Array {
  const a = w.get(name);
  if (!a) throw new Error(`onnx export: parameter ${name} is missing`);
  return a.data;
}

/** Graph pieces of one encoded cloud. */
export interface EncodedCloud {
  /** [1, C] */
  global: string;
  /** present with `config.local` */
  near: { pointsT: string; sq: string; values: string; count: number; width: number } | null;
}

/** PointNet encoder (+ local per-point features) of points [1, P, 3], as pointNetEncodeWithPoints and model.encode. */
export function encoderNodes(g: OnnxGraphBuilder, cfg: PolicyConfig, w: PolicyWeights, points: string): EncodedCloud & { encoding: string } {
  const P = cfg.points;
  // without local features the encoder takes any number of points (max-pooled), as model.encode does
  const pts = g.reshape(points, [cfg.local ? P : -1, 3]);
  let h = pts;
  let d = 3;
  const last = cfg.encoder.hidden.length - 1;
  cfg.encoder.hidden.forEach((width, i) => {
    const p = `enc.mlp${i}`;
    const z = g.dense(h, param(w, `${p}.w`), param(w, `${p}.b`), d, width, p);
    h = g.layerNorm(z, param(w, `${p}.ln.g`), param(w, `${p}.ln.b`), `${p}.ln`);
    if (i !== last) h = g.op('Relu', [h]);
    d = width;
  });
  const pooled = g.op('Relu', [g.op('ReduceMax', [h], { axes: { ints: [0] }, keepdims: { int: 1 } })]);
  const C = cfg.encoder.out;
  const o = g.dense(pooled, param(w, 'enc.out.w'), param(w, 'enc.out.b'), d, C, 'enc.out');
  const global = g.layerNorm(o, param(w, 'enc.out.ln.g'), param(w, 'enc.out.ln.b'), 'enc.out.ln');
  if (!cfg.local) return { global, near: null, encoding: global };
  const F = cfg.local.width;
  const gl = g.dense(global, param(w, 'enc.local.wg'), null, C, F, 'enc.local.g');
  const local = g.op('Relu', [g.op('Add', [g.dense(h, param(w, 'enc.local.wp'), param(w, 'enc.local.b'), d, F, 'enc.local.p'), gl])]);
  const encoding = g.op('Concat', [global, g.reshape(pts, [1, P * 3]), g.reshape(local, [1, P * F])], { axis: { int: 1 } });
  return { global, near: nearNodes(g, pts, local, P, F), encoding };
}

/** localCloud: points transposed, squared norms and [features ‖ point] rows. */
function nearNodes(g: OnnxGraphBuilder, pts: string, local: string, P: number, F: number): NonNullable<EncodedCloud['near']> {
  return {
    pointsT: g.op('Transpose', [pts], { perm: { ints: [1, 0] } }),
    sq: g.reshape(g.op('ReduceSum', [g.op('Mul', [pts, pts]), g.int64('axes', [1])], { keepdims: { int: 1 } }), [1, P]),
    values: g.op('Concat', [local, pts], { axis: { int: 1 } }),
    count: P,
    width: F,
  };
}

/** The encoding row [1, W] of model.encode split back into its parts (the per-step denoiser's input). */
function encodingParts(g: OnnxGraphBuilder, cfg: PolicyConfig, encoding: string): EncodedCloud {
  const C = cfg.encoder.out;
  if (!cfg.local) return { global: encoding, near: null };
  const P = cfg.points, F = cfg.local.width;
  const global = g.slice(encoding, 1, 0, C);
  const pts = g.reshape(g.slice(encoding, 1, C, C + P * 3), [P, 3]);
  const local = g.reshape(g.slice(encoding, 1, C + P * 3, C + P * 3 + P * F), [P, F]);
  return { global, near: nearNodes(g, pts, local, P, F) };
}

/** localFeatures for queries [Q, 3] → [Q, radii·(F + 4)], radius-major within each query. */
function localFeatureNodes(g: OnnxGraphBuilder, near: NonNullable<EncodedCloud['near']>, queries: string, radii: readonly number[]): string {
  const qq = g.op('ReduceSum', [g.op('Mul', [queries, queries]), g.int64('axes', [1])], { keepdims: { int: 1 } });
  const cross = g.op('Mul', [g.op('MatMul', [queries, near.pointsT]), g.scalar(2)]);
  const d2 = g.op('Relu', [g.op('Add', [g.op('Sub', [qq, cross]), near.sq])]);
  const F = near.width;
  const blocks: string[] = [];
  for (const r of radii) {
    const logits = g.op('Mul', [d2, g.scalar(-1 / (2 * r * r))]);
    const wts = g.op('Softmax', [logits], { axis: { int: -1 } });
    const lse = g.op('ReduceLogSumExp', [logits], { axes: { ints: [-1] }, keepdims: { int: 1 } });
    const ds = g.op('Div', [g.clip(g.op('Sub', [lse, g.scalar(Math.log(near.count))]), -8, 0), g.scalar(8)]);
    const gathered = g.op('MatMul', [wts, near.values]);
    const feat = g.slice(gathered, 1, 0, F);
    const mean = g.slice(gathered, 1, F, F + 3);
    const offset = g.clip(g.op('Mul', [g.op('Sub', [mean, queries]), g.scalar(1 / r)]), -4, 4);
    blocks.push(g.op('Concat', [feat, offset, ds], { axis: { int: 1 } }));
  }
  return blocks.length === 1 ? blocks[0]! : g.op('Concat', blocks, { axis: { int: 1 } });
}

/** What a bound denoiser precomputes: cond [1, H] and the timestep table [T, H]. */
export interface DenoiserConsts {
  cond: string;
  timeTable: string;
}

export function denoiserConsts(g: OnnxGraphBuilder, cfg: PolicyConfig, w: PolicyWeights, global: string, kindIndex: number): DenoiserConsts {
  const H = cfg.denoiser.hidden, E = cfg.denoiser.timeEmbedding, C = cfg.encoder.out, T = cfg.diffusion.T;
  let cond = g.op('Add', [g.dense(global, param(w, 'den.in.wc'), null, C, H, 'den.in.c'), g.constant('den.in.b', param(w, 'den.in.b'), [H])]);
  const K = cfg.kinds.length;
  if (K > 1) {
    // onehot(kind)·W_k is row `kind` of W_k, exactly
    const wk = param(w, 'den.in.wk');
    cond = g.op('Add', [cond, g.constant('den.in.wk.row', wk.subarray(kindIndex * H, (kindIndex + 1) * H), [1, H])]);
  }
  const steps = Int32Array.from({ length: T }, (_, i) => i);
  const temb = g.constant('temb', timestepEmbedding(steps, E), [T, E]);
  const timeTable = g.op('MatMul', [temb, g.constant('den.in.wt', param(w, 'den.in.wt'), [E, H])]);
  return { cond, timeTable };
}

/** ε̂ for x_t [N, 6] with the time row(s) `trow` ([1, H] or [N, H]), as BoundDenoiser.predict. */
export function denoiserNodes(g: OnnxGraphBuilder, cfg: PolicyConfig, w: PolicyWeights, c: DenoiserConsts, enc: EncodedCloud, xt: string, trow: string): string {
  const H = cfg.denoiser.hidden;
  let h = g.op('MatMul', [xt, g.constant('den.in.wx', param(w, 'den.in.wx'), [ACTION_DIM, H])]);
  h = g.op('Add', [h, trow]);
  h = g.op('Add', [h, c.cond]);
  if (enc.near && cfg.local) {
    const L = 2 * cfg.local.radii.length * (cfg.local.width + LOCAL_GEOMETRY);
    const f = localFeatureNodes(g, enc.near, g.reshape(xt, [-1, 3]), cfg.local.radii);
    h = g.op('Add', [h, g.op('MatMul', [g.reshape(f, [-1, L]), g.constant('den.in.wl', param(w, 'den.in.wl'), [L, H])])]);
  }
  h = g.mish(h);
  for (let i = 1; i < cfg.denoiser.layers; i++) h = g.mish(g.dense(h, param(w, `den.h${i}.w`), param(w, `den.h${i}.b`), H, H, `den.h${i}`));
  return g.dense(h, param(w, 'den.out.w'), param(w, 'den.out.b'), H, ACTION_DIM, 'den.out');
}

/** The cloud input: [1, P, 3]; P is free ("P") without local features. */
export function pointDims(cfg: PolicyConfig): (number | string)[] {
  return [1, cfg.local ? cfg.points : 'P', 3];
}

/** Options of {@link policySamplerGraph}. */
export interface SamplerGraphOptions {
  /** DDIM steps. @default 10 */
  steps?: number;
  /** DDIM eta; > 0 adds the input `z` [steps, N, 6] of per-step noise. @default 1 */
  eta?: number;
  /** Primitive kind index (policies with several kinds). @default 0 */
  kindIndex?: number;
}

/**
 * The whole decision's sampling as one graph: inputs `points` [1, P, 3] (the processor's object-frame
 * cloud), `noise` [N, 6] (x_T) and, with eta > 0, `z` [steps, N, 6]; output `actions` [N, 6] (object
 * frame), as sampleCandidates with the same draws.
 */
export function policySamplerGraph(cfg: PolicyConfig, w: PolicyWeights, schedule: NoiseSchedule, opts: SamplerGraphOptions = {}): Uint8Array {
  const steps = opts.steps ?? 10;
  const eta = opts.eta ?? 1;
  if (!(eta >= 0 && eta <= 1)) throw new Error(`eta: expected a number in [0, 1], received ${eta}`);
  const g = new OnnxGraphBuilder('pamstack_policy_sampler');
  const points = g.input('points', pointDims(cfg));
  let x = g.input('noise', ['N', ACTION_DIM]);
  const z = eta > 0 ? g.input('z', [steps, 'N', ACTION_DIM]) : null;
  const enc = encoderNodes(g, cfg, w, points);
  const c = denoiserConsts(g, cfg, w, enc.global, opts.kindIndex ?? 0);
  const { alphasCumprod: abar } = schedule;
  const ts = ddimTimesteps(schedule.T, steps);
  const clip = cfg.diffusion.clip;
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i]!;
    const aT = abar[t]!;
    const aPrev = i + 1 < ts.length ? abar[ts[i + 1]!]! : 1;
    const sigma = eta > 0 ? eta * Math.sqrt((1 - aPrev) / (1 - aT)) * Math.sqrt(1 - aT / aPrev) : 0;
    const trow = g.op('Gather', [c.timeTable, g.int64('t', [t], [1])], { axis: { int: 0 } });
    const eps = denoiserNodes(g, cfg, w, c, enc, x, trow);
    const x0 = g.clip(g.op('Div', [g.op('Sub', [x, g.op('Mul', [eps, g.scalar(Math.sqrt(1 - aT))])]), g.scalar(Math.sqrt(aT))]), -clip, clip);
    let xn = g.op('Add', [g.op('Mul', [x0, g.scalar(Math.sqrt(aPrev))]), g.op('Mul', [eps, g.scalar(Math.sqrt(Math.max(0, 1 - aPrev - sigma * sigma)))])]);
    if (z && sigma > 0) {
      const zi = g.op('Gather', [z, g.int64('step', [i], [])], { axis: { int: 0 } });
      xn = g.op('Add', [xn, g.op('Mul', [zi, g.scalar(sigma)])]);
    }
    x = xn;
  }
  g.output(x, 'actions', ['N', ACTION_DIM]);
  return g.toBytes(`pamstack policy sampler: DDIM ${steps} steps, eta ${eta}, T ${schedule.T}`);
}

/** The encoder: `points` [1, P, 3] → `encoding` [1, W] (model.encode's row). */
export function policyEncoderGraph(cfg: PolicyConfig, w: PolicyWeights): Uint8Array {
  const g = new OnnxGraphBuilder('pamstack_policy_encoder');
  const points = g.input('points', pointDims(cfg));
  const enc = encoderNodes(g, cfg, w, points);
  const width = cfg.encoder.out + (cfg.local ? cfg.points * (3 + cfg.local.width) : 0);
  g.output(enc.encoding, 'encoding', [1, width]);
  return g.toBytes('pamstack policy encoder');
}

/**
 * One denoiser call: `encoding` [1, W], `x_t` [N, 6], `t` [N] (int64, one timestep per row) → `eps`
 * [N, 6]. With per-row timesteps this is also the implicit reward's denoiser (policy and reference).
 */
export function policyDenoiserGraph(cfg: PolicyConfig, w: PolicyWeights, opts: { kindIndex?: number } = {}): Uint8Array {
  const g = new OnnxGraphBuilder('pamstack_policy_denoiser');
  const width = cfg.encoder.out + (cfg.local ? cfg.points * (3 + cfg.local.width) : 0);
  const encoding = g.input('encoding', [1, width]);
  const xt = g.input('x_t', ['N', ACTION_DIM]);
  const t = g.input('t', ['N'], 7);
  const enc = encodingParts(g, cfg, encoding);
  const c = denoiserConsts(g, cfg, w, enc.global, opts.kindIndex ?? 0);
  const trow = g.op('Gather', [c.timeTable, t], { axis: { int: 0 } });
  g.output(denoiserNodes(g, cfg, w, c, enc, xt, trow), 'eps', ['N', ACTION_DIM]);
  return g.toBytes('pamstack policy denoiser (one step; per-row timesteps)');
}
