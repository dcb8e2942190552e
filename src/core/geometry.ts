// Points, frames and the workspace box; all in metres, in the frame named alongside.
import { z } from 'zod';

/** A 3D point or vector, metres. */
export type Vec3 = [number, number, number];
export const Vec3Schema = z.tuple([z.number().finite(), z.number().finite(), z.number().finite()]);

/** Frame names: `table` (world, z up, origin on the table surface), `camera_<n>`, `object` (normalized ±1). */
export type FrameName = 'table' | 'object' | `camera_${string}`;

/** Axis-aligned box in the `table` frame, metres. */
export interface WorkspaceBox {
  min: Vec3;
  max: Vec3;
}
export const WorkspaceBoxSchema = z
  .strictObject({ min: Vec3Schema, max: Vec3Schema })
  .refine((b) => b.min.every((v, i) => v < b.max[i]!), { message: 'min must be below max on every axis' });

const AXES = ['x', 'y', 'z'] as const;

/**
 * Why a point lies outside the box, or null when it is inside: names the axis and bound, e.g.
 * "pick.x = 0.71 m is above workspace max.x = 0.6 m".
 */
export function workspaceViolation(p: Vec3, box: WorkspaceBox, label: string): string | null {
  for (let i = 0; i < 3; i++) {
    const v = p[i]!;
    const a = AXES[i]!;
    if (!Number.isFinite(v)) return `${label}.${a} is not a finite number (${v})`;
    if (v < box.min[i]!) return `${label}.${a} = ${fmt(v)} m is below workspace min.${a} = ${fmt(box.min[i]!)} m`;
    if (v > box.max[i]!) return `${label}.${a} = ${fmt(v)} m is above workspace max.${a} = ${fmt(box.max[i]!)} m`;
  }
  return null;
}

function fmt(v: number): string {
  return String(+v.toFixed(4));
}

/** 4×4 rigid transform, row-major, as 16 numbers: maps points of frame `from` into frame `to`. */
export interface RigidTransform {
  from: FrameName;
  to: FrameName;
  matrix: Float64Array;
}
