// What a task asks for, as the annotators and operators see it: the goal's geometry (table frame, m) and one line of text.
import { z } from 'zod';

const Finite = z.number().finite();
/** Flat xy pairs [x0, y0, x1, y1, …] (table frame, m). */
const XYSchema = z.array(Finite).min(4).max(1024).refine((a) => a.length % 2 === 0, { message: 'expected an even count (x, y pairs)' });

/**
 * A task's goal. `curve`: the rope's target shape; with `placement: 'free'` the metric searches
 * position and rotation, so the curve is drawn at the origin as a shape to match. `region`: the area
 * the particles should fill (union of rectangles [xmin, ymin, xmax, ymax]). `area`: the outline of
 * the flat cloth the task measures coverage against.
 */
export const TaskGoalSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('curve'),
    objective: z.string().min(1).max(300),
    points: XYSchema,
    closed: z.boolean(),
    placement: z.enum(['free', 'fixed']),
  }),
  z.strictObject({
    kind: z.literal('region'),
    objective: z.string().min(1).max(300),
    rects: z.array(z.tuple([Finite, Finite, Finite, Finite])).min(1).max(32),
  }),
  z.strictObject({
    kind: z.literal('area'),
    objective: z.string().min(1).max(300),
    outline: XYSchema,
  }),
]);
export type TaskGoal = z.infer<typeof TaskGoalSchema>;

/** Every `stride`-th xy pair of `xy` (n pairs), so a drawn goal stays small on the wire. */
export function thinXY(xy: ArrayLike<number>, n: number, maxPoints: number): number[] {
  const stride = Math.max(1, Math.ceil(n / maxPoints));
  const out: number[] = [];
  for (let i = 0; i < n; i += stride) out.push(round(xy[i * 2]!), round(xy[i * 2 + 1]!));
  return out;
}

/** Millimetre precision is plenty for drawing. */
function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
