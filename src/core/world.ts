// The World seam: what the loop needs from the simulator (sim/) or, through ROS, from a robot.
import type { Metrics } from './episode.ts';
import type { TaskGoal } from './goal.ts';
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
  /**
   * True when the abort signal stopped the motion partway (an e-stop): the tools stayed where they
   * were at that control tick, a held grasp stays held until the next primitive starts, and the
   * state is the one of that tick. The step counts as taken.
   */
  aborted?: boolean;
}

/** What `execute` accepts besides the primitive. */
export interface ExecuteOptions {
  /** Called at about 30 Hz of sim time during the motion. */
  onFrame?: (t: number) => void;
  /** Checked every control tick; once aborted, the motion stops there (see ExecuteResult.aborted). */
  signal?: AbortSignal;
  /**
   * Sim seconds per wall second the motion may run at most (1 = real time, as a robot moves); unset:
   * as fast as the CPU allows. With a signal the motion still yields to the event loop every few ms.
   */
  pace?: number;
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
  execute(p: Primitive, opts?: ExecuteOptions): Promise<ExecuteResult>;
  /** Why `p` would be refused (workspace, reach), or null when it may run. No side effects. */
  checkPrimitive(p: Primitive): string | null;
  metrics(): Metrics;
  success(): boolean;
  saveState(): WorldState;
  restoreState(s: WorldState): void;
  /** The task's goal to draw for people (annotators, operators); absent when the world cannot say. */
  taskGoal?(): TaskGoal;
  /** Up to k acceptable actions for the current state from the scripted expert. */
  expertActions(k: number, rng: Rng): Primitive[];
  dispose(): void;
}
