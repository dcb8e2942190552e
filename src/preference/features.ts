// State-action features for explicit reward models: the action, the cloud around it, an optional occupancy
// grid of the workspace and optional object-frame shape features.
import { z } from 'zod';
import type { WorkspaceBox } from '../core/geometry.ts';
import type { PointCloud } from '../core/pointcloud.ts';
import { primitiveToArray, type Primitive } from '../core/primitive.ts';
import { Rng } from '../core/rng.ts';

/**
 * `grid`: cells per side of the xy occupancy grid over the workspace; `radii`: neighbourhood radii
 * (m) at which the point density around each action point is counted.
 */
export const FeatureConfigSchema = z.strictObject({
  /** Cells per side of the workspace occupancy grid; 0 leaves it out. @default 12 */
  grid: z.number().int().min(0).max(64).refine((g) => g !== 1, { message: 'must be 0 (no grid) or at least 2' }).default(12),
  /** @default [0.02, 0.05] */
  radii: z.array(z.number().positive()).max(4).default([0.02, 0.05]),
  /**
   * Object-frame shape features, invariant to where the object lies and how it is turned: a histogram
   * of the points' distances from the cloud's centroid (`bins` bins over [0, `extent`] m) and the action
   * relative to the centroid (see objectFeatureDim). null leaves them out (files saved before they existed).
   * @default null
   */
  object: z
    .strictObject({
      bins: z.number().int().min(1).max(64).default(8),
      extent: z.number().positive().max(10).default(0.3),
    })
    .nullable()
    .default(null),
  /**
   * A subset of the cloud's points in each candidate's own frame (origin at the pick, x towards the place),
   * POINT_FEATURES numbers per point (see candidateFeatures), appended last for a reward with a point
   * encoder. The subset is a fixed-seed draw, the same for every candidate of a state. null leaves it out.
   * @default null
   */
  points: z
    .strictObject({
      count: z.number().int().min(4).max(512).default(64),
      /** Length scale (m) the coordinates are divided by. @default 0.3 */
      extent: z.number().positive().max(10).default(0.3),
    })
    .nullable()
    .default(null),
});
export type FeatureConfig = z.infer<typeof FeatureConfigSchema>;

/**
 * What `pamstack train reward` uses for new models: no absolute occupancy grid (144 numbers that tie a
 * reward to where the object happens to lie; with ~60 ranked states it overfits), object-frame features.
 */
export const DEFAULT_REWARD_FEATURES: FeatureConfig = { grid: 0, radii: [0.02, 0.05], object: { bins: 8, extent: 0.3 }, points: null };

/**
 * `--features points`: the object-frame features and 64 points in each candidate's frame, for a reward
 * with a point encoder (rope-circle, held-out share of the best candidate's gain: 0.47 → 0.55).
 */
export const POINT_REWARD_FEATURES: FeatureConfig = { ...DEFAULT_REWARD_FEATURES, points: { count: 64, extent: 0.3 } };

/** Numbers per point of the `points` block: (u, v) from the pick, (u, v) from the place, distance to each. */
export const POINT_FEATURES = 6;

/** Length of the trailing point block of a candidate row (0 without `points`). */
export function pointBlockDim(cfg: FeatureConfig): number {
  return cfg.points ? cfg.points.count * POINT_FEATURES : 0;
}

/** Length of one state feature row. */
export function stateFeatureDim(cfg: FeatureConfig): number {
  return cfg.grid * cfg.grid;
}

/** Object-frame numbers per candidate: histogram bins ‖ pick radius, place radius, displacement, radial change, cos angle, sin angle. */
export function objectFeatureDim(cfg: FeatureConfig): number {
  return cfg.object ? cfg.object.bins + 6 : 0;
}

/** Length of one state-action feature row: grid ‖ action (6, workspace-normalised) ‖ local densities ‖ nearest distances ‖ object frame. */
export function candidateFeatureDim(cfg: FeatureConfig): number {
  return stateFeatureDim(cfg) + 6 + 2 * cfg.radii.length + 2 + objectFeatureDim(cfg) + pointBlockDim(cfg);
}

