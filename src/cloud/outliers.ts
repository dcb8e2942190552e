// Statistical outlier removal: drop points whose mean distance to their k nearest neighbours is unusual.
import { FieldError } from '../core/errors.ts';
import { KdTree } from './kdtree.ts';

/** Parameters of `removeStatisticalOutliers` (Open3D's nb_neighbors and std_ratio). */
export interface OutlierParams {
  /**
   * Neighbours per point, the point itself included (as Open3D counts them).
   * @default 20
   */
  neighbors?: number;
  /**
   * Keep a point when its mean neighbour distance is below mean + stdRatio · std over the cloud.
   * @default 2
   */
  stdRatio?: number;
}

/**
 * Open3D's remove_statistical_outlier: for each point the mean Euclidean distance to its k nearest
 * neighbours (itself included, at distance 0); points at or above mean + stdRatio · std (sample std)
 * of those means are removed. kNN is exact (kd-tree).
 * Returns the kept points in input order ([m, 3]) and a keep mask over the input.
 */
export function removeStatisticalOutliers(points: Float32Array, params: OutlierParams = {}): { points: Float32Array; keep: Uint8Array } {
  const k = params.neighbors ?? 20;
  const ratio = params.stdRatio ?? 2;
  if (!Number.isInteger(k) || k < 1) throw new FieldError('neighbors', 'an integer >= 1', k);
  if (!(ratio >= 0) || !Number.isFinite(ratio)) throw new FieldError('stdRatio', 'a finite number >= 0', ratio);
  if (points.length % 3 !== 0) throw new FieldError('points.length', 'a multiple of 3 ([n, 3] xyz)', points.length);
  const n = points.length / 3;
  const keep = new Uint8Array(n);
  if (n === 0) return { points: new Float32Array(0), keep };
  const tree = new KdTree(points);
  const idx = new Int32Array(k);
  const d2 = new Float64Array(k);
  const avg = new Float64Array(n);
  let sum = 0;
  let found = 0;
  // Queries in tree order: the previous query's k neighbours are near, and their farthest distance
  // from this query bounds its k-th neighbour distance, so the search prunes from the first leaf.
  for (let p = 0; p < n; p++) {
    const i = tree.perm[p]!;
    const x = points[3 * i]!, y = points[3 * i + 1]!, z = points[3 * i + 2]!;
    let limit = Infinity;
    if (found === Math.min(k, n)) {
      limit = 0;
      for (let j = 0; j < found; j++) {
        const q = 3 * idx[j]!;
        const dx = points[q]! - x, dy = points[q + 1]! - y, dz = points[q + 2]! - z;
        const dd = dx * dx + dy * dy + dz * dz;
        if (dd > limit) limit = dd;
      }
    }
    found = tree.knn(x, y, z, k, idx, d2, limit);
    let s = 0;
    for (let j = 0; j < found; j++) s += Math.sqrt(d2[j]!);
    avg[i] = s / found;
    sum += avg[i]!;
  }
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (avg[i]! - mean) ** 2;
  const std = n > 1 ? Math.sqrt(sq / (n - 1)) : 0;
  const limit = mean + ratio * std;
  const out = new Float32Array(points.length);
  let w = 0;
  for (let i = 0; i < n; i++) {
    if (avg[i]! < limit || n === 1) {
      keep[i] = 1;
      out[w++] = points[3 * i]!;
      out[w++] = points[3 * i + 1]!;
      out[w++] = points[3 * i + 2]!;
    }
  }
  return { points: out.slice(0, w), keep };
}
