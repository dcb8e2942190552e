// Multi-camera fusion: each camera's cloud moved into the `table` frame by its extrinsics and merged.
import { FieldError } from '../core/errors.ts';
import type { FrameName, RigidTransform } from '../core/geometry.ts';
import type { PointCloud } from '../core/pointcloud.ts';

/** One camera's view: its cloud (in `camera_<n>`) and the transform camera_<n> → table. */
export interface CameraView {
  cloud: PointCloud;
  extrinsics: RigidTransform;
}

/** Parameters of `fuseCamerasToTable`. */
export interface FusionParams {
  /**
   * Largest |stamp − reference| (seconds) of a fused view.
   * @default 0.05
   */
  toleranceS?: number;
  /** Reference time, seconds; by default the newest view's stamp. */
  referenceStamp?: number;
  /**
   * Throw when a view is outside the tolerance instead of leaving it out.
   * @default false
   */
  strict?: boolean;
}

/** The merged cloud and which views went into it. */
export interface Fusion {
  /** table frame, stamp = reference time; rgb only when every fused view has rgb. */
  cloud: PointCloud;
  /** Frames of the fused views, in input order. */
  fused: FrameName[];
  /** Views left out, with why. */
  skipped: { frame: FrameName; reason: string }[];
}

/**
 * Applies p_table = R · p_camera + t (row-major 4×4 `extrinsics.matrix`) to every view whose stamp is
 * within `toleranceS` of the reference, and concatenates them. The extrinsics must go from the
 * cloud's frame to `table`; a mismatch is an error naming the view.
 */
export function fuseCamerasToTable(views: CameraView[], params: FusionParams = {}): Fusion {
  const tol = params.toleranceS ?? 0.05;
  if (!(tol >= 0) || !Number.isFinite(tol)) throw new FieldError('toleranceS', 'a finite number >= 0 (seconds)', tol);
  if (views.length === 0) throw new FieldError('views', 'at least one camera view', 0);
  views.forEach((v, i) => {
    if (v.extrinsics.from !== v.cloud.frame)
      throw new FieldError(`views[${i}].extrinsics.from`, `the cloud's frame "${v.cloud.frame}"`, v.extrinsics.from);
    if (v.extrinsics.to !== 'table') throw new FieldError(`views[${i}].extrinsics.to`, '"table"', v.extrinsics.to);
    if (v.extrinsics.matrix.length !== 16) throw new FieldError(`views[${i}].extrinsics.matrix.length`, '16 (row-major 4×4)', v.extrinsics.matrix.length);
    if (v.cloud.points.length % 3 !== 0) throw new FieldError(`views[${i}].cloud.points.length`, 'a multiple of 3', v.cloud.points.length);
  });
  const ref = params.referenceStamp ?? Math.max(...views.map((v) => v.cloud.stamp));
  const fusedViews: CameraView[] = [];
  const skipped: Fusion['skipped'] = [];
  views.forEach((v, i) => {
    const dt = Math.abs(v.cloud.stamp - ref);
    if (dt <= tol) fusedViews.push(v);
    else {
      const reason = `stamp ${v.cloud.stamp.toFixed(3)} s is ${dt.toFixed(3)} s from the reference ${ref.toFixed(3)} s (tolerance ${tol} s)`;
      if (params.strict) throw new FieldError(`views[${i}].cloud.stamp`, `within ${tol} s of ${ref.toFixed(3)} s`, v.cloud.stamp);
      skipped.push({ frame: v.cloud.frame, reason });
    }
  });
  const total = fusedViews.reduce((s, v) => s + v.cloud.points.length, 0);
  const points = new Float32Array(total);
  const withRgb = fusedViews.length > 0 && fusedViews.every((v) => v.cloud.rgb);
  const rgb = withRgb ? new Uint8Array(total) : undefined;
  let w = 0;
  for (const v of fusedViews) {
    const m = v.extrinsics.matrix;
    const r00 = m[0]!, r01 = m[1]!, r02 = m[2]!, tx = m[3]!;
    const r10 = m[4]!, r11 = m[5]!, r12 = m[6]!, ty = m[7]!;
    const r20 = m[8]!, r21 = m[9]!, r22 = m[10]!, tz = m[11]!;
    const p = v.cloud.points;
    if (rgb) rgb.set(v.cloud.rgb!, w);
    for (let i = 0; i < p.length; i += 3, w += 3) {
      const x = p[i]!, y = p[i + 1]!, z = p[i + 2]!;
      points[w] = r00 * x + r01 * y + r02 * z + tx;
      points[w + 1] = r10 * x + r11 * y + r12 * z + ty;
      points[w + 2] = r20 * x + r21 * y + r22 * z + tz;
    }
  }
  const cloud: PointCloud = rgb ? { points, frame: 'table', stamp: ref, rgb } : { points, frame: 'table', stamp: ref };
  return { cloud, fused: fusedViews.map((v) => v.cloud.frame), skipped };
}