/** Column names of a candidateFeatures row, in its layout (e.g. to name shared columns for transfer). */
export function candidateFeatureNames(cfg: FeatureConfig): string[] {
  const names: string[] = [];
  for (let k = 0; k < cfg.grid * cfg.grid; k++) names.push(`grid_${k}`);
  names.push('a_x', 'a_y', 'a_z', 'b_x', 'b_y', 'b_z');
  for (const p of ['a', 'b']) for (const r of cfg.radii) names.push(`density_${p}_${r}`);
  names.push('nearest_a', 'nearest_b');
  if (cfg.object) {
    for (let k = 0; k < cfg.object.bins; k++) names.push(`hist_${k}`);
    names.push('r_pick', 'r_place', 'displacement', 'radial_change', 'turn_cos', 'turn_sin');
  }
  if (cfg.points)
    for (let k = 0; k < cfg.points.count; k++) for (const q of ['u', 'v', 'u_place', 'v_place', 'd_pick', 'd_place']) names.push(`pt${k}_${q}`);
  if (names.length !== candidateFeatureDim(cfg)) throw new Error(`candidateFeatureNames: ${names.length} names for ${candidateFeatureDim(cfg)} columns`);
  return names;
}

/**
 * The xy occupancy of a `table`-frame cloud over the workspace, [grid·grid] fractions summing to 1
 * (points outside the box are clamped into the border cells). Written into `out` at `offset`.
 */
export function stateFeatures(cloud: PointCloud, box: WorkspaceBox, cfg: FeatureConfig, out?: Float32Array, offset = 0): Float32Array {
  const g = cfg.grid;
  const o = out ?? new Float32Array(g * g);
  const pts = cloud.points;
  const n = Math.floor(pts.length / 3);
  const sx = g / (box.max[0] - box.min[0]);
  const sy = g / (box.max[1] - box.min[1]);
  for (let k = 0; k < g * g; k++) o[offset + k] = 0;
  if (n === 0) return o;
  const w = 1 / n;
  for (let i = 0; i < n; i++) {
    const cx = Math.min(g - 1, Math.max(0, Math.floor((pts[3 * i]! - box.min[0]) * sx)));
    const cy = Math.min(g - 1, Math.max(0, Math.floor((pts[3 * i + 1]! - box.min[1]) * sy)));
    o[offset + cy * g + cx]! += w;
  }
  return o;
}

/** [n, candidateFeatureDim] row-major features of `candidates` at the state `cloud`. */
export function candidateFeatures(cloud: PointCloud, box: WorkspaceBox, candidates: Primitive[], cfg: FeatureConfig): Float32Array {
  const dim = candidateFeatureDim(cfg);
  const sd = stateFeatureDim(cfg);
  const out = new Float32Array(candidates.length * dim);
  const state = stateFeatures(cloud, box, cfg);
  const pts = cloud.points;
  const n = Math.floor(pts.length / 3);
  const act = new Float32Array(6);
  const span = [0, 1, 2].map((i) => (box.max[i]! - box.min[i]!) / 2);
  const mid = [0, 1, 2].map((i) => (box.max[i]! + box.min[i]!) / 2);
  const diag = Math.hypot(span[0]!, span[1]!) * 2;
  const obj = cfg.object ? objectShape(pts, n, cfg.object) : null;
  const subset = cfg.points ? pointSubset(n, cfg.points.count) : null;
  const pointsAt = dim - pointBlockDim(cfg);
  candidates.forEach((c, k) => {
    const row = k * dim;
    out.set(state, row);
    primitiveToArray(c, act);
    for (let i = 0; i < 6; i++) out[row + sd + i] = (act[i]! - mid[i % 3]!) / span[i % 3]!;
    let col = row + sd + 6;
    for (const p of [c.a, c.b]) {
      const counts = new Array<number>(cfg.radii.length).fill(0);
      let nearest = Infinity;
      for (let i = 0; i < n; i++) {
        // xy distance: a grasp/place acts on what lies below it
        const d = Math.hypot(pts[3 * i]! - p[0], pts[3 * i + 1]! - p[1]);
        if (d < nearest) nearest = d;
        for (let r = 0; r < cfg.radii.length; r++) if (d <= cfg.radii[r]!) counts[r]!++;
      }
      for (let r = 0; r < cfg.radii.length; r++) out[col++] = n > 0 ? counts[r]! / n : 0;
      out[row + sd + 6 + 2 * cfg.radii.length + (p === c.a ? 0 : 1)] = Number.isFinite(nearest) ? Math.min(1, nearest / diag) : 1;
    }
    if (obj) {
      col = row + sd + 6 + 2 * cfg.radii.length + 2;
      out.set(obj.hist, col);
      col += obj.hist.length;
      const [ax, ay, bx, by] = [c.a[0] - obj.cx, c.a[1] - obj.cy, c.b[0] - obj.cx, c.b[1] - obj.cy];
      const ra = Math.hypot(ax, ay);
      const rb = Math.hypot(bx, by);
      const e = obj.extent;
      out[col++] = ra / e;
      out[col++] = rb / e;
      out[col++] = Math.hypot(bx - ax, by - ay) / e;
      out[col++] = (rb - ra) / e;
      // the turn from pick to place about the centroid (1, 0 when either sits on it)
      const den = ra * rb;
      out[col++] = den > 1e-12 ? (ax * bx + ay * by) / den : 1;
      out[col++] = den > 1e-12 ? (ax * by - ay * bx) / den : 0;
    }
    if (subset) candidateFramePoints(pts, subset, c, cfg.points!.extent, out, row + pointsAt);
  });
  return out;
}

