// Intra-task distances between trajectory segments (state sequences), normalised, for GW's C matrices.
import { FieldError } from '../core/index.ts';

/** A segment: `steps` states of `dim` numbers each, row-major `[steps, dim]`. */
export interface StateSequence {
  states: Float64Array;
  steps: number;
  dim: number;
}

/** How a distance matrix is scaled: by its max (pearl-gw.md), its mean off-diagonal entry, or not. */
export type DistanceNormalization = 'max' | 'mean' | 'none';

/** Checks a task's segments share one state dimension and hold finite numbers; returns it. */
export function assertSegments(name: string, segs: readonly StateSequence[]): number {
  if (segs.length < 2) throw new FieldError(name, 'at least 2 segments', `${segs.length}`);
  const dim = segs[0]!.dim;
  segs.forEach((s, k) => {
    if (s.dim !== dim) throw new FieldError(`${name}[${k}].dim`, `${dim} (the first segment's)`, s.dim);
    if (s.steps < 1 || s.states.length !== s.steps * s.dim)
      throw new FieldError(`${name}[${k}].states`, `steps × dim = ${s.steps * s.dim} numbers`, `${s.states.length}`);
    for (let i = 0; i < s.states.length; i++)
      if (!Number.isFinite(s.states[i]))
        throw new FieldError(`${name}[${k}].states[${Math.floor(i / dim)}][${i % dim}]`, 'a finite number', s.states[i]);
  });
  return dim;
}

/** Linear resampling of a segment to `k` states evenly spaced in time; out `[k, dim]`. */
export function resampleSegment(s: StateSequence, k: number, out = new Float64Array(k * s.dim)): Float64Array {
  const { states, steps, dim } = s;
  for (let t = 0; t < k; t++) {
    const x = k === 1 ? 0 : (t * (steps - 1)) / (k - 1);
    const i0 = Math.floor(x), i1 = Math.min(steps - 1, i0 + 1), f = x - i0;
    for (let d = 0; d < dim; d++) out[t * dim + d] = (1 - f) * states[i0 * dim + d] + f * states[i1 * dim + d];
  }
  return out;
}

/** Per-dimension mean and std over every state of every segment (std floored at 1e-12). */
export function stateStatistics(segs: readonly StateSequence[]): { mean: Float64Array; std: Float64Array } {
  const dim = segs[0]!.dim;
  const mean = new Float64Array(dim), sq = new Float64Array(dim);
  let count = 0;
  for (const s of segs)
    for (let t = 0; t < s.steps; t++) {
      count++;
      for (let d = 0; d < dim; d++) mean[d] += s.states[t * dim + d];
    }
  for (let d = 0; d < dim; d++) mean[d] /= count;
  for (const s of segs)
    for (let t = 0; t < s.steps; t++)
      for (let d = 0; d < dim; d++) sq[d] += (s.states[t * dim + d] - mean[d]) ** 2;
  const std = new Float64Array(dim);
  for (let d = 0; d < dim; d++) std[d] = Math.max(1e-12, Math.sqrt(sq[d] / count));
  return { mean, std };
}

/** Segments with each state dimension standardised by the task's own statistics (new arrays). */
export function standardizeSegments(segs: readonly StateSequence[]): StateSequence[] {
  const { mean, std } = stateStatistics(segs);
  return segs.map((s) => {
    const out = new Float64Array(s.states.length);
    for (let i = 0; i < out.length; i++) out[i] = (s.states[i] - mean[i % s.dim]) / std[i % s.dim];
    return { states: out, steps: s.steps, dim: s.dim };
  });
}

/** Scales a distance matrix `[n, n]` in place. */
export function normalizeDistances(C: Float64Array, n: number, how: DistanceNormalization): Float64Array {
  if (how === 'none') return C;
  let s = 0;
  if (how === 'max') for (let i = 0; i < C.length; i++) s = Math.max(s, C[i]);
  else {
    for (let i = 0; i < C.length; i++) s += C[i];
    s /= Math.max(1, n * n - n);
  }
  if (s > 0) for (let i = 0; i < C.length; i++) C[i] /= s;
  return C;
}

/** Options of the segment distance functions. */
export interface SegmentDistanceOptions {
  /** Standardise each state dimension over the task's segments first. @default true */
  standardize?: boolean;
  /** @default 'max' */
  normalize?: DistanceNormalization;
}

/**
 * Euclidean distance between segments resampled to `samples` states each and flattened
 * (pearl-gw.md's φ): C `[n, n]`, symmetric, zero diagonal, normalised.
 */
