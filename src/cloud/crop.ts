// Workspace crop: keep the points inside an axis-aligned box (table frame), as Open3D's crop does.
import { FieldError } from '../core/errors.ts';
import type { WorkspaceBox } from '../core/geometry.ts';

/**
 * The points of `points` ([n, 3] xyz, metres) with min ≤ p ≤ max on every axis (bounds included),
 * in input order, as a new Float32Array. NaN points are dropped (they are in no box).
 */
export function cropToBox(points: Float32Array, box: WorkspaceBox): Float32Array {
  if (points.length % 3 !== 0) throw new FieldError('points.length', 'a multiple of 3 ([n, 3] xyz)', points.length);
  for (let d = 0; d < 3; d++) {
    if (!(box.min[d]! <= box.max[d]!)) throw new FieldError(`box.min[${d}]`, `a number <= box.max[${d}] = ${box.max[d]}`, box.min[d]);
  }
  const [x0, y0, z0] = box.min;
  const [x1, y1, z1] = box.max;
  const out = new Float32Array(points.length);
  let m = 0;
  for (let i = 0; i < points.length; i += 3) {
    const x = points[i]!, y = points[i + 1]!, z = points[i + 2]!;
    if (x >= x0 && x <= x1 && y >= y0 && y <= y1 && z >= z0 && z <= z1) {
      out[m] = x;
      out[m + 1] = y;
      out[m + 2] = z;
      m += 3;
    }
  }
  return out.slice(0, m);
}
