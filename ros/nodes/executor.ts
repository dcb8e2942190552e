// executor bridge: sends each approved primitive to the robot's motion layer over a documented topic
// interface, waits for its result, reports result and timing, and commands a hold on e-stop, deadman,
// timeout or shutdown.
//
// Motion-layer interface (topic names are parameters):
//   goal   <motion_topic>  visualization_msgs/Marker, ns pamstack/primitive, frame table, points [a, b],
//                          text = JSON {decision, kind, candidate?, score?}; RELIABLE, depth 10
//   result <result_topic>  diagnostic_msgs/DiagnosticStatus, hardware_id "decision:<n>", level OK on
//                          success or ERROR with the reason in message, values duration_s (motion time)
//   hold   <hold_topic>    std_msgs/Empty: stop where you are and hold position (never go home / zero)
import { EPISODE_TOPICS, markerToPrimitive, QOS, type Marker } from '../../src/record/index.ts';
import type { ParamSpec, ParamValues, RosPort } from '../port.ts';
import { decisionOf, status, statusValue, type PamstackNode } from './common.ts';

export const EXECUTOR_TOPICS = {
  approved: 'safety/approved',
  safetyStatus: 'safety/status',
  result: 'executor/result',
} as const;

export const EXECUTOR_PARAMS = {
  motion_topic: { type: 'string', description: 'goal topic of the motion layer (Marker)', default: 'motion/primitive' },
  result_topic: { type: 'string', description: 'result topic of the motion layer (DiagnosticStatus)', default: 'motion/result' },
  hold_topic: { type: 'string', description: 'hold topic of the motion layer (Empty)', default: 'motion/hold' },
  timeout: { type: 'double', description: 'hold and report failure when no result arrives within this, s', default: 60, range: { from: 0.1, to: 3600 } },
} as const satisfies ParamSpec;
export type ExecutorParams = ParamValues<typeof EXECUTOR_PARAMS>;

export function startExecutor(port: RosPort, name = 'executor', namespace = ''): PamstackNode & { busy: () => number | null } {
  const node = port.createNode(name, namespace);
  // Topic names are read once: changing them on a live node would orphan an in-flight goal.
  const p = node.declareParameters(EXECUTOR_PARAMS);
  const goalPub = node.createPublisher('visualization_msgs/msg/Marker', p.motion_topic, QOS.command);
  const holdPub = node.createPublisher('std_msgs/msg/Empty', p.hold_topic, QOS.command);
  const resultPub = node.createPublisher('diagnostic_msgs/msg/DiagnosticStatus', EXECUTOR_TOPICS.result, QOS.default);
  const execPub = node.createPublisher(EPISODE_TOPICS.executed.type, EPISODE_TOPICS.executed.name, EPISODE_TOPICS.executed.qos);

  let inFlight: { decision: number; marker: Marker; kind: string; sent: number } | null = null;

  const finish = (level: 'OK' | 'ERROR', message: string, extra: Record<string, string | number> = {}): void => {
    if (!inFlight) return;
    const f = inFlight;
    inFlight = null;
    const wall = node.now() - f.sent;
    resultPub.publish(
      status(level, 'pamstack/executor', message, { decision: f.decision, kind: f.kind, wall_s: +wall.toFixed(4), ...extra }, `decision:${f.decision}`),
    );
    if (level === 'OK') execPub.publish(f.marker);
    else node.logger.warn(`decision ${f.decision}: ${message}`);
  };
  const hold = (why: string): void => {
    holdPub.publish({});
    node.logger.warn(`hold commanded: ${why}`);
    finish('ERROR', `aborted: ${why}`);
  };

  node.createSubscription('visualization_msgs/msg/Marker', EXECUTOR_TOPICS.approved, QOS.command, (m) => {
    let prim;
    try {
      prim = markerToPrimitive(m);
    } catch (e) {
      node.logger.error(`dropped a malformed approved primitive: ${(e as Error).message}`);
      return;
    }
    if (inFlight) {
      resultPub.publish(
        status('ERROR', 'pamstack/executor', `busy with decision ${inFlight.decision}; decision ${prim.meta.decision} not sent`, { decision: prim.meta.decision }, `decision:${prim.meta.decision}`),
      );
      return;
    }
    inFlight = { decision: prim.meta.decision, marker: m, kind: prim.meta.kind, sent: node.now() };
    goalPub.publish(m);
  });
  node.createSubscription('diagnostic_msgs/msg/DiagnosticStatus', p.result_topic, QOS.default, (s) => {
    if (!inFlight || decisionOf(s) !== inFlight.decision) return;
    const duration = statusValue(s, 'duration_s');
    finish(s.level === 0 ? 'OK' : 'ERROR', s.message || (s.level === 0 ? 'done' : 'failed'), duration !== undefined ? { duration_s: duration } : {});
  });
  node.createSubscription('diagnostic_msgs/msg/DiagnosticStatus', EXECUTOR_TOPICS.safetyStatus, QOS.latched, (s) => {
    const state = statusValue(s, 'state');
    if (inFlight && state !== undefined && state !== 'ok' && state !== 'stale_perception') hold(`safety state ${state}: ${s.message}`);
  });
  const timer = node.createTimer(0.1, () => {
    if (inFlight && node.now() - inFlight.sent > p.timeout) hold(`no result from the motion layer within ${p.timeout} s`);
  });

  return {
    node,
    busy: () => inFlight?.decision ?? null,
    async shutdown() {
      timer.cancel();
      if (inFlight) hold('executor shutting down');
      node.destroy();
    },
  };
}
