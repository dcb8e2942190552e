// The policy's processor: table-frame observation cloud → src/cloud preprocessing → object-frame policy input, and actions back.
import { z } from 'zod';
import { parseOrThrow } from '../core/errors.ts';
import type { PointCloud } from '../core/pointcloud.ts';
import { primitiveFromArray, primitiveToArray, type Primitive, type PrimitiveKind } from '../core/primitive.ts';
import { objectFrameFor, toObjectFrame, fromObjectFrame, type ObjectFrame } from '../cloud/object-frame.ts';
import { PreprocessParamsSchema, preprocessChain } from '../cloud/preprocess.ts';
import { ACTION_DIM } from './config.ts';

/**
 * - `preprocess`: src/cloud's chain (crop, plane, voxel, outliers) on the table-frame cloud; its FPS
 *   stage is always set to the policy's point count. Defaults suit clouds already cut to the object, as
 *   the simulator's cameras give them, with statistical outlier removal (3σ) on, as in DeformPAM's chain:
 *   depth-noise tails leave 2–4 table points above the height crop in a simulated cloud (up to 28 cm
 *   from the object), farthest-point sampling takes exactly such points first, and a cloth policy fed
 *   them closed one fling grasp in ten on nothing (none once they were removed).
 * - `scale`: metres per object unit (DeformPAM uses a fixed scale too: one unit means the same length
 *   in every state, so actions outside the object's extent still fit in ±1).
 * - The object frame's origin is the middle of the cloud's x-y bounding box at table height (z = 0)
 *   (or the table origin with `center: 'table'`), with the table's axes: heights keep their meaning and
 *   nothing rotates.
 */
export const ProcessorConfigSchema = z.strictObject({
  preprocess: PreprocessParamsSchema.omit({ fps: true }).default({
    box: null,
    plane: null,
    voxel: { voxelSize: 0.005 },
    outliers: { neighbors: 20, stdRatio: 3 },
    seed: 0,
  }),
  /** Metres per object unit. @default 0.35 */
  scale: z.number().positive().max(100).default(0.35),
  /**
   * Where the frame's origin sits: `object`, the middle of the cloud's x-y box (the goal is a shape
   * that may lie anywhere: rope, cloth); `table`, the table origin (the goal is a fixed place on the
   * table, as granular-t's T: centring on the object would hide where the goal is). @default 'object'
   */
  center: z.enum(['object', 'table']).default('object'),
});
export type ProcessorConfig = z.infer<typeof ProcessorConfigSchema>;
export type ProcessorConfigInput = z.input<typeof ProcessorConfigSchema>;

/** One observation made ready for the policy. */
export interface PolicyObservation {
  /** [points, 3] object frame. */
  points: Float32Array;
  /** The frame that maps it back to the table. */
  frame: ObjectFrame;
  /** The table-frame cloud after preprocessing (for snapping picks onto the object). */
  tablePoints: Float32Array;
}

/** The cloud holds nothing of the object once cropped (it left the workspace, or the cameras lost it). */
export class NoObjectPointsError extends Error {
  constructor(readonly pointsIn: number) {
    super(`observation: no object points left after preprocessing (${pointsIn} points in)`);
    this.name = 'NoObjectPointsError';
  }
}

/** Maps between the table frame of the world and the object frame of the policy. */
export class PolicyProcessor {
  readonly config: ProcessorConfig;
  readonly points: number;

  constructor(config: ProcessorConfigInput, points: number) {
    this.config = parseOrThrow(ProcessorConfigSchema, config, 'processor config');
    this.points = points;
  }

  /**
   * Preprocesses a table-frame cloud and maps it into the object frame, exactly `points` points
   * (FPS down; cyclic repetition up when the object shows fewer). Throws when the cloud is empty.
   */
  observation(cloud: PointCloud | Float32Array): PolicyObservation {
    const raw = cloud instanceof Float32Array ? cloud : cloud.points;
    if (!(cloud instanceof Float32Array) && cloud.frame !== 'table')
      throw new Error(`observation: expected a cloud in the table frame, received frame ${cloud.frame}`);
    const pre = preprocessChain(raw, { ...this.config.preprocess, fps: { k: this.points } });
    let pts = pre.points;
    const n = pts.length / 3;
    if (n === 0) throw new NoObjectPointsError(raw.length / 3);
    if (n < this.points) {
      const full = new Float32Array(this.points * 3);
      for (let i = 0; i < this.points; i++) full.set(pts.subarray((i % n) * 3, (i % n) * 3 + 3), i * 3);
      pts = full;
    }
    const c = this.config.center === 'object' ? objectFrameFor(pts).center : [0, 0, 0];
    const frame: ObjectFrame = { center: [c[0]!, c[1]!, 0], scale: this.config.scale };
    return { points: toObjectFrame(pts, frame), frame, tablePoints: pre.points };
  }

  /** Table-frame primitives → object-frame rows [k, 6]; `outside` counts coordinates beyond ±1 (then clipped). */
  actionsToObject(prims: readonly Primitive[], frame: ObjectFrame): { actions: Float32Array; outside: number } {
    const out = new Float32Array(prims.length * ACTION_DIM);
    prims.forEach((p, i) => primitiveToArray(p, out, i * ACTION_DIM));
    toObjectFrame(out, frame, out);
    let outside = 0;
    for (let i = 0; i < out.length; i++) {
      const v = out[i]!;
      if (v > 1 || v < -1) {
        outside++;
        out[i] = v > 1 ? 1 : -1;
      }
    }
    return { actions: out, outside };
  }

  /** Object-frame rows [k, 6] → table-frame primitives of `kind`. */
  actionsToTable(actions: Float32Array, kind: PrimitiveKind, frame: ObjectFrame): Primitive[] {
    const table = fromObjectFrame(Float32Array.from(actions), frame);
    const out: Primitive[] = [];
    for (let i = 0; i < table.length / ACTION_DIM; i++) out.push(primitiveFromArray(kind, table, i * ACTION_DIM));
    return out;
  }
}

/**
 * Moves point `a` of each pick_place onto its nearest object point (DeformPAM's nearest-pick override)
 * and places at that height: heights come from the object, as DeformPAM's z fixers set them, not from
 * the sampled z (a few millimetres of sampling error would put a pick under the table).
 */
export function snapPicksToCloud(prims: Primitive[], tablePoints: Float32Array): Primitive[] {
  const n = tablePoints.length / 3;
  if (n === 0) return prims;
  return prims.map((p) => {
    if (p.kind !== 'pick_place') return p;
    let best = 0;
    let bestD = Infinity;
    for (let i = 0; i < n; i++) {
      const dx = tablePoints[i * 3]! - p.a[0];
      const dy = tablePoints[i * 3 + 1]! - p.a[1];
      const dz = tablePoints[i * 3 + 2]! - p.a[2];
      const d = dx * dx + dy * dy + dz * dz;
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    const z = tablePoints[best * 3 + 2]!;
    return { ...p, a: [tablePoints[best * 3]!, tablePoints[best * 3 + 1]!, z], b: [p.b[0], p.b[1], z] };
  });
}
