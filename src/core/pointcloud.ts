// The point cloud every stage passes around: flat Float32Array xyz, a frame name and a timestamp.
import type { FrameName } from './geometry.ts';

/**
 * `points` is [n, 3] row-major xyz in metres (or unitless in the `object` frame);
 * `rgb`, when present, is [n, 3] Uint8. `stamp` is seconds (ROS time or sim time).
 */
export interface PointCloud {
  points: Float32Array;
  frame: FrameName;
  stamp: number;
  rgb?: Uint8Array;
}

/** Number of points in a cloud. */
export function pointCount(c: PointCloud): number {
  return Math.floor(c.points.length / 3);
}

/** A cloud from a flat xyz array, checked for length. */
export function makeCloud(points: Float32Array, frame: FrameName, stamp = 0, rgb?: Uint8Array): PointCloud {
  if (points.length % 3 !== 0) throw new Error(`points: expected a length divisible by 3, received ${points.length}`);
  if (rgb && rgb.length !== points.length)
    throw new Error(`rgb: expected ${points.length} bytes (3 per point), received ${rgb.length}`);
  return rgb ? { points, frame, stamp, rgb } : { points, frame, stamp };
}
