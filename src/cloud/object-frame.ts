// The object frame: centre and uniform scale so that the object (and action points) lie in ±1, and back.
import { FieldError } from '../core/errors.ts';
import type { Vec3 } from '../core/geometry.ts';

/**
 * object = (table − center) / scale, table = object · scale + center. `center` in metres (table
 * frame), `scale` in metres per object unit. A translation and a uniform scale, no rotation, so
 * directions and angles in the table's x-y plane mean the same in both frames.
 */
export interface ObjectFrame {
  center: Vec3;
  scale: number;
}

/** Parameters of `objectFrameFor`. */
export interface ObjectFrameParams {
  /**
   * Extra points (e.g. action points, [m, 3], table frame) that must also land in ±1.
   */
  include?: Float32Array | Float64Array;
  /**
   * Relative headroom: the largest half-extent maps to 1 / (1 + margin), so small later motions stay in ±1.
   * @default 0
   */
  margin?: number;
  /**
   * Smallest scale, metres, so a tiny or single-point cloud does not blow up.
   * @default 1e-3
   */
  minScale?: number;
}

/**
 * The object frame of a cloud: `center` is the middle of the axis-aligned bounding box of the cloud
 * (and `include`), `scale` is its largest half-extent × (1 + margin), so every such point maps into
 * [−1, 1]³ (touching ±1 on the longest axis when margin is 0).
 */
export function objectFrameFor(points: Float32Array | Float64Array, params: ObjectFrameParams = {}): ObjectFrame {
  const margin = params.margin ?? 0;
  const minScale = params.minScale ?? 1e-3;
  if (!(margin >= 0) || !Number.isFinite(margin)) throw new FieldError('margin', 'a finite number >= 0', margin);
  if (!(minScale > 0) || !Number.isFinite(minScale)) throw new FieldError('minScale', 'a finite number > 0 (metres)', minScale);
  const lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  for (const [name, p] of [['points', points], ['include', params.include]] as const) {
    if (!p) continue;
    if (p.length % 3 !== 0) throw new FieldError(`${name}.length`, 'a multiple of 3 ([n, 3] xyz)', p.length);
    for (let i = 0; i < p.length; i += 3) {
      for (let d = 0; d < 3; d++) {
        const v = p[i + d]!;
        if (!Number.isFinite(v)) throw new FieldError(`${name}[${i / 3}]`, 'finite coordinates', v);
        if (v < lo[d]!) lo[d] = v;
        if (v > hi[d]!) hi[d] = v;
      }
    }
  }
  if (lo[0] === Infinity) throw new FieldError('points', 'at least one point', 0);
  const center: Vec3 = [(lo[0]! + hi[0]!) / 2, (lo[1]! + hi[1]!) / 2, (lo[2]! + hi[2]!) / 2];
  const half = Math.max(hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!) / 2;
  // Rounding of (v - c) / s can exceed 1 by an ulp; nudge the scale so ±1 holds exactly.
  return { center, scale: Math.max(minScale, half * (1 + margin) * (1 + 1e-7)) };
}

/** Maps [n, 3] table-frame points into the object frame; writes `out` (may be `points`) or a new array. */
export function toObjectFrame<T extends Float32Array | Float64Array>(points: T, frame: ObjectFrame, out?: T): T {
  const o = out ?? (new (points.constructor as new (n: number) => T)(points.length));
  if (o.length !== points.length) throw new FieldError('out.length', `points.length = ${points.length}`, o.length);
  const [cx, cy, cz] = frame.center;
  const s = frame.scale;
  for (let i = 0; i < points.length; i += 3) {
    o[i] = (points[i]! - cx) / s;
    o[i + 1] = (points[i + 1]! - cy) / s;
    o[i + 2] = (points[i + 2]! - cz) / s;
  }
  return o;
}

/**
 * Maps [n, 3] object-frame points (e.g. predicted action points, clipped to ±1) back to the table
 * frame: the exact inverse of `toObjectFrame` up to float rounding.
 */
export function fromObjectFrame<T extends Float32Array | Float64Array>(points: T, frame: ObjectFrame, out?: T): T {
  const o = out ?? (new (points.constructor as new (n: number) => T)(points.length));
  if (o.length !== points.length) throw new FieldError('out.length', `points.length = ${points.length}`, o.length);
  const [cx, cy, cz] = frame.center;
  const s = frame.scale;
  for (let i = 0; i < points.length; i += 3) {
    o[i] = points[i]! * s + cx;
    o[i + 1] = points[i + 1]! * s + cy;
    o[i + 2] = points[i + 2]! * s + cz;
  }
  return o;
}

/** Clips object-frame coordinates to [−1, 1] in place (DeformPAM clips predicted actions this way). */
export function clipToUnitBox<T extends Float32Array | Float64Array>(points: T): T {
  for (let i = 0; i < points.length; i++) {
    const v = points[i]!;
    points[i] = v > 1 ? 1 : v < -1 ? -1 : v;
  }
  return points;
}
