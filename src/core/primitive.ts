// Manipulation primitives: each is two 3D points in the `table` frame (metres).
import { z } from 'zod';
import { Vec3Schema, type Vec3 } from './geometry.ts';

/** The primitive kinds. pick_place: a = pick, b = place. sweep: a = start, b = end. fling: a/b = left/right grasp. */
export const PRIMITIVE_KINDS = ['pick_place', 'sweep', 'fling'] as const;
export type PrimitiveKind = (typeof PRIMITIVE_KINDS)[number];
export const PrimitiveKindSchema = z.enum(PRIMITIVE_KINDS);

/** Whether the two points are ordered (fling's grasps are interchangeable). */
export const PRIMITIVE_ORDERED: Record<PrimitiveKind, boolean> = {
  pick_place: true,
  sweep: true,
  fling: false,
};

/** What the two points mean, for error messages and UIs. */
export const PRIMITIVE_POINT_NAMES: Record<PrimitiveKind, [string, string]> = {
  pick_place: ['pick', 'place'],
  sweep: ['start', 'end'],
  fling: ['left', 'right'],
};

export interface Primitive {
  kind: PrimitiveKind;
  a: Vec3;
  b: Vec3;
}
export const PrimitiveSchema = z.strictObject({ kind: PrimitiveKindSchema, a: Vec3Schema, b: Vec3Schema });

/** A primitive as 6 numbers [ax, ay, az, bx, by, bz]. */
export function primitiveToArray(p: Primitive, out = new Float32Array(6), offset = 0): Float32Array {
  out[offset] = p.a[0];
  out[offset + 1] = p.a[1];
  out[offset + 2] = p.a[2];
  out[offset + 3] = p.b[0];
  out[offset + 4] = p.b[1];
  out[offset + 5] = p.b[2];
  return out;
}

/** The inverse of primitiveToArray. */
export function primitiveFromArray(kind: PrimitiveKind, a: ArrayLike<number>, offset = 0): Primitive {
  return {
    kind,
    a: [a[offset]!, a[offset + 1]!, a[offset + 2]!],
    b: [a[offset + 3]!, a[offset + 4]!, a[offset + 5]!],
  };
}
