// Trains an explicit reward model on preference pairs and reports held-out accuracy and log-likelihood.
import * as tf from '@tensorflow/tfjs';
import { deriveSeed, Rng, SeedStream } from '../core/rng.ts';
import { POINT_FEATURES } from './features.ts';
import { RewardModel, RewardModelConfigSchema, standardise, type PairData, type RewardModelConfig } from './reward-model.ts';

/** Accuracy on strict pairs (y ≠ 0.5) and mean log-likelihood of the labels (ties included as 0.5 targets). */
export interface PreferenceFit {
  pairs: number;
  strictPairs: number;
  accuracy: number;
  logLikelihood: number;
}

export interface RewardTrainReport {
  model: RewardModelConfig['model'];
  train: PreferenceFit;
  val: PreferenceFit | null;
  /** Epoch of the kept weights (lowest held-out loss; last epoch without a held-out split). */
  bestEpoch: number;
  /** Per-epoch training loss and held-out log-likelihood. */
  curve: { epoch: number; loss: number; valLogLikelihood?: number }[];
}

/** Splits pair indices into train/val; by `group` when given, so held-out pairs come from unseen states. */
export function splitPairs(data: PairData, valFraction: number, seed: number): { train: number[]; val: number[] } {
  const p = data.y.length;
  const rng = new Rng(deriveSeed(seed, SeedStream.shuffle));
  const groupOf = (i: number) => (data.group ? data.group[i]! : i);
  const groups = [...new Set(Array.from({ length: p }, (_, i) => groupOf(i)))];
  rng.shuffle(groups);
  const nVal = Math.round(groups.length * valFraction);
  const valGroups = new Set(groups.slice(0, nVal));
  const train: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < p; i++) (valGroups.has(groupOf(i)) ? val : train).push(i);
  return { train, val };
}

/**
 * One batch of pairs over shared rows (PairData.items): the batch's distinct rows (standardised) and the
 * [B, I] sign matrix that turns their rewards into pair logits.
 */
function itemBatch(model: RewardModel, data: PairData, idx: number[]) {
  const it = data.items!;
  const d = data.rowDim;
  const local = new Map<number, number>();
  const slot = (r: number) => {
    let k = local.get(r);
    if (k === undefined) local.set(r, (k = local.size));
    return k;
  };
  const pairs = idx.map((p) => [slot(it.left[p]!), slot(it.right[p]!)] as const);
  const rows = new Float32Array(local.size * d);
  for (const [r, k] of local) rows.set(it.rows.subarray(r * d, (r + 1) * d), k * d);
  const signs = new Float32Array(idx.length * local.size);
  pairs.forEach(([l, r], b) => {
    signs[b * local.size + l]! += 1;
    signs[b * local.size + r]! -= 1;
  });
  return {
    items: standardise(tf.tensor2d(rows, [local.size, d]), model.rowNorm),
    signs: tf.tensor2d(signs, [idx.length, local.size]),
    y: tf.tensor1d(idx.map((p) => data.y[p]!)),
  };
}

/** Pair logits of a batch in either layout (rows per pair side, or shared items); robust draws noise with `rng`. */
function batchLogits(
  model: RewardModel,
  data: PairData,
  idx: number[],
  rng?: Rng,
): { z: tf.Tensor1D; y: tf.Tensor1D; logStd: () => tf.Tensor1D; extra: ReturnType<typeof batchTensors> | null } {
  const robustNoise = rng && model.config.model === 'robust';
  if (data.items) {
    const b = itemBatch(model, data, idx);
    const noise = robustNoise ? normalTensor(b.items.shape[0], rng) : undefined;
    const { z, logStd } = model.itemLogits(b.items as tf.Tensor2D, b.signs, noise);
    return { z, y: b.y, logStd: () => logStd!, extra: null };
  }
  const b = batchTensors(model, data, idx);
  const noise = robustNoise ? { left: normalTensor(idx.length * data.steps, rng), right: normalTensor(idx.length * data.steps, rng) } : undefined;
  const z = model.logits(b.left as tf.Tensor2D, b.right as tf.Tensor2D, data.steps, {
    ...(b.leftStates ? { leftStates: b.leftStates, rightStates: b.rightStates! } : {}),
    ...(noise ? { noise } : {}),
  });
  const logStd = () => tf.concat([model.rowOutputs(b.left as tf.Tensor2D).logStd!, model.rowOutputs(b.right as tf.Tensor2D).logStd!]) as tf.Tensor1D;
  return { z, y: b.y, logStd, extra: b };
}