export function euclideanSegmentDistances(
  segs: readonly StateSequence[],
  options: SegmentDistanceOptions & { samples?: number } = {},
): Float64Array {
  const dim = assertSegments('segments', segs);
  const use = (options.standardize ?? true) ? standardizeSegments(segs) : segs;
  const k = options.samples ?? Math.max(...segs.map((s) => s.steps));
  const n = segs.length, w = k * dim;
  const flat = new Float64Array(n * w);
  use.forEach((s, i) => resampleSegment(s, k, flat.subarray(i * w, (i + 1) * w)));
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let t = 0, a = i * w, b = j * w; t < w; t++) {
        const d = flat[a + t] - flat[b + t];
        s += d * d;
      }
      C[i * n + j] = C[j * n + i] = Math.sqrt(s);
    }
  return normalizeDistances(C, n, options.normalize ?? 'max');
}

/** Dynamic time warping cost between two state sequences (Euclidean step cost, full window). */
export function dtwDistance(a: StateSequence, b: StateSequence, scratch?: Float64Array): number {
  const n = a.steps, m = b.steps, dim = a.dim;
  const D = scratch && scratch.length >= (n + 1) * (m + 1) ? scratch : new Float64Array((n + 1) * (m + 1));
  const W = m + 1;
  D.fill(Infinity, 0, (n + 1) * W);
  D[0] = 0;
  for (let i = 1; i <= n; i++)
    for (let j = 1; j <= m; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) {
        const x = a.states[(i - 1) * dim + d] - b.states[(j - 1) * dim + d];
        s += x * x;
      }
      D[i * W + j] = Math.sqrt(s) + Math.min(D[(i - 1) * W + j], D[i * W + j - 1], D[(i - 1) * W + j - 1]);
    }
  return D[n * W + m];
}

/** DTW distances between all segments: C `[n, n]`, symmetric, zero diagonal, normalised. */
export function dtwSegmentDistances(segs: readonly StateSequence[], options: SegmentDistanceOptions = {}): Float64Array {
  assertSegments('segments', segs);
  const use = (options.standardize ?? true) ? standardizeSegments(segs) : segs;
  const n = segs.length;
  const maxSteps = Math.max(...segs.map((s) => s.steps));
  const scratch = new Float64Array((maxSteps + 1) * (maxSteps + 1));
  const C = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) C[i * n + j] = C[j * n + i] = dtwDistance(use[i]!, use[j]!, scratch);
  return normalizeDistances(C, n, options.normalize ?? 'max');
}

/**
 * Cross-task feature cost for fused GW: Euclidean distance between source and target segments
 * resampled to `samples` states, on the feature columns both tasks share (`sourceColumns[c]` of a
 * source state is comparable with `targetColumns[c]` of a target state), unstandardised so the shared
 * scale is kept; M `[n, m]`, normalised.
 */
export function crossSegmentDistances(
  source: readonly StateSequence[],
  target: readonly StateSequence[],
  sourceColumns: readonly number[],
  targetColumns: readonly number[],
  options: { samples?: number; normalize?: DistanceNormalization } = {},
): Float64Array {
  assertSegments('source', source);
  assertSegments('target', target);
  if (sourceColumns.length !== targetColumns.length || sourceColumns.length === 0)
    throw new FieldError('sharedColumns', 'the same non-zero number of source and target columns', `${sourceColumns.length} and ${targetColumns.length}`);
  const k = options.samples ?? Math.max(...source.map((s) => s.steps), ...target.map((s) => s.steps));
  const c = sourceColumns.length;
  const pick = (segs: readonly StateSequence[], cols: readonly number[]) =>
    segs.map((s) => {
      const r = resampleSegment(s, k);
      const out = new Float64Array(k * c);
      for (let t = 0; t < k; t++) for (let q = 0; q < c; q++) out[t * c + q] = r[t * s.dim + cols[q]!];
      return out;
    });
  const A = pick(source, sourceColumns), B = pick(target, targetColumns);
  const n = A.length, m = B.length;
  const M = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      const a = A[i]!, b = B[j]!;
      for (let t = 0; t < a.length; t++) s += (a[t] - b[t]) ** 2;
      M[i * m + j] = Math.sqrt(s);
    }
  const how = options.normalize ?? 'max';
  if (how !== 'none') {
    let sc = 0;
    for (let i = 0; i < M.length; i++) sc = how === 'max' ? Math.max(sc, M[i]) : sc + M[i] / M.length;
    if (sc > 0) for (let i = 0; i < M.length; i++) M[i] /= sc;
  }
  return M;
}
