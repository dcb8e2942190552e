// Fake MoveIt 2 move_group and ros2_control servers on the in-process port. Every request, goal,
// feedback and result crosses as CDR of the distro's upstream types (ros/interfaces). Behaviour is
// taken from upstream, where a choice exists:
//   GetCartesianPath — moveit2 moveit_ros/move_group/src/default_capabilities/
//     cartesian_path_service_capability.cpp @ff1c7660, computeService: unknown group →
//     INVALID_GROUP_NAME; waypoints in a frame it cannot transform → FRAME_TRANSFORM_FAILURE;
//     max_step ≤ ε → FAILURE; otherwise SUCCESS with `fraction` (< 1 when only part was followed).
//   ExecuteTrajectory — execute_trajectory_action_capability.cpp @6874a30c: every goal is accepted
//     (ACCEPT_AND_EXECUTE), every cancel accepted; feedback state MONITOR then the result string; a
//     preempted execution ends *aborted* with error_code PREEMPTED, a failed one aborted with
//     CONTROL_FAILED. (`reject` stands in for a server that refuses, e.g. one gated by a controller.)
//   GripperCommand — ros2_controllers gripper_controllers/.../gripper_action_controller_impl.hpp,
//     goal_callback (ACCEPT_AND_EXECUTE), check_for_success (reached_goal, or stalled with
//     allow_stalling → succeeded), cancel_callback (ACCEPT, canceled, holds position).
//   FollowJointTrajectory / GetPositionIK — accepted and solved here with "joints" = tool x, y, z.
import { readFileSync } from 'node:fs';
import type { InProcessPort } from '../../../ros/in-process.ts';
import type { RosDistro } from '../../../src/record/index.ts';

type Msg = Record<string, unknown>;
interface Pose {
  position: { x: number; y: number; z: number };
}