/** One batch of pairs as tensors (standardised), built from pair indices. */
function batchTensors(model: RewardModel, data: PairData, idx: number[]) {
  const { rowDim: d, steps: L } = data;
  const left = new Float32Array(idx.length * L * d);
  const right = new Float32Array(idx.length * L * d);
  const y = new Float32Array(idx.length);
  idx.forEach((p, k) => {
    left.set(data.left.subarray(p * L * d, (p + 1) * L * d), k * L * d);
    right.set(data.right.subarray(p * L * d, (p + 1) * L * d), k * L * d);
    y[k] = data.y[p]!;
  });
  const t = {
    left: standardise(tf.tensor2d(left, [idx.length * L, d]), model.rowNorm),
    right: standardise(tf.tensor2d(right, [idx.length * L, d]), model.rowNorm),
    y: tf.tensor1d(y),
    leftStates: undefined as tf.Tensor2D | undefined,
    rightStates: undefined as tf.Tensor2D | undefined,
  };
  if (data.leftStates && data.rightStates && data.stateDim) {
    const ds = data.stateDim;
    const n = (L + 1) * ds;
    const ls = new Float32Array(idx.length * n);
    const rs = new Float32Array(idx.length * n);
    idx.forEach((p, k) => {
      ls.set(data.leftStates!.subarray(p * n, (p + 1) * n), k * n);
      rs.set(data.rightStates!.subarray(p * n, (p + 1) * n), k * n);
    });
    t.leftStates = standardise(tf.tensor2d(ls, [idx.length * (L + 1), ds]), model.stateNorm);
    t.rightStates = standardise(tf.tensor2d(rs, [idx.length * (L + 1), ds]), model.stateNorm);
  }
  return t;
}

/** Bernoulli cross-entropy of logits z against soft targets y: −[y log σ(z) + (1−y) log σ(−z)]. */
export function crossEntropy(z: tf.Tensor1D, y: tf.Tensor1D): tf.Tensor1D {
  return tf.neg(y.mul(logSigmoidT(z)).add(tf.sub(1, y).mul(logSigmoidT(tf.neg(z))))) as tf.Tensor1D;
}

/**
 * log σ(z) = min(z, 0) − log(1 + e^{−|z|}), stable for any z. tf.logSigmoid's gradient reads a
 * disposed tensor on the wasm backend, so it is built from elementary ops here.
 */
export function logSigmoidT<T extends tf.Tensor>(z: T): T {
  return tf.minimum(z, 0).sub(tf.log1p(tf.exp(tf.neg(tf.abs(z))))) as T;
}

const EVAL_CHUNK = 4096;

/** Fit statistics of `model` on pairs `idx` (robust: using μ). */
export function evaluatePairs(model: RewardModel, data: PairData, idx: number[]): PreferenceFit {
  if (idx.length === 0) return { pairs: 0, strictPairs: 0, accuracy: NaN, logLikelihood: NaN };
  // in chunks: a point encoder's activations for every pair at once would be large
  const zs = new Float32Array(idx.length);
  for (let s = 0; s < idx.length; s += EVAL_CHUNK) {
    const z = tf.tidy(() => batchLogits(model, data, idx.slice(s, s + EVAL_CHUNK)).z);
    zs.set(z.dataSync(), s);
    z.dispose();
  }
  let ll = 0;
  let strict = 0;
  let correct = 0;
  idx.forEach((p, k) => {
    const y = data.y[p]!;
    const v = zs[k]!;
    ll += y * logSig(v) + (1 - y) * logSig(-v);
    if (y !== 0.5) {
      strict++;
      if (v > 0 === y > 0.5) correct++;
    }
  });
  return { pairs: idx.length, strictPairs: strict, accuracy: strict ? correct / strict : NaN, logLikelihood: ll / idx.length };
}

function logSig(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

function columnNorm(rows: Float32Array, dim: number, out: { mean: Float32Array; std: Float32Array }): void {
  const n = rows.length / dim;
  out.mean.fill(0);
  out.std.fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) out.mean[j]! += rows[i * dim + j]! / n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < dim; j++) {
      const d = rows[i * dim + j]! - out.mean[j]!;
      out.std[j]! += (d * d) / n;
    }
  for (let j = 0; j < dim; j++) out.std[j] = Math.max(1e-3, Math.sqrt(out.std[j]!));
}

/**
 * Trains a reward model of `config.model` on `data` with Adam; keeps the weights of the epoch with the
 * lowest held-out loss (training is non-monotone, as Knox et al. note). Deterministic for a seed.
 */
