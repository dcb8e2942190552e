// Motion backends on standard interfaces. `moveit`: each run of Cartesian steps is planned with
// moveit_msgs/srv/GetCartesianPath and run with moveit_msgs/action/ExecuteTrajectory; the gripper with
// control_msgs/action/GripperCommand. `joint_trajectory`: joint goals per pose from
// moveit_msgs/srv/GetPositionIK, run with ros2_control's control_msgs/action/FollowJointTrajectory.
// Every failure becomes a reason (ASCII: it travels in ROS strings) naming the step and the upstream code; an abort (e-stop, dead
// supervisor, shutdown) cancels the goal in flight.
import type { RosDistro } from '../../src/record/index.ts';
import { RosMessageCodec } from '../../src/record/index.ts';
import { registerService } from '../interfaces.ts';
import type { RosActionClient, RosGoalHandle, RosNode, RosServiceClient } from '../port.ts';
import type { CartesianStep, GripperStep, MotionPlan, MotionStep, TimedStep } from './plan.ts';

export const MOTION_BACKENDS = ['topic', 'moveit', 'joint_trajectory'] as const;
export type MotionBackendName = (typeof MOTION_BACKENDS)[number];

export type MotionOutcome = { ok: true; durationS: number; steps: number } | { ok: false; step: string; reason: string };

export interface MotionBackend {
  readonly name: MotionBackendName;
  /** Runs the plan; `signal` aborting cancels the goal in flight and resolves with that reason. */
  run(plan: MotionPlan, signal: AbortSignal): Promise<MotionOutcome>;
}

/** Interface names and limits (the executor's parameters). */
export interface MoveItOptions {
  /** MoveIt planning group per arm, and the link whose pose the waypoints give. */
  groups: readonly string[];
  eeLinks: readonly string[];
  /** Frame of the waypoints (the table frame must be in TF). */
  frame: string;
  cartesianService: string;
  executeAction: string;
  ikService: string;
  /** FollowJointTrajectory action per arm (joint_trajectory backend). */
  trajectoryActions: readonly string[];
  /** GripperCommand action per arm. */
  gripperActions: readonly string[];
  /** Interpolation step of GetCartesianPath, m; refuse paths planned below this fraction. */
  maxStep: number;
  minFraction: number;
  /** Jazzy's GetCartesianPath: time-parameterisation scaling of joint velocity and acceleration, (0, 1]. */
  velocityScaling: number;
  accelerationScaling: number;
  /** Waiting for a server or an accept, s; the whole goal, s. */
  serviceTimeout: number;
  goalTimeout: number;
}

type Msg = Record<string, unknown>;

/** MoveItErrorCodes constant names by value, read from the distro's definition. */
function moveitCodeNames(distro: RosDistro): Map<number, string> {
  registerService(distro, 'moveit_msgs/srv/GetCartesianPath');
  const defs = RosMessageCodec.for(distro).definitions('moveit_msgs/srv/GetCartesianPath_Response');
  const codes = defs.find((d) => d.name === 'moveit_msgs/MoveItErrorCodes');
  return new Map((codes?.definitions ?? []).filter((f) => f.isConstant === true).map((f) => [Number(f.value), f.name]));
}

const SUCCESS = 1;

class Aborted extends Error {}

