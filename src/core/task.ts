// Task names and their fixed facts (primitive, step limit), shared by sim, policy, stack and UI.
import { z } from 'zod';
import type { PrimitiveKind } from './primitive.ts';

/** `rope-<shape>` (e.g. rope-circle), `granular-t`, `cloth-unfold`. */
export const TaskNameSchema = z
  .string()
  .regex(/^(rope-[a-z0-9]+|granular-t|cloth-unfold)$/, {
    message: 'expected rope-<shape> (e.g. rope-circle), granular-t or cloth-unfold',
  });
export type TaskName = z.infer<typeof TaskNameSchema>;

export type TaskFamily = 'rope' | 'granular' | 'cloth';

export function taskFamily(task: TaskName): TaskFamily {
  if (task.startsWith('rope-')) return 'rope';
  if (task === 'granular-t') return 'granular';
  return 'cloth';
}

/** The primitive each task family uses. */
export const FAMILY_PRIMITIVE: Record<TaskFamily, PrimitiveKind> = {
  rope: 'pick_place',
  granular: 'sweep',
  cloth: 'fling',
};

/** Episode step limits (DeformPAM: 20 rope, 15 granular, 10 cloth). */
export const FAMILY_STEP_LIMIT: Record<TaskFamily, number> = {
  rope: 20,
  granular: 15,
  cloth: 10,
};