export function trainRewardModel(
  data: PairData,
  config: Partial<RewardModelConfig> & { model: RewardModelConfig['model'] },
  opts: { onEpoch?: (epoch: number, loss: number) => void } = {},
): { model: RewardModel; report: RewardTrainReport } {
  const cfg = RewardModelConfigSchema.parse(config);
  checkData(data, cfg);
  const model = new RewardModel(cfg, data.rowDim, data.stateDim ?? 0);
  const { train, val } = splitPairs(data, cfg.valFraction, cfg.seed);
  if (train.length === 0) throw new Error('reward training: no training pairs after the held-out split');
  // standardise by the training rows only
  columnNorm(trainingRows(data, train), data.rowDim, model.rowNorm);
  if (cfg.pointEncoder) {
    // the point block is already scaled; one shared point MLP needs the same scale for every point
    const at = data.rowDim - cfg.pointEncoder.points * POINT_FEATURES;
    model.rowNorm.mean.fill(0, at);
    model.rowNorm.std.fill(1, at);
  }
  if (data.leftStates && data.stateDim) columnNorm(data.leftStates, data.stateDim, model.stateNorm);

  const opt = tf.train.adam(cfg.lr);
  const rng = new Rng(cfg.seed + 1);
  const curve: RewardTrainReport['curve'] = [];
  let best = { loss: Infinity, epoch: 0, weights: null as Float32Array[] | null };
  const vars = model.variables;
  for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    let lossSum = tf.scalar(0);
    for (const idx of epochBatches(data, train, cfg.batch, rng)) {
      const l = tf.tidy(() => {
        return opt.minimize(
          () => {
            const { z, y, logStd, extra: b } = batchLogits(model, data, idx, rng);
            let loss = crossEntropy(z, y).mean();
            if (cfg.model === 'robust') loss = loss.add(robustKl(logStd(), cfg).mul(cfg.klWeight));
            if (cfg.model === 'regret' && cfg.bellmanWeight > 0 && b?.leftStates)
              loss = loss.add(bellmanHinge(model, b, data.steps).mul(cfg.bellmanWeight));
            if (cfg.weightDecay > 0) loss = loss.add(tf.addN(vars.filter((_, i) => i % 2 === 0).map((w) => tf.sum(tf.square(w)))).mul(cfg.weightDecay));
            return loss as tf.Scalar;
          },
          true,
          vars,
        )!.mul(idx.length / train.length);
      });
      const next = lossSum.add(l) as tf.Scalar;
      lossSum.dispose();
      l.dispose();
      lossSum = next;
    }
    const loss = lossSum.dataSync()[0]!;
    lossSum.dispose();
    opts.onEpoch?.(epoch, loss);
    const point: RewardTrainReport['curve'][number] = { epoch, loss };
    const monitor = val.length > 0 ? -evaluatePairs(model, data, val).logLikelihood : loss;
    if (val.length > 0) point.valLogLikelihood = -monitor;
    curve.push(point);
    if (monitor < best.loss || val.length === 0) best = { loss: monitor, epoch, weights: vars.map((v) => v.dataSync().slice() as Float32Array) };
  }
  opt.dispose();
  if (best.weights) vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(best.weights![i]!, v.shape))));
  const report: RewardTrainReport = {
    model: cfg.model,
    train: evaluatePairs(model, data, train),
    val: val.length ? evaluatePairs(model, data, val) : null,
    bestEpoch: best.epoch,
    curve,
  };
  return { model, report };
}

/** The rows the training pairs use (each shared item once), for the standardisation. */
function trainingRows(data: PairData, train: number[]): Float32Array {
  const d = data.rowDim;
  if (data.items) {
    const used = [...new Set(train.flatMap((p) => [data.items!.left[p]!, data.items!.right[p]!]))];
    const rows = new Float32Array(used.length * d);
    used.forEach((r, k) => rows.set(data.items!.rows.subarray(r * d, (r + 1) * d), k * d));
    return rows;
  }
  const seg = data.steps * d;
  const rows = new Float32Array(train.length * 2 * seg);
  train.forEach((p, k) => {
    rows.set(data.left.subarray(p * seg, (p + 1) * seg), 2 * k * seg);
    rows.set(data.right.subarray(p * seg, (p + 1) * seg), (2 * k + 1) * seg);
  });
  return rows;
}

/**
 * One epoch's batches of training pairs, shuffled with `rng`. Shared-item data is batched by whole
 * groups (states) of about `batch` pairs, so a batch encodes few rows; otherwise pairs are shuffled freely.
 */
