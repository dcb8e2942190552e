// The perception chain: crop → plane removal → voxel → outlier removal → FPS, with per-stage timings.
import { z } from 'zod';
import { parseOrThrow } from '../core/errors.ts';
import { WorkspaceBoxSchema, type WorkspaceBox } from '../core/geometry.ts';
import { cropToBox } from './crop.ts';
import { farthestPointSample } from './fps.ts';
import { removeStatisticalOutliers } from './outliers.ts';
import { removePlaneRansac, type Plane } from './plane.ts';
import { voxelDownsample } from './voxel.ts';

/** The chain's stages in order. */
export const PREPROCESS_STAGES = ['crop', 'plane', 'voxel', 'outliers', 'fps'] as const;
export type PreprocessStage = (typeof PREPROCESS_STAGES)[number];

const positive = z.number().finite().positive();

/**
 * Parameters of the whole chain (defaults = DeformPAM-like: 1 cm plane threshold, 5 mm voxels,
 * 20 neighbours / 2 std, 3000 points). A stage set to `null` is skipped. Strict: unknown keys fail.
 */
export const PreprocessParamsSchema = z.strictObject({
  /** Workspace box, table frame, metres. */
  box: WorkspaceBoxSchema.nullable().default({ min: [-1, -1, -0.1], max: [1, 1, 1] }),
  plane: z
    .strictObject({
      distanceThreshold: positive.default(0.01),
      iterations: z.number().int().min(1).default(200),
      scoreSubset: z.number().int().min(0).default(4096),
      probability: z.number().gt(0).max(1).default(0.99999999),
    })
    .nullable()
    .default({ distanceThreshold: 0.01, iterations: 200, scoreSubset: 4096, probability: 0.99999999 }),
  voxel: z.strictObject({ voxelSize: positive.default(0.005) }).nullable().default({ voxelSize: 0.005 }),
  outliers: z
    .strictObject({ neighbors: z.number().int().min(1).default(20), stdRatio: z.number().finite().min(0).default(2) })
    .nullable()
    .default({ neighbors: 20, stdRatio: 2 }),
  fps: z.strictObject({ k: z.number().int().min(1).default(3000) }).nullable().default({ k: 3000 }),
  /** Seeds RANSAC and the FPS start point. */
  seed: z.number().int().default(0),
});
export type PreprocessParams = z.infer<typeof PreprocessParamsSchema>;
export type PreprocessParamsInput = z.input<typeof PreprocessParamsSchema>;

/** The chain's output with what each stage cost and left. */
export interface PreprocessResult {
  /** [n, 3] xyz, table frame, metres. */
  points: Float32Array;
  /** Wall time per stage, milliseconds (0 for skipped stages). */
  stageMs: Record<PreprocessStage, number>;
  /** Points after each stage. */
  counts: Record<PreprocessStage, number>;
  /** The removed plane, or null when the stage was skipped. */
  plane: Plane | null;
  totalMs: number;
}

/**
 * Runs crop → RANSAC plane removal → voxel downsample → statistical outlier removal → farthest-point
 * sampling on a table-frame cloud ([n, 3] xyz, metres). Deterministic for `params.seed`.
 * FPS runs only when more than k points remain (Open3D's chain does the same).
 */
export function preprocessChain(cloud: Float32Array, params: PreprocessParamsInput = {}): PreprocessResult {
  const p = parseOrThrow(PreprocessParamsSchema, params, 'preprocess parameters');
  const stageMs = { crop: 0, plane: 0, voxel: 0, outliers: 0, fps: 0 };
  const counts = { crop: 0, plane: 0, voxel: 0, outliers: 0, fps: 0 };
  let pts = cloud;
  let plane: Plane | null = null;
  const t0 = performance.now();
  let t = t0;
  const lap = (stage: PreprocessStage) => {
    const now = performance.now();
    stageMs[stage] = now - t;
    counts[stage] = pts.length / 3;
    t = now;
  };
  if (p.box) pts = cropToBox(pts, p.box as WorkspaceBox);
  lap('crop');
  if (p.plane) {
    const r = removePlaneRansac(pts, { ...p.plane, seed: p.seed });
    pts = r.points;
    plane = r.plane;
  }
  lap('plane');
  if (p.voxel) pts = voxelDownsample(pts, p.voxel);
  lap('voxel');
  if (p.outliers) pts = removeStatisticalOutliers(pts, p.outliers).points;
  lap('outliers');
  if (p.fps && pts.length / 3 > p.fps.k) pts = farthestPointSample(pts, { k: p.fps.k, seed: p.seed }).points;
  lap('fps');
  return { points: pts, stageMs, counts, plane, totalMs: performance.now() - t0 };
}
