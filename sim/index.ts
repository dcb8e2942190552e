// The simulated worlds: `createWorld(task)` builds a MuJoCo (mujoco-js) world for a pamstack task.
import { FieldError, TaskNameSchema, taskFamily, type TaskName, type World } from '../src/core/index.ts';
import { mujoco } from './mujoco.ts';
import { ROPE_SHAPES, isRopeShape } from './shapes.ts';
import { ClothWorld } from './tasks/cloth.ts';
import { GranularWorld } from './tasks/granular.ts';
import { RopeWorld } from './tasks/rope.ts';
import type { WorldOptions } from './world-base.ts';

export type { WorldOptions, ObserveOptions } from './world-base.ts';
export { MujocoWorld, DEFAULT_WORKSPACE, TABLE_EXTENT } from './world-base.ts';
export { DepthCamera, DEFAULT_CAMERA, type DepthCameraSpec } from './camera.ts';
export { ROPE_SHAPES, type RopeShape } from './shapes.ts';
export { RopeWorld } from './tasks/rope.ts';
export { GranularWorld } from './tasks/granular.ts';
export { ClothWorld } from './tasks/cloth.ts';

/** Tasks the simulator can build now. */
export const SIM_TASKS: readonly string[] = [...ROPE_SHAPES.map((s) => `rope-${s}`), 'granular-t', 'cloth-unfold'];

/**
 * A new world for `task`, reset with seed 0. Dispose it when done (MuJoCo memory is not garbage
 * collected). Throws naming the task and the supported ones when it is not simulated.
 */
export async function createWorld(task: TaskName, opts: WorldOptions = {}): Promise<World & { dispose(): void }> {
  const name = TaskNameSchema.safeParse(task);
  if (!name.success) throw new FieldError('task', `one of ${SIM_TASKS.join(', ')}`, task);
  const mj = await mujoco();
  if (taskFamily(task) === 'rope') {
    const shape = task.slice('rope-'.length);
    if (!isRopeShape(shape)) throw new FieldError('task', `one of ${SIM_TASKS.join(', ')}`, task);
    return new RopeWorld(mj, shape, opts);
  }
  if (task === 'granular-t') return new GranularWorld(mj, opts);
  if (task === 'cloth-unfold') return new ClothWorld(mj, opts);
  throw new FieldError('task', `one of ${SIM_TASKS.join(', ')}`, task);
}
