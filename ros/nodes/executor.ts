// executor bridge: runs each approved primitive on the robot's motion layer, reports result and timing,
// and stops (hold, or cancel of the goal in flight) on e-stop, deadman, a silent safety supervisor,
// timeout or shutdown. The motion layer is chosen by `motion_backend`:
//   moveit            GetCartesianPath + ExecuteTrajectory per Cartesian run, GripperCommand (ros/motion)
//   joint_trajectory  GetPositionIK + FollowJointTrajectory (ros2_control), GripperCommand
//   topic             the documented topic contract below, for custom drivers:
//     goal   <motion_topic>  visualization_msgs/Marker, ns pamstack/primitive, frame table, points [a, b],
//                            text = JSON {decision, kind, candidate?, score?}; RELIABLE, depth 10
//     result <result_topic>  diagnostic_msgs/DiagnosticStatus, hardware_id "decision:<n>", level OK on
//                            success or ERROR with the reason in message, values duration_s (motion time)
//     hold   <hold_topic>    std_msgs/Empty: stop where you are and hold position (never go home / zero)
import { unpackPointCloud2 } from '../../src/cloud/pointcloud2.ts';
import { EPISODE_TOPICS, markerToPrimitive, QOS, type Marker } from '../../src/record/index.ts';
import { JointTrajectoryBackend, MOTION_BACKENDS, MoveItBackend, type MotionBackend } from '../motion/backends.ts';
import { planOutsideWorkspace, planPrimitive, type PlanParams } from '../motion/plan.ts';
import type { ParamSpec, ParamValues, RosPort } from '../port.ts';
import { decisionOf, diagnosticsTimer, status, statusValue, WORKSPACE_PARAMS, workspaceFrom, type PamstackNode } from './common.ts';

export const EXECUTOR_TOPICS = {
  approved: 'safety/approved',
  safetyStatus: 'safety/status',
  safetyHeartbeat: 'safety/heartbeat',
  result: 'executor/result',
} as const;

