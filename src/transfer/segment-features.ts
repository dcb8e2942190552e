// Per-step state descriptors of transfer segments and the goal metric a task's scripted teacher compares.
import { type Metrics, type PointCloud, type TaskFamily, type TaskName, taskFamily } from '../core/index.ts';

/**
 * Names of the per-step state descriptor, in order: the goal metrics (missing ones read 0: rope and
 * granular have no coverage), then the object cloud's xy centroid (m) and its principal xy spreads (m).
 */
export const STATE_FEATURES = ['iou', 'coverage', 'chamfer', 'emd', 'cx', 'cy', 'spread_major', 'spread_minor'] as const;

/** The metric each family's success test reads, and so the one its segment teacher compares. */
export const TEACHER_METRIC: Record<TaskFamily, 'iou' | 'coverage'> = {
  rope: 'iou',
  granular: 'iou',
  cloth: 'coverage',
};

/** The task's goal score from its metrics (higher is better): IoU for rope and granular, coverage for cloth. */
export function teacherScore(task: TaskName, m: Metrics): number {
  return m[TEACHER_METRIC[taskFamily(task)]] ?? NaN;
}

/** The state descriptor of one step (see STATE_FEATURES) from the task metrics and the object cloud `[n, 3]`, table frame. */
export function stateFeatures(m: Metrics, cloud: PointCloud): number[] {
  const p = cloud.points;
  const n = Math.floor(p.length / 3);
  let cx = 0, cy = 0;
  for (let i = 0; i < n; i++) {
    cx += p[i * 3]! / n;
    cy += p[i * 3 + 1]! / n;
  }
  let sxx = 0, syy = 0, sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = p[i * 3]! - cx, dy = p[i * 3 + 1]! - cy;
    sxx += (dx * dx) / n;
    syy += (dy * dy) / n;
    sxy += (dx * dy) / n;
  }
  const tr = sxx + syy, det = sxx * syy - sxy * sxy, disc = Math.sqrt(Math.max(0, (tr * tr) / 4 - det));
  return [
    m.iou ?? 0,
    m.coverage ?? 0,
    m.chamfer ?? 0,
    m.emd ?? 0,
    cx,
    cy,
    Math.sqrt(tr / 2 + disc),
    Math.sqrt(Math.max(0, tr / 2 - disc)),
  ];
}
