// State-action features for explicit reward models: an occupancy grid of the cloud plus the action.
import { z } from 'zod';
import type { WorkspaceBox } from '../core/geometry.ts';
import type { PointCloud } from '../core/pointcloud.ts';
import { primitiveToArray, type Primitive } from '../core/primitive.ts';

/**
 * `grid`: cells per side of the xy occupancy grid over the workspace; `radii`: neighbourhood radii
 * (m) at which the point density around each action point is counted.
 */
export const FeatureConfigSchema = z.strictObject({
  /** @default 12 */
  grid: z.number().int().min(2).max(64).default(12),
  /** @default [0.02, 0.05] */
  radii: z.array(z.number().positive()).max(4).default([0.02, 0.05]),
});
export type FeatureConfig = z.infer<typeof FeatureConfigSchema>;

/** Length of one state feature row. */
export function stateFeatureDim(cfg: FeatureConfig): number {
  return cfg.grid * cfg.grid;
}

/** Length of one state-action feature row: grid ‖ action (6, workspace-normalised) ‖ local densities ‖ nearest distances. */
export function candidateFeatureDim(cfg: FeatureConfig): number {
  return stateFeatureDim(cfg) + 6 + 2 * cfg.radii.length + 2;
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
  });
  return out;
}