const len = (d: number) => ({ from: 0, to: d });
export const EXECUTOR_PARAMS = {
  motion_backend: { type: 'string', description: 'motion layer: moveit, joint_trajectory or topic', default: 'topic', oneOf: MOTION_BACKENDS, readOnly: true },
  motion_topic: { type: 'string', description: 'topic backend: goal topic (Marker)', default: 'motion/primitive' },
  result_topic: { type: 'string', description: 'topic backend: result topic (DiagnosticStatus)', default: 'motion/result' },
  hold_topic: { type: 'string', description: 'hold topic of the motion layer (Empty), published on every stop', default: 'motion/hold' },
  timeout: { type: 'double', description: 'hold and report failure when a primitive takes longer, s', default: 60, range: { from: 0.1, to: 3600 } },
  supervisor_timeout: { type: 'double', description: 'stop when the safety supervisor heartbeat is older, s (0 = do not watch)', default: 0.5, range: { from: 0, to: 60 } },
  ...WORKSPACE_PARAMS,
  planning_groups: { type: 'string_array', description: 'MoveIt planning group per arm', default: ['manipulator'], length: [1, 2], readOnly: true },
  ee_links: { type: 'string_array', description: 'tool link per arm whose pose the waypoints give', default: ['tool0'], length: [1, 2], readOnly: true },
  planning_frame: { type: 'string', description: 'frame of the waypoints (must be in TF)', default: 'table', readOnly: true },
  cartesian_path_service: { type: 'string', description: 'moveit_msgs/srv/GetCartesianPath service', default: '/compute_cartesian_path', readOnly: true },
  execute_action: { type: 'string', description: 'moveit_msgs/action/ExecuteTrajectory action', default: '/execute_trajectory', readOnly: true },
  ik_service: { type: 'string', description: 'moveit_msgs/srv/GetPositionIK service', default: '/compute_ik', readOnly: true },
  trajectory_actions: { type: 'string_array', description: 'FollowJointTrajectory action per arm', default: ['/joint_trajectory_controller/follow_joint_trajectory'], length: [1, 2], readOnly: true },
  gripper_actions: { type: 'string_array', description: 'GripperCommand action per arm', default: ['/gripper_controller/gripper_cmd'], length: [1, 2], readOnly: true },
  max_step: { type: 'double', description: 'GetCartesianPath interpolation step, m', default: 0.005, range: { from: 0.0005, to: 0.1 } },
  min_fraction: { type: 'double', description: 'refuse a Cartesian path planned below this fraction', default: 0.99, range: { from: 0.1, to: 1 } },
  velocity_scaling: { type: 'double', description: 'Jazzy GetCartesianPath max_velocity_scaling_factor', default: 0.1, range: { from: 0.001, to: 1 } },
  acceleration_scaling: { type: 'double', description: 'Jazzy GetCartesianPath max_acceleration_scaling_factor', default: 0.1, range: { from: 0.001, to: 1 } },
  service_timeout: { type: 'double', description: 'wait this long for a server or an accept, s', default: 2, range: { from: 0.05, to: 60 } },
  approach_height: { type: 'double', description: 'approach and retreat height above the action point, m', default: 0.1, range: len(0.5) },
  grasp_offset: { type: 'double', description: 'tool height above the action point at the grasp, m', default: 0, range: { from: -0.05, to: 0.1 } },
  lift_height: { type: 'double', description: 'lift height above the pick point, m', default: 0.1, range: len(0.5) },
  place_height: { type: 'double', description: 'release height above the place point, m', default: 0.02, range: len(0.3) },
  sweep_height: { type: 'double', description: 'tool height above the surface along a sweep, m', default: 0.01, range: len(0.1) },
  yaw_radius: { type: 'double', description: 'object-cloud radius that sets the grasp yaw, m', default: 0.03, range: { from: 0.005, to: 0.2 } },
  speed: { type: 'double', description: 'tool speed on Cartesian segments, m/s', default: 0.2, range: { from: 0.01, to: 2 } },
  gripper_open: { type: 'double', description: 'gripper opening when open, m', default: 0.08, range: len(0.3) },
  gripper_closed: { type: 'double', description: 'gripper opening commanded to grasp, m', default: 0, range: len(0.3) },
  gripper_effort: { type: 'double', description: 'gripper effort limit, N', default: 20, range: len(1000) },
  fling_height: { type: 'double', description: 'fling: lift height, m', default: 0.3, range: len(1) },
  fling_distance: { type: 'double', description: 'fling: throw distance along +x, m', default: 0.25, range: len(1) },
  fling_speed: { type: 'double', description: 'fling: throw speed, m/s', default: 0.8, range: { from: 0.05, to: 3 } },
} as const satisfies ParamSpec;
export type ExecutorParams = ParamValues<typeof EXECUTOR_PARAMS>;

export function planParamsFrom(p: ExecutorParams): PlanParams {
  return {
    approachHeight: p.approach_height,
    graspOffset: p.grasp_offset,
    liftHeight: p.lift_height,
    placeHeight: p.place_height,
    sweepHeight: p.sweep_height,
    yawRadius: p.yaw_radius,
    speed: p.speed,
    gripperOpen: p.gripper_open,
    gripperClosed: p.gripper_closed,
    gripperEffort: p.gripper_effort,
    flingHeight: p.fling_height,
    flingDistance: p.fling_distance,
    flingSpeed: p.fling_speed,
  };
}