/** Resolves with `p` or rejects once `signal` aborts (running `onAbort` first). */
async function unlessAborted<T>(p: Promise<T>, signal: AbortSignal, onAbort: () => Promise<unknown>): Promise<T> {
  if (signal.aborted) {
    await onAbort().catch(() => {});
    throw new Aborted(String(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const stop = (): void => {
      void onAbort()
        .catch(() => {})
        .finally(() => reject(new Aborted(String(signal.reason))));
    };
    signal.addEventListener('abort', stop, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', stop);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', stop);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Bounds a promise by `seconds` of the node's clock (polled on a timer). */
function within<T>(node: RosNode, p: Promise<T>, seconds: number, what: string): Promise<T> {
  const start = node.now();
  return new Promise<T>((resolve, reject) => {
    const timer = node.createTimer(0.05, () => {
      if (node.now() - start > seconds) {
        timer.cancel();
        reject(new Error(`${what}: no result within ${seconds} s`));
      }
    });
    p.then(
      (v) => {
        timer.cancel();
        resolve(v);
      },
      (e: unknown) => {
        timer.cancel();
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Consecutive Cartesian steps of one arm become one GetCartesianPath request. */
function groupSteps(steps: MotionStep[]): (MotionStep | { kind: 'cartesian-run'; arm: number; steps: CartesianStep[] })[] {
  const out: (MotionStep | { kind: 'cartesian-run'; arm: number; steps: CartesianStep[] })[] = [];
  for (const s of steps) {
    const last = out[out.length - 1];
    if (s.kind === 'cartesian' && last?.kind === 'cartesian-run' && last.arm === s.arm) last.steps.push(s);
    else if (s.kind === 'cartesian') out.push({ kind: 'cartesian-run', arm: s.arm, steps: [s] });
    else out.push(s);
  }
  return out;
}

/** Shared by both MoveIt-based backends: the gripper and goal handling. */
abstract class ActionBackend implements MotionBackend {
  abstract readonly name: MotionBackendName;
  protected readonly node: RosNode;
  protected readonly o: MoveItOptions;
  protected readonly distro: RosDistro;
  protected readonly codes: Map<number, string>;
  #grippers: RosActionClient<Msg, Msg, Msg>[];

  constructor(node: RosNode, distro: RosDistro, o: MoveItOptions) {
    this.node = node;
    this.o = o;
    this.distro = distro;
    this.codes = moveitCodeNames(distro);
    this.#grippers = o.gripperActions.map((a) => node.createActionClient<Msg, Msg, Msg>('control_msgs/action/GripperCommand', a));
  }

  protected code(v: unknown): string {
    const n = Number((v as { val?: number } | undefined)?.val ?? v);
    return `${this.codes.get(n) ?? 'UNKNOWN'} (${n})`;
  }

  protected arm<T>(list: readonly T[], arm: number, what: string): T {
    const x = list[arm];
    if (x === undefined) throw new Error(`${what}: no entry for arm ${arm} (${list.length} configured)`);
    return x;
  }

  /** Sends a goal, waits for it within the goal timeout; cancels it on abort. */
  protected async goal(client: RosActionClient<Msg, Msg, Msg>, goal: Msg, signal: AbortSignal, what: string): Promise<Msg> {
    const handle: RosGoalHandle<Msg> = await unlessAborted(client.sendGoal(goal, null, this.o.serviceTimeout), signal, async () => {});
    if (!handle.accepted) throw new Error(`${what}: goal rejected by ${client.name}`);
    const done = await unlessAborted(within(this.node, handle.result(), this.o.goalTimeout, `${what} (${client.name})`), signal, () =>
      within(this.node, handle.cancel(), this.o.serviceTimeout, `${what}: cancel`),
    ).catch(async (e: unknown) => {
      if (!(e instanceof Aborted)) await handle.cancel().catch(() => false); // a timed-out goal is cancelled too
      throw e;
    });
    if (done.status === 'aborted') throw new Error(`${what}: aborted by ${client.name}${'error_code' in done.result ? `: ${this.code(done.result.error_code)}` : ''}`);
    if (done.status === 'canceled') throw new Error(`${what}: canceled by ${client.name}`);
    return done.result;
  }

  protected async gripper(s: GripperStep, signal: AbortSignal): Promise<void> {
    const client = this.arm(this.#grippers, s.arm, 'gripper_actions');
    const r = await this.goal(client, { command: { position: s.position, max_effort: s.maxEffort } }, signal, `gripper ${s.name}`);
    // Closing on an object stalls the gripper before the setpoint: that is a grasp, not a failure.
    if (r.reached_goal !== true && r.stalled !== true) throw new Error(`gripper ${s.name}: neither reached ${s.position} m nor stalled (at ${Number(r.position).toFixed(4)} m)`);
  }

  protected abstract cartesian(run: CartesianStep[], arm: number, signal: AbortSignal): Promise<void>;
  protected abstract timed(s: TimedStep, signal: AbortSignal): Promise<void>;

  async run(plan: MotionPlan, signal: AbortSignal): Promise<MotionOutcome> {
    const t0 = this.node.now();
    let count = 0;
    for (const s of groupSteps(plan.steps)) {
      const label = s.kind === 'cartesian-run' ? s.steps.map((c) => c.name).join('->') : s.name;
      try {
        if (s.kind === 'cartesian-run') await this.cartesian(s.steps, s.arm, signal);
        else if (s.kind === 'gripper') await this.gripper(s, signal);
        else if (s.kind === 'timed') await this.timed(s, signal);
        count++;
      } catch (e) {
        return { ok: false, step: label, reason: e instanceof Aborted ? `stopped: ${e.message}; the goal in flight was cancelled` : (e as Error).message };
      }
    }
    return { ok: true, durationS: this.node.now() - t0, steps: count };
  }
}

/** MoveIt 2: GetCartesianPath + ExecuteTrajectory per run of Cartesian steps. */
export class MoveItBackend extends ActionBackend {
  readonly name = 'moveit' as const;
  #plan: RosServiceClient<Msg, Msg>;
  #execute: RosActionClient<Msg, Msg, Msg>;

  constructor(node: RosNode, distro: RosDistro, o: MoveItOptions) {
    super(node, distro, o);
    this.#plan = node.createServiceClient<Msg, Msg>('moveit_msgs/srv/GetCartesianPath', o.cartesianService);
    this.#execute = node.createActionClient<Msg, Msg, Msg>('moveit_msgs/action/ExecuteTrajectory', o.executeAction);
  }

  /** The request as the distro defines it: Humble's GetCartesianPath has no speed limit fields. */
  cartesianRequest(run: CartesianStep[], arm: number): Msg {
    const t = this.node.now();
    const req: Msg = {
      header: { frame_id: this.o.frame, stamp: { sec: Math.floor(t), nanosec: Math.round((t % 1) * 1e9) } },
      start_state: { is_diff: true },
      group_name: this.arm(this.o.groups, arm, 'planning_groups'),
      link_name: this.arm(this.o.eeLinks, arm, 'ee_links'),
      waypoints: run.flatMap((s) => s.poses),
      max_step: this.o.maxStep,
      jump_threshold: 0,
      avoid_collisions: true,
    };
    if (this.distro !== 'humble') {
      req.max_velocity_scaling_factor = this.o.velocityScaling;
      req.max_acceleration_scaling_factor = this.o.accelerationScaling;
      req.cartesian_speed_limited_link = req.link_name;
      req.max_cartesian_speed = Math.min(...run.map((s) => s.speed));
    }
    return req;
  }

  protected async cartesian(run: CartesianStep[], arm: number, signal: AbortSignal): Promise<void> {
    const what = `${run.map((s) => s.name).join('->')} path`;
    const res = await unlessAborted(this.#plan.call(this.cartesianRequest(run, arm), this.o.serviceTimeout), signal, async () => {});
    const code = Number((res.error_code as { val: number }).val);
    if (code !== SUCCESS) throw new Error(`${what}: ${this.#plan.name} failed with ${this.code(code)}`);
    const fraction = Number(res.fraction);
    if (!(fraction >= this.o.minFraction))
      throw new Error(`${what}: MoveIt planned only ${(fraction * 100).toFixed(1)} % of the Cartesian path (min_fraction ${this.o.minFraction})`);
    const goal: Msg = { trajectory: res.solution };
    const r = await this.goal(this.#execute, goal, signal, what);
    if (r.error_code !== undefined && Number((r.error_code as { val: number }).val) !== SUCCESS) throw new Error(`${what}: execution ended with ${this.code(r.error_code)}`);
  }

  protected async timed(s: TimedStep): Promise<void> {
    throw new Error(`${s.name}: the moveit backend runs one arm at a time; a two-arm timed trajectory (fling) needs motion_backend joint_trajectory`);
  }
}

/** ros2_control: GetPositionIK per pose, FollowJointTrajectory per arm. */
export class JointTrajectoryBackend extends ActionBackend {
  readonly name = 'joint_trajectory' as const;
  #ik: RosServiceClient<Msg, Msg>;
  #trajectories: RosActionClient<Msg, Msg, Msg>[];

  constructor(node: RosNode, distro: RosDistro, o: MoveItOptions) {
    super(node, distro, o);
    this.#ik = node.createServiceClient<Msg, Msg>('moveit_msgs/srv/GetPositionIK', o.ikService);
    this.#trajectories = o.trajectoryActions.map((a) => node.createActionClient<Msg, Msg, Msg>('control_msgs/action/FollowJointTrajectory', a));
  }

  /** Joint positions for one tool pose (seeded by the previous solution). */
  async #solve(arm: number, p: CartesianStep['poses'][number], seed: Msg | null, signal: AbortSignal): Promise<{ names: string[]; positions: number[]; state: Msg }> {
    const t = this.node.now();
    const req = {
      ik_request: {
        group_name: this.arm(this.o.groups, arm, 'planning_groups'),
        robot_state: seed ?? { is_diff: true },
        avoid_collisions: true,
        ik_link_name: this.arm(this.o.eeLinks, arm, 'ee_links'),
        pose_stamped: { header: { frame_id: this.o.frame, stamp: { sec: Math.floor(t), nanosec: 0 } }, pose: p },
        timeout: { sec: 0, nanosec: 100_000_000 },
      },
    };
    const res = await unlessAborted(this.#ik.call(req, this.o.serviceTimeout), signal, async () => {});
    const code = Number((res.error_code as { val: number }).val);
    if (code !== SUCCESS) throw new Error(`inverse kinematics for [${p.position.x.toFixed(3)}, ${p.position.y.toFixed(3)}, ${p.position.z.toFixed(3)}]: ${this.code(code)}`);
    const js = (res.solution as { joint_state: { name: string[]; position: ArrayLike<number> } }).joint_state;
    return { names: [...js.name], positions: Array.from(js.position), state: res.solution as Msg };
  }

  async #followPoses(arm: number, poses: CartesianStep['poses'], times: number[], signal: AbortSignal, what: string): Promise<void> {
    let seed: Msg | null = null;
    const points: Msg[] = [];
    let names: string[] = [];
    for (let i = 0; i < poses.length; i++) {
      const s = await this.#solve(arm, poses[i]!, seed, signal);
      seed = s.state;
      names = s.names;
      const t = times[i]!;
      points.push({ positions: s.positions, time_from_start: { sec: Math.floor(t), nanosec: Math.round((t % 1) * 1e9) } });
    }
    const client = this.arm(this.#trajectories, arm, 'trajectory_actions');
    const r = await this.goal(client, { trajectory: { joint_names: names, points } }, signal, what);
    if (Number(r.error_code ?? 0) !== 0) throw new Error(`${what}: ${client.name} error_code ${String(r.error_code)} ${String(r.error_string ?? '')}`.trim());
  }

  protected async cartesian(run: CartesianStep[], arm: number, signal: AbortSignal): Promise<void> {
    const poses = run.flatMap((s) => s.poses);
    // Without the current tool pose, time each pose by the segment speed over a nominal 0.1 m hop.
    const times = poses.map((_, i) => (i + 1) * Math.max(0.1 / Math.min(...run.map((s) => s.speed)), 0.2));
    await this.#followPoses(arm, poses, times, signal, `${run.map((s) => s.name).join('->')} trajectory`);
  }

  protected async timed(s: TimedStep, signal: AbortSignal): Promise<void> {
    const times = s.times.map((t) => t + 0.2); // the first keyframe cannot be at time 0 from an unknown start
    await Promise.all(s.arms.map((a) => this.#followPoses(a.arm, a.poses, times, signal, `${s.name} (arm ${a.arm})`)));
  }
}
