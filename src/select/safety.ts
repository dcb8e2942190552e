// Safety and reachability checks for one primitive: workspace box, arm reach, table collision.
import { z } from 'zod';
import { Vec3Schema, workspaceViolation, type Vec3, type WorkspaceBox } from '../core/geometry.ts';
import { PRIMITIVE_POINT_NAMES, type Primitive } from '../core/primitive.ts';

/** What makes a primitive safe to run. All points in the `table` frame, metres. */
export const SafetyConfigSchema = z.strictObject({
  /** Arm bases and their reach radius; a point is reachable from any base. Omit to skip. */
  reach: z.strictObject({ bases: z.array(Vec3Schema).min(1), radius: z.number().positive() }).optional(),
  /** Table surface height and the least clearance above it for every point. @default { z: 0, clearance: 0 } */
  table: z.strictObject({ z: z.number().default(0), clearance: z.number().min(0).default(0) }).default({ z: 0, clearance: 0 }),
  /** Longest allowed distance between the two points; omit for none. */
  maxSpan: z.number().positive().optional(),
});
export type SafetyConfig = z.infer<typeof SafetyConfigSchema>;

/** Why `p` is unsafe (first violated rule, named with point, axis and bound), or null when safe. */
export function safetyViolation(p: Primitive, box: WorkspaceBox, cfg: SafetyConfig): string | null {
  const names = PRIMITIVE_POINT_NAMES[p.kind];
  const pts: [Vec3, string][] = [
    [p.a, names[0]],
    [p.b, names[1]],
  ];
  for (const [pt, name] of pts) {
    const w = workspaceViolation(pt, box, name);
    if (w) return w;
  }
  for (const [pt, name] of pts) {
    const floor = cfg.table.z + cfg.table.clearance;
    if (pt[2] < floor) return `${name}.z = ${fmt(pt[2])} m collides with the table (needs ≥ ${fmt(floor)} m)`;
  }
  if (cfg.reach) {
    for (const [pt, name] of pts) {
      let best = Infinity;
      for (const b of cfg.reach.bases) best = Math.min(best, Math.hypot(pt[0] - b[0], pt[1] - b[1], pt[2] - b[2]));
      if (best > cfg.reach.radius) return `${name} is ${fmt(best)} m from the nearest arm base, beyond reach ${fmt(cfg.reach.radius)} m`;
    }
  }
  if (cfg.maxSpan !== undefined) {
    const d = Math.hypot(p.a[0] - p.b[0], p.a[1] - p.b[1], p.a[2] - p.b[2]);
    if (d > cfg.maxSpan) return `${names[0]}–${names[1]} distance ${fmt(d)} m exceeds ${fmt(cfg.maxSpan)} m`;
  }
  return null;
}

function fmt(v: number): string {
  return String(+v.toFixed(4));
}