export function startExecutor(port: RosPort, name = 'executor', namespace = ''): PamstackNode & { busy: () => number | null } {
  const node = port.createNode(name, namespace);
  // Topic and interface names are read once: changing them on a live node would orphan a goal in flight.
  let p = node.declareParameters(EXECUTOR_PARAMS, (next) => {
    workspaceFrom(name, next.workspace_min, next.workspace_max);
    p = next;
  });
  workspaceFrom(name, p.workspace_min, p.workspace_max);
  const backend: MotionBackend | null = (() => {
    if (p.motion_backend === 'topic') return null;
    const o = {
      groups: p.planning_groups,
      eeLinks: p.ee_links,
      frame: p.planning_frame,
      cartesianService: p.cartesian_path_service,
      executeAction: p.execute_action,
      ikService: p.ik_service,
      trajectoryActions: p.trajectory_actions,
      gripperActions: p.gripper_actions,
      maxStep: p.max_step,
      minFraction: p.min_fraction,
      velocityScaling: p.velocity_scaling,
      accelerationScaling: p.acceleration_scaling,
      serviceTimeout: p.service_timeout,
      goalTimeout: p.timeout,
    };
    return p.motion_backend === 'moveit' ? new MoveItBackend(node, port.distro, o) : new JointTrajectoryBackend(node, port.distro, o);
  })();
  const goalPub = backend ? null : node.createPublisher('visualization_msgs/msg/Marker', p.motion_topic, QOS.command);
  const holdPub = node.createPublisher('std_msgs/msg/Empty', p.hold_topic, QOS.command);
  const resultPub = node.createPublisher('diagnostic_msgs/msg/DiagnosticStatus', EXECUTOR_TOPICS.result, QOS.default);
  const execPub = node.createPublisher(EPISODE_TOPICS.executed.type, EPISODE_TOPICS.executed.name, EPISODE_TOPICS.executed.qos);

  let inFlight: { decision: number; marker: Marker; kind: string; sent: number; abort: AbortController | null } | null = null;
  let running: Promise<void> = Promise.resolve();
  let lastCloud: Float32Array | null = null;
  let lastHeartbeat = node.now(); // the supervisor gets one timeout from start-up to speak
  let lastHold: string | null = null;
  let done = 0;
  let lastDuration: number | null = null;

  const finish = (level: 'OK' | 'ERROR', message: string, extra: Record<string, string | number> = {}): void => {
    if (!inFlight) return;
    const f = inFlight;
    inFlight = null;
    const wall = node.now() - f.sent;
    lastDuration = wall;
    done++;
    resultPub.publish(status(level, 'pamstack/executor', message, { decision: f.decision, kind: f.kind, backend: p.motion_backend, wall_s: +wall.toFixed(4), ...extra }, `decision:${f.decision}`));
    if (level === 'OK') execPub.publish(f.marker);
    else node.logger.warn(`decision ${f.decision}: ${message}`);
  };
  const hold = (why: string): void => {
    holdPub.publish({});
    lastHold = why;
    node.logger.warn(`hold commanded: ${why}`);
    if (inFlight?.abort) inFlight.abort.abort(why); // the backend cancels its goal, then finishes
    else finish('ERROR', `aborted: ${why}`);
  };
  const supervisorSilent = (): string | null =>
    p.supervisor_timeout > 0 && node.now() - lastHeartbeat > p.supervisor_timeout
      ? `safety supervisor heartbeat lost (${(node.now() - lastHeartbeat).toFixed(2)} s > supervisor_timeout ${p.supervisor_timeout} s on ${EXECUTOR_TOPICS.safetyHeartbeat})`
      : null;

  const runOnBackend = (b: MotionBackend, prim: ReturnType<typeof markerToPrimitive>): void => {
    const f = inFlight!;
    const plan = planPrimitive(prim.primitive, lastCloud, planParamsFrom(p));
    const outside = planOutsideWorkspace(plan, workspaceFrom(name, p.workspace_min, p.workspace_max));
    if (outside) return finish('ERROR', `plan refused: ${outside}; lower approach_height/lift_height or raise workspace_max`);
    f.abort = new AbortController();
    running = b.run(plan, f.abort.signal).then(
      (r) => {
        if (inFlight !== f) return;
        if (r.ok) finish('OK', 'done', { duration_s: +r.durationS.toFixed(4), steps: r.steps, yaw: plan.yaw.map((y) => y.toFixed(3)).join(',') });
        else finish('ERROR', `${b.name} backend: ${r.step}: ${r.reason}`);
      },
      (e: unknown) => {
        if (inFlight === f) finish('ERROR', `${b.name} backend: ${(e as Error).message}`);
      },
    );
  };

  node.createSubscription('visualization_msgs/msg/Marker', EXECUTOR_TOPICS.approved, QOS.command, (m) => {
    let prim;
    try {
      prim = markerToPrimitive(m);
    } catch (e) {
      node.logger.error(`dropped a malformed approved primitive: ${(e as Error).message}`);
      return;
    }
    const refuse = (why: string) => resultPub.publish(status('ERROR', 'pamstack/executor', why, { decision: prim.meta.decision }, `decision:${prim.meta.decision}`));
    if (inFlight) return refuse(`busy with decision ${inFlight.decision}; decision ${prim.meta.decision} not sent`);
    const silent = supervisorSilent();
    if (silent) return refuse(`not sent: ${silent}`);
    inFlight = { decision: prim.meta.decision, marker: m, kind: prim.meta.kind, sent: node.now(), abort: null };
    if (backend) runOnBackend(backend, prim);
    else goalPub!.publish(m);
  });
  if (!backend)
    node.createSubscription('diagnostic_msgs/msg/DiagnosticStatus', p.result_topic, QOS.default, (s) => {
      if (!inFlight || decisionOf(s) !== inFlight.decision) return;
      const duration = statusValue(s, 'duration_s');
      finish(s.level === 0 ? 'OK' : 'ERROR', s.message || (s.level === 0 ? 'done' : 'failed'), duration !== undefined ? { duration_s: duration } : {});
    });
  node.createSubscription('diagnostic_msgs/msg/DiagnosticStatus', EXECUTOR_TOPICS.safetyStatus, QOS.latched, (s) => {
    const state = statusValue(s, 'state');
    if (inFlight && state !== undefined && state !== 'ok' && state !== 'stale_perception') hold(`safety state ${state}: ${s.message}`);
  });
  node.createSubscription('std_msgs/msg/Empty', EXECUTOR_TOPICS.safetyHeartbeat, { ...QOS.command, depth: 1 }, () => {
    lastHeartbeat = node.now();
  });
  if (backend)
    node.createSubscription(EPISODE_TOPICS.objectCloud.type, EPISODE_TOPICS.objectCloud.name, QOS.sensorData, (msg) => {
      try {
        lastCloud = unpackPointCloud2(msg, { frame: 'table' }).points;
      } catch {
        /* a malformed cloud leaves the grasp yaw at its fallback */
      }
    });
  const timer = node.createTimer(0.1, () => {
    if (!inFlight) return;
    const silent = supervisorSilent();
    if (silent) hold(silent);
    // The topic backend has no goal to time out; the action backends time out per goal themselves.
    else if (!backend && node.now() - inFlight.sent > p.timeout) hold(`no result from the motion layer within ${p.timeout} s`);
  });
  const diag = diagnosticsTimer(node, () => {
    const silent = supervisorSilent();
    const level = silent ? 'ERROR' : inFlight ? 'OK' : lastHold ? 'WARN' : 'OK';
    const state = silent ? 'supervisor_lost' : inFlight ? 'executing' : 'idle';
    return status(level, `pamstack/${name}`, silent ?? (inFlight ? `executing decision ${inFlight.decision}` : lastHold ? `last hold: ${lastHold}` : 'idle'), {
      state,
      backend: p.motion_backend,
      executed: done,
      ...(lastDuration !== null ? { last_duration_s: +lastDuration.toFixed(3) } : {}),
      ...(lastHold ? { last_hold: lastHold } : {}),
    });
  });

  return {
    node,
    busy: () => inFlight?.decision ?? null,
    async shutdown() {
      timer.cancel();
      diag.cancel();
      if (inFlight) hold('executor shutting down');
      // Let the backend cancel its goal while the node can still speak (bounded by the service timeout).
      await Promise.race([running, new Promise((r) => setTimeout(r, p.service_timeout * 1000))]);
      node.destroy();
    },
  };
}
