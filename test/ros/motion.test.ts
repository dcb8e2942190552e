// The motion layer: primitive -> plan maths, and the executor's moveit / joint_trajectory backends on
// the in-process port against fake move_group and ros2_control servers (test/ros/fakes/moveit.ts,
// behaviour from upstream sources cited there), every message as CDR of the distro's upstream types.
import { describe, expect, it } from 'vitest';
import { InProcessGraph, InProcessPort, SystemClock } from '../../ros/in-process.ts';
import { startExecutor } from '../../ros/nodes/executor.ts';
import { DEFAULT_PLAN_PARAMS, graspYaw, planOutsideWorkspace, planPositions, planPrimitive, topDownQuaternion, wrapHalf } from '../../ros/motion/plan.ts';
import type { Primitive } from '../../src/core/primitive.ts';
import { primitiveToMarker, QOS, RosMessageCodec, type DiagnosticStatus, type RosDistro } from '../../src/record/index.ts';
import { startFakeArm, type FakeArmOptions } from './fakes/moveit.ts';

const pick = (a: [number, number, number], b: [number, number, number]): Primitive => ({ kind: 'pick_place', a, b });

/** Rotates v by unit quaternion q. */
function rotate(q: { x: number; y: number; z: number; w: number }, v: [number, number, number]): [number, number, number] {
  const { x, y, z, w } = q;
  const [vx, vy, vz] = v;
  const tx = 2 * (y * vz - z * vy);
  const ty = 2 * (z * vx - x * vz);
  const tz = 2 * (x * vy - y * vx);
  return [vx + w * tx + (y * tz - z * ty), vy + w * ty + (z * tx - x * tz), vz + w * tz + (x * ty - y * tx)];
}

describe('primitive -> motion plan', () => {
  it('pick_place: open, approach, descend, grasp, lift, transfer, descend, release, retreat at the parameter heights', () => {
    const plan = planPrimitive(pick([0.1, 0.05, 0.01], [-0.2, 0.1, 0.01]), null);
    expect(plan.steps.map((s) => s.name)).toEqual(['open', 'approach', 'descend', 'grasp', 'lift', 'transfer', 'descend', 'release', 'retreat']);
    const z = planPositions(plan).map((p) => +p[2].toFixed(4));
    const o = DEFAULT_PLAN_PARAMS;
    expect(z).toEqual([0.01 + o.approachHeight, 0.01 + o.graspOffset, 0.01 + o.liftHeight, 0.01 + o.liftHeight, 0.01 + o.placeHeight, 0.01 + o.approachHeight].map((v) => +v.toFixed(4)));
    expect(planPositions(plan)[3]!.slice(0, 2)).toEqual([-0.2, 0.1]); // transfer ends above the place point
  });

  it('the tool points down and closes along the yaw', () => {
    for (const yaw of [0, 0.7, -1.2, Math.PI / 2]) {
      const q = topDownQuaternion(yaw);
      expect(Math.hypot(q.x, q.y, q.z, q.w)).toBeCloseTo(1, 12);
      rotate(q, [0, 0, 1]).forEach((v, i) => expect(v).toBeCloseTo([0, 0, -1][i]!, 12));
      rotate(q, [0, 1, 0]).forEach((v, i) => expect(v).toBeCloseTo([Math.cos(yaw), Math.sin(yaw), 0][i]!, 12));
    }
  });

  it('grasp yaw closes across the local rope direction; too few points or no direction fall back', () => {
    const rope = (angle: number): Float32Array => {
      const pts: number[] = [];
      for (let i = -20; i <= 20; i++) pts.push(0.3 + 0.002 * i * Math.cos(angle), 0.1 + 0.002 * i * Math.sin(angle), 0.01);
      return Float32Array.from(pts);
    };
    expect(graspYaw(rope(0), [0.3, 0.1, 0.01], 0.03)).toBeCloseTo(Math.PI / 2, 6);
    expect(graspYaw(rope(Math.PI / 4), [0.3, 0.1, 0.01], 0.03)).toBeCloseTo(wrapHalf(Math.PI / 4 + Math.PI / 2), 6);
    expect(graspYaw(rope(0), [0.9, 0.9, 0], 0.03, 0.25)).toBe(0.25);
    const blob = Float32Array.from([0, 0, 0, 0.01, 0, 0, -0.01, 0, 0, 0, 0.01, 0, 0, -0.01, 0]);
    expect(graspYaw(blob, [0, 0, 0], 0.03, 0.1)).toBe(0.1);
    expect(planPrimitive(pick([0.3, 0.1, 0.01], [0, 0, 0.01]), rope(0)).yaw[0]).toBeCloseTo(Math.PI / 2, 6);
  });

  it('sweep: gripper closed, broadside to the motion; fling: both arms in lockstep at increasing times', () => {
    const sweep = planPrimitive({ kind: 'sweep', a: [0, 0, 0], b: [0.2, 0, 0] }, null);
    expect(sweep.steps.map((s) => s.name)).toEqual(['close', 'approach', 'descend', 'sweep', 'retreat']);
    expect(sweep.yaw[0]).toBeCloseTo(0, 12);
    const fling = planPrimitive({ kind: 'fling', a: [0, 0.2, 0.01], b: [0, -0.2, 0.01] }, null);
    const timed = fling.steps.filter((s) => s.kind === 'timed');
    expect(timed.map((s) => s.name)).toEqual(['approach', 'fling', 'retreat']);
    for (const t of timed) {
      expect(t.arms.map((a) => a.poses.length)).toEqual([t.times.length, t.times.length]);
      for (let i = 1; i < t.times.length; i++) expect(t.times[i]!).toBeGreaterThan(t.times[i - 1]!);
    }
    const fl = timed[1]!;
    expect(fl.arms[0]!.poses[1]!.position.x - fl.arms[0]!.poses[0]!.position.x).toBeCloseTo(DEFAULT_PLAN_PARAMS.flingDistance, 12);
  });

  it('a plan leaving the workspace is named with the axis and the box', () => {
    const plan = planPrimitive(pick([0.1, 0, 0.01], [0.2, 0, 0.01]), null);
    expect(planOutsideWorkspace(plan, { min: [-0.5, -0.5, 0], max: [0.5, 0.5, 0.5] })).toBeNull();
    expect(planOutsideWorkspace(plan, { min: [-0.5, -0.5, 0], max: [0.5, 0.5, 0.05] })).toMatch(/leaves the workspace on z \(\[0, 0.05\]\)/);
  });
});

