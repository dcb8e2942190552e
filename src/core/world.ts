// The World seam: what the loop needs from the simulator (sim/) or, through ROS, from a robot.
import type { Metrics } from './episode.ts';
import type { WorkspaceBox } from './geometry.ts';
import type { PointCloud } from './pointcloud.ts';
import type { Primitive, PrimitiveKind } from './primitive.ts';
import type { Rng } from './rng.ts';
import type { TaskName } from './task.ts';

/** Opaque saved state (sim: MuJoCo state vector plus grasp flags). */
export interface WorldState {
  readonly task: TaskName;
  readonly data: Float64Array;
}

/** What happened when a primitive ran: durations in seconds. */
export interface ExecuteResult {
  /** Simulated (or robot) time the motion took, s. */
  duration: number;
  /** Wall time, s. */
  wall: number;
}

/** Thrown when a primitive is refused before any motion; `bound` names the violated limit. */
export class PrimitiveRefusedError extends Error {
  constructor(
    readonly bound: string,
    message: string,
  ) {
    super(message);
    this.name = 'PrimitiveRefusedError';
  }
}

/**
 * One task instance. All points are in the `table` frame, metres.
 * - `observe()` returns what the (virtual) depth camera(s) see, as a real sensor would.
 * - `execute()` physically runs a primitive or throws PrimitiveRefusedError leaving state untouched.
 * - `metrics()`/`success()` use ground-truth state.
 */
export interface World {
  readonly task: TaskName;
  readonly primitive: PrimitiveKind;
  readonly workspace: WorkspaceBox;
  readonly stepLimit: number;
  reset(seed: number): void;
  observe(opts?: { seed?: number }): PointCloud;
  execute(p: Primitive, opts?: { onFrame?: (t: number) => void }): Promise<ExecuteResult>;
  /** Why `p` would be refused (workspace, reach), or null when it may run. No side effects. */
  checkPrimitive(p: Primitive): string | null;
  metrics(): Metrics;
  success(): boolean;
  saveState(): WorldState;
  restoreState(s: WorldState): void;
  /** Up to k acceptable actions for the current state from the scripted expert. */
  expertActions(k: number, rng: Rng): Primitive[];
  dispose(): void;
}