/** MoveItErrorCodes constants from the upstream .msg kept in ros/interfaces. */
export function moveitCodes(distro: RosDistro): Record<string, number> {
  const text = readFileSync(new URL(`../../../ros/interfaces/${distro}/moveit_msgs/msg/MoveItErrorCodes.msg`, import.meta.url), 'utf8');
  return Object.fromEntries([...text.matchAll(/^int32\s+(\w+)\s*=\s*(-?\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

export interface FakeArmOptions {
  distro: RosDistro;
  groups?: string[];
  /** Frames MoveIt can transform waypoints from. */
  frames?: string[];
  /** Fraction of the Cartesian path reported. */
  fraction?: number;
  /** Seconds each trajectory takes to execute. */
  executeSeconds?: number;
  rejectExecute?: boolean;
  abortExecute?: boolean;
  /** The gripper stalls on closing (an object between the fingers). */
  stallOnClose?: boolean;
  /** Leave out the servers (for a "MoveIt not running" test). */
  noCartesian?: boolean;
}

export interface FakeArm {
  /** Every GetCartesianPath request as decoded from CDR. */
  cartesian: Msg[];
  /** Every ExecuteTrajectory goal as decoded. */
  executed: Msg[];
  gripper: { position: number; max_effort: number }[];
  ik: Msg[];
  follow: Msg[];
  cancels: number;
  /** Tool positions MoveIt was asked to reach, in request order. */
  waypoints(): [number, number, number][];
  executing(): boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startFakeArm(port: InProcessPort, o: FakeArmOptions): FakeArm {
  const codes = moveitCodes(o.distro);
  const node = port.createNode('move_group');
  const groups = o.groups ?? ['manipulator'];
  const frames = o.frames ?? ['table', 'world', 'base_link'];
  let running = 0;
  const arm: FakeArm = {
    cartesian: [],
    executed: [],
    gripper: [],
    ik: [],
    follow: [],
    cancels: 0,
    waypoints: () => arm.cartesian.flatMap((r) => (r.waypoints as Pose[]).map((p) => [p.position.x, p.position.y, p.position.z] as [number, number, number])),
    executing: () => running > 0,
  };

  if (!o.noCartesian)
    node.createService('moveit_msgs/srv/GetCartesianPath', '/compute_cartesian_path', (req) => {
      arm.cartesian.push(req);
      const code = (c: string) => ({ error_code: { val: codes[c]! } });
      if (!groups.includes(req.group_name as string)) return code('INVALID_GROUP_NAME');
      const frame = (req.header as { frame_id: string }).frame_id;
      if (frame !== '' && !frames.includes(frame)) return code('FRAME_TRANSFORM_FAILURE');
      if (!((req.max_step as number) > Number.EPSILON)) return code('FAILURE');
      const wps = req.waypoints as Pose[];
      const points = wps.map((p, i) => ({ positions: [p.position.x, p.position.y, p.position.z], time_from_start: { sec: i + 1, nanosec: 0 } }));
      return {
        ...code('SUCCESS'),
        fraction: o.fraction ?? 1,
        solution: { joint_trajectory: { joint_names: ['x', 'y', 'z'], points } },
      };
    });

  // Runs for `seconds` unless cancelled; resolves true when cancelled.
  const run = async (seconds: number, cancelled: () => boolean): Promise<boolean> => {
    running++;
    try {
      const end = Date.now() + seconds * 1000;
      while (Date.now() < end) {
        if (cancelled()) return true;
        await sleep(10);
      }
      return cancelled();
    } finally {
      running--;
    }
  };

  node.createActionServer('moveit_msgs/action/ExecuteTrajectory', '/execute_trajectory', {
    accept: () => !o.rejectExecute,
    execute: async (goal, ctx) => {
      arm.executed.push(goal);
      ctx.onCancel(() => arm.cancels++);
      ctx.feedback({ state: 'MONITOR' });
      const preempted = await run(o.executeSeconds ?? 0.05, ctx.cancelRequested);
      const val = preempted ? codes.PREEMPTED! : o.abortExecute ? codes.CONTROL_FAILED! : codes.SUCCESS!;
      ctx.feedback({ state: val === codes.SUCCESS ? 'SUCCEEDED' : preempted ? 'PREEMPTED' : 'CONTROL_FAILED' });
      return { status: val === codes.SUCCESS ? 'succeeded' : 'aborted', result: { error_code: { val } } };
    },
  });

  node.createActionServer('control_msgs/action/GripperCommand', '/gripper_controller/gripper_cmd', {
    execute: async (goal, ctx) => {
      const c = goal.command as { position: number; max_effort: number };
      arm.gripper.push(c);
      ctx.onCancel(() => arm.cancels++);
      if (await run(0.01, ctx.cancelRequested)) return { status: 'canceled', result: {} };
      const stalled = o.stallOnClose === true && c.position < 0.01;
      return { status: 'succeeded', result: { position: stalled ? 0.012 : c.position, effort: c.max_effort, stalled, reached_goal: !stalled } };
    },
  });

  node.createService('moveit_msgs/srv/GetPositionIK', '/compute_ik', (req) => {
    arm.ik.push(req);
    const p = ((req.ik_request as { pose_stamped: { pose: Pose } }).pose_stamped.pose).position;
    return { solution: { joint_state: { name: ['x', 'y', 'z'], position: [p.x, p.y, p.z] } }, error_code: { val: codes.SUCCESS } };
  });

  node.createActionServer('control_msgs/action/FollowJointTrajectory', '/joint_trajectory_controller/follow_joint_trajectory', {
    accept: () => !o.rejectExecute,
    execute: async (goal, ctx) => {
      arm.follow.push(goal);
      ctx.onCancel(() => arm.cancels++);
      const cancelled = await run(o.executeSeconds ?? 0.05, ctx.cancelRequested);
      if (cancelled) return { status: 'canceled', result: { error_code: 0 } };
      return o.abortExecute ? { status: 'aborted', result: { error_code: -5, error_string: 'path tolerance violated' } } : { status: 'succeeded', result: { error_code: 0 } };
    },
  });

  return arm;
}