/** `count` point indices of a cloud of `n` (without repeats while n ≥ count); a fixed seed, so a function of n. */
function pointSubset(n: number, count: number): Int32Array | null {
  if (n === 0) return null;
  const rng = new Rng(0x9017);
  const idx = Array.from({ length: n }, (_, i) => i);
  const out = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    if (k % n === 0) rng.shuffle(idx);
    out[k] = idx[k % n]!;
  }
  return out;
}

/**
 * The subset's points in the candidate's frame: origin at the pick, x towards the place (world x when
 * they coincide), over `extent`; per point u, v, u − d, v (from the place), distance to pick and to place.
 * Zeros for an empty cloud.
 */
function candidateFramePoints(pts: Float32Array, subset: Int32Array | null, c: Primitive, extent: number, out: Float32Array, at: number): void {
  if (!subset) return;
  let ex = c.b[0] - c.a[0];
  let ey = c.b[1] - c.a[1];
  const d = Math.hypot(ex, ey);
  if (d < 1e-9) [ex, ey] = [1, 0];
  else [ex, ey] = [ex / d, ey / d];
  const dd = d / extent;
  for (let k = 0; k < subset.length; k++) {
    const i = subset[k]!;
    const px = pts[3 * i]! - c.a[0];
    const py = pts[3 * i + 1]! - c.a[1];
    const u = (px * ex + py * ey) / extent;
    const v = (py * ex - px * ey) / extent;
    const o = at + k * POINT_FEATURES;
    out[o] = u;
    out[o + 1] = v;
    out[o + 2] = u - dd;
    out[o + 3] = v;
    out[o + 4] = Math.hypot(u, v);
    out[o + 5] = Math.hypot(u - dd, v);
  }
}

/** The cloud's xy centroid and its radial histogram (fractions over `bins` bins of [0, extent], the last bin open). */
function objectShape(pts: Float32Array, n: number, o: NonNullable<FeatureConfig['object']>): { cx: number; cy: number; hist: Float32Array; extent: number } {
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < n; i++) {
    cx += pts[3 * i]!;
    cy += pts[3 * i + 1]!;
  }
  cx = n ? cx / n : 0;
  cy = n ? cy / n : 0;
  const hist = new Float32Array(o.bins);
  for (let i = 0; i < n; i++) {
    const r = Math.hypot(pts[3 * i]! - cx, pts[3 * i + 1]! - cy);
    hist[Math.min(o.bins - 1, Math.floor((r / o.extent) * o.bins))]! += 1 / n;
  }
  return { cx, cy, hist, extent: o.extent };
}