interface Rig {
  results: DiagnosticStatus[];
  holds: number;
  approve(p: Primitive, decision: number): void;
  safety(state: string): void;
  beat(): void;
  until(fn: () => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
  arm: ReturnType<typeof startFakeArm>;
  port: InProcessPort;
}

async function rig(distro: RosDistro, arm: Omit<FakeArmOptions, 'distro'>, executor: Record<string, unknown>): Promise<Rig> {
  const graph = new InProcessGraph({ distro, clock: new SystemClock() });
  const port = new InProcessPort(graph, { executor: { motion_backend: 'moveit', supervisor_timeout: 0, service_timeout: 0.5, ...executor } });
  const fake = startFakeArm(port, { distro, ...arm });
  const ex = startExecutor(port);
  const probe = port.createNode('probe');
  const results: DiagnosticStatus[] = [];
  let holds = 0;
  probe.createSubscription('diagnostic_msgs/msg/DiagnosticStatus', 'executor/result', QOS.default, (m) => results.push(m));
  probe.createSubscription('std_msgs/msg/Empty', 'motion/hold', QOS.command, () => holds++);
  const approved = probe.createPublisher('visualization_msgs/msg/Marker', 'safety/approved', QOS.command);
  const status = probe.createPublisher('diagnostic_msgs/msg/DiagnosticStatus', 'safety/status', QOS.latched);
  const beat = probe.createPublisher('std_msgs/msg/Empty', 'safety/heartbeat', { ...QOS.command, depth: 1 });
  const codec = RosMessageCodec.for(distro);
  return {
    results,
    get holds() {
      return holds;
    },
    approve: (p, decision) => approved.publish(primitiveToMarker(codec, p, { decision, candidate: 0 }, { stamp: probe.now() })),
    safety: (state) => status.publish({ level: state === 'ok' ? 0 : 2, name: 'pamstack/safety', message: `state ${state}`, hardware_id: '', values: [{ key: 'state', value: state }] }),
    beat: () => beat.publish({}),
    until: async (fn, ms = 5000) => {
      const end = Date.now() + ms;
      while (!fn() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      expect(fn()).toBe(true);
    },
    close: async () => {
      await ex.shutdown();
      await port.shutdown();
    },
    arm: fake,
    port,
  };
}

describe.each(['humble', 'jazzy'] as const)('moveit backend (%s)', (distro) => {
  it('runs a pick_place: Cartesian runs planned and executed in order, gripper open/grasp/release, result OK', async () => {
    const r = await rig(distro, {}, {});
    try {
      r.approve(pick([0.1, 0.05, 0.01], [-0.2, 0.1, 0.01]), 3);
      await r.until(() => r.results.length > 0);
      expect(r.results[0]!.message).toBe('done');
      expect(r.results[0]!.level).toBe(0);
      expect(r.results[0]!.hardware_id).toBe('decision:3');
      // approach->descend, lift->transfer->descend, retreat: three plans, three executions
      expect(r.arm.cartesian.map((c) => (c.waypoints as unknown[]).length)).toEqual([2, 3, 1]);
      expect(r.arm.executed).toHaveLength(3);
      const first = r.arm.cartesian[0]!;
      expect(first.group_name).toBe('manipulator');
      expect(first.link_name).toBe('tool0');
      expect((first.header as { frame_id: string }).frame_id).toBe('table');
      // The executed trajectory is the planned solution, after two CDR round trips.
      const pts = (r.arm.executed[0]!.trajectory as { joint_trajectory: { points: { positions: Float64Array }[] } }).joint_trajectory.points;
      expect(Array.from(pts[1]!.positions)).toEqual([0.1, 0.05, 0.01]);
      expect(r.arm.gripper.map((g) => g.position)).toEqual([0.08, 0, 0.08]);
      // Humble's GetCartesianPath has no speed fields; Jazzy's carries the tool speed.
      if (distro === 'humble') expect(first).not.toHaveProperty('max_cartesian_speed');
      else {
        expect(first.max_cartesian_speed).toBeCloseTo(0.2, 12);
        expect(first.max_velocity_scaling_factor).toBeCloseTo(0.1, 12);
      }
      if (distro === 'jazzy') expect(r.arm.executed[0]).toHaveProperty('controller_names');
    } finally {
      await r.close();
    }
  });

  it.each([
    [{ fraction: 0.5 }, {}, /approach->descend path: MoveIt planned only 50.0 % of the Cartesian path \(min_fraction 0.99\)/],
    [{ groups: ['ur_manipulator'] }, {}, /approach->descend path: \/compute_cartesian_path failed with INVALID_GROUP_NAME \(-15\)/],
    [{}, { planning_frame: 'odom' }, /failed with FRAME_TRANSFORM_FAILURE \(-21\)/],
    [{ rejectExecute: true }, {}, /goal rejected by \/execute_trajectory/],
    [{ abortExecute: true }, {}, /aborted by \/execute_trajectory: CONTROL_FAILED \(-4\)/],
    [{ noCartesian: true }, {}, /service \/compute_cartesian_path \(moveit_msgs\/srv\/GetCartesianPath\) is not available: no answer within 0.5 s/],
    [{ executeSeconds: 5 }, { timeout: 0.3 }, /approach->descend path \(\/execute_trajectory\): no result within 0.3 s/],
  ])('failure %j %j becomes a clear executor result', async (arm, ex, re) => {
    const r = await rig(distro, arm, ex);
    try {
      r.approve(pick([0.1, 0.05, 0.01], [-0.2, 0.1, 0.01]), 7);
      await r.until(() => r.results.length > 0);
      expect(r.results[0]!.level).toBe(2);
      expect(r.results[0]!.message).toMatch(/^moveit backend: /);
      expect(r.results[0]!.message).toMatch(re);
      if ((ex as { timeout?: number }).timeout) await r.until(() => r.arm.cancels === 1); // a timed-out goal is cancelled
    } finally {
      await r.close();
    }
  });
});

describe('action protocol on the in-process port (rcl_action services and feedback topic, CDR)', () => {
  it('feedback reaches the client; cancel is accepted mid-goal and refused once the goal ended', async () => {
    const port = new InProcessPort(new InProcessGraph({ distro: 'humble', clock: new SystemClock() }));
    const opts = { distro: 'humble' as const, executeSeconds: 0.05 };
    startFakeArm(port, opts);
    const client = port.createNode('client').createActionClient<Record<string, unknown>, { error_code: { val: number } }, { state: string }>('moveit_msgs/action/ExecuteTrajectory', '/execute_trajectory');
    const states: string[] = [];
    const h = await client.sendGoal({ trajectory: {} }, (f) => states.push(f.state), 1);
    expect(h.accepted).toBe(true);
    const done = await h.result();
    expect(done.status).toBe('succeeded');
    expect(done.result.error_code.val).toBe(1);
    // Feedback published right before the result may be dropped once the result is in (rclnodejs
    // removes the goal's feedback filter then: lib/action/client.js _getResult); MONITOR always arrives.
    expect(states[0]).toBe('MONITOR');
    expect(await h.cancel()).toBe(false); // ERROR_GOAL_TERMINATED

    opts.executeSeconds = 5;
    const long = await client.sendGoal({ trajectory: {} }, null, 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(await long.cancel()).toBe(true);
    // move_group ends a preempted execution as aborted with PREEMPTED (execute_trajectory_action_capability.cpp)
    const r = await long.result();
    expect(r.status).toBe('aborted');
    expect(r.result.error_code.val).toBe(-7);
    await port.shutdown();
  });
});

describe('stopping motion', () => {
  it('an e-stop mid-trajectory cancels the goal in flight and holds', async () => {
    const r = await rig('jazzy', { executeSeconds: 5 }, {});
    try {
      r.approve(pick([0.1, 0.05, 0.01], [-0.2, 0.1, 0.01]), 1);
      await r.until(() => r.arm.executed.length === 1 && r.arm.executing()); // mid-trajectory
      r.safety('e_stop');
      await r.until(() => r.results.length > 0);
      expect(r.arm.cancels).toBe(1);
      expect(r.holds).toBe(1);
      expect(r.results[0]!.message).toMatch(/stopped: safety state e_stop: state e_stop; the goal in flight was cancelled/);
      expect(r.arm.executed).toHaveLength(1); // nothing after the stop
    } finally {
      await r.close();
    }
  });

  it('a silent safety supervisor stops motion and refuses the next primitive', async () => {
    const r = await rig('humble', { executeSeconds: 5 }, { supervisor_timeout: 0.3 });
    try {
      r.beat();
      r.approve(pick([0.1, 0.05, 0.01], [-0.2, 0.1, 0.01]), 1);
      await r.until(() => r.arm.executed.length === 1 && r.arm.executing()); // mid-trajectory
      await r.until(() => r.results.length > 0, 3000); // no more heartbeats
      expect(r.arm.cancels).toBe(1);
      expect(r.results[0]!.message).toMatch(/safety supervisor heartbeat lost .* > supervisor_timeout 0.3 s on safety\/heartbeat/);
      r.approve(pick([0.1, 0.05, 0.01], [-0.2, 0.1, 0.01]), 2);
      await r.until(() => r.results.length > 1);
      expect(r.results[1]!.message).toMatch(/not sent: safety supervisor heartbeat lost/);
      expect(r.arm.executed).toHaveLength(1);
    } finally {
      await r.close();
    }
  });
});

describe('joint_trajectory backend', () => {
  it('solves IK per pose and runs FollowJointTrajectory; an aborted trajectory is reported with its error', async () => {
    const r = await rig('jazzy', {}, { motion_backend: 'joint_trajectory' });
    try {
      r.approve(pick([0.1, 0.05, 0.01], [-0.2, 0.1, 0.01]), 4);
      await r.until(() => r.results.length > 0);
      expect(r.results[0]!.level).toBe(0);
      expect(r.arm.ik).toHaveLength(6);
      expect(r.arm.follow).toHaveLength(3);
      const traj = r.arm.follow[0]!.trajectory as { joint_names: string[]; points: { positions: Float64Array }[] };
      expect(traj.joint_names).toEqual(['x', 'y', 'z']);
      expect(Array.from(traj.points[1]!.positions)).toEqual([0.1, 0.05, 0.01]);
    } finally {
      await r.close();
    }
    const bad = await rig('jazzy', { abortExecute: true }, { motion_backend: 'joint_trajectory' });
    try {
      bad.approve(pick([0.1, 0.05, 0.01], [-0.2, 0.1, 0.01]), 5);
      await bad.until(() => bad.results.length > 0);
      expect(bad.results[0]!.message).toMatch(/joint_trajectory backend: approach->descend: approach->descend trajectory: aborted by \/joint_trajectory_controller\/follow_joint_trajectory/);
    } finally {
      await bad.close();
    }
  });
});