function epochBatches(data: PairData, train: number[], batch: number, rng: Rng): number[][] {
  const out: number[][] = [];
  if (data.items && data.group) {
    const byGroup = new Map<number, number[]>();
    for (const p of train) {
      const g = data.group[p]!;
      let list = byGroup.get(g);
      if (!list) byGroup.set(g, (list = []));
      list.push(p);
    }
    let cur: number[] = [];
    for (const g of rng.shuffle([...byGroup.keys()])) {
      cur.push(...byGroup.get(g)!);
      if (cur.length >= batch) {
        out.push(cur);
        cur = [];
      }
    }
    if (cur.length) out.push(cur);
    return out;
  }
  const order = rng.shuffle([...train]);
  for (let s = 0; s < order.length; s += batch) out.push(order.slice(s, s + batch));
  return out;
}

function normalTensor(n: number, rng: Rng): tf.Tensor1D {
  return tf.tensor1d(rng.fillNormal(new Float32Array(n)) as Float32Array);
}

/** Mean KL(N(μ,σ²) ‖ N(μ,σ₀²)) = log(σ₀/σ) + σ²/(2σ₀²) − ½ over the batch rows' log-std `ls`. */
function robustKl(ls: tf.Tensor1D, cfg: RewardModelConfig): tf.Scalar {
  const s0 = cfg.sigma0;
  return tf.mean(tf.sub(Math.log(s0), ls).add(tf.exp(ls.mul(2)).div(2 * s0 * s0)).sub(0.5)) as tf.Scalar;
}

/** Mean relu(r_t + V(s_{t+1}) − V(s_t)) over every step of both segments: V must dominate one-step lookahead. */
function bellmanHinge(model: RewardModel, b: ReturnType<typeof batchTensors>, steps: number): tf.Scalar {
  const side = (x: tf.Tensor2D, s: tf.Tensor2D) => {
    const r = model.rowOutputs(x).mean.reshape([-1, steps]);
    const v = model.value(s).reshape([-1, steps + 1]);
    const vNext = v.slice([0, 1], [-1, steps]);
    const vNow = v.slice([0, 0], [-1, steps]);
    return tf.relu(r.add(vNext).sub(vNow)).mean() as tf.Scalar;
  };
  return side(b.left as tf.Tensor2D, b.leftStates!).add(side(b.right as tf.Tensor2D, b.rightStates!)).div(2) as tf.Scalar;
}

function checkData(d: PairData, cfg: RewardModelConfig): void {
  const p = d.y.length;
  const seg = d.steps * d.rowDim;
  if (d.items) {
    const rows = d.items.rows.length / d.rowDim;
    if (d.steps !== 1) throw new Error(`pairs.items: shared rows are for one-step pairs; received steps = ${d.steps}`);
    if (!Number.isInteger(rows)) throw new Error(`pairs.items.rows: expected a multiple of rowDim = ${d.rowDim} numbers, received ${d.items.rows.length}`);
    for (const side of ['left', 'right'] as const) {
      const ix = d.items[side];
      if (ix.length !== p) throw new Error(`pairs.items.${side}: expected ${p} row indices (one per pair), received ${ix.length}`);
      for (let i = 0; i < p; i++)
        if (!(ix[i]! >= 0 && ix[i]! < rows)) throw new Error(`pairs.items.${side}[${i}]: expected a row index in [0, ${rows}), received ${ix[i]}`);
    }
  } else {
    if (d.left.length !== p * seg) throw new Error(`pairs.left: expected ${p * seg} numbers (pairs × steps × rowDim), received ${d.left.length}`);
    if (d.right.length !== p * seg) throw new Error(`pairs.right: expected ${p * seg} numbers, received ${d.right.length}`);
  }
  if (cfg.pointEncoder && d.rowDim <= cfg.pointEncoder.points * POINT_FEATURES)
    throw new Error(`pointEncoder.points: ${cfg.pointEncoder.points} points need rows longer than ${cfg.pointEncoder.points * POINT_FEATURES} numbers; rows have ${d.rowDim} (train with features that include points)`);
  for (let i = 0; i < p; i++) {
    const y = d.y[i]!;
    if (!(y >= 0 && y <= 1)) throw new Error(`pairs.y[${i}]: expected a probability in [0, 1], received ${y}`);
  }
  if (cfg.model === 'regret') {
    const ds = d.stateDim ?? 0;
    const n = p * (d.steps + 1) * ds;
    if (!ds || d.leftStates?.length !== n || d.rightStates?.length !== n)
      throw new Error(`regret model: leftStates/rightStates must hold pairs × (steps+1) × stateDim = ${n} numbers`);
  }
}
