// safety supervisor: the single gate between the policy and the executor. Latched e-stop with explicit
// reset, operator heartbeat deadman, workspace/table/reach limits on every primitive (src/select's
// safetyViolation), stale-perception hold; every refusal is published with its rule and reason.
import { stampToSeconds } from '../../src/cloud/pointcloud2.ts';
import { safetyViolation, SafetyConfigSchema } from '../../src/select/safety.ts';
import { EPISODE_TOPICS, markerToPrimitive, QOS, type Marker } from '../../src/record/index.ts';
import type { ParamSpec, ParamValues, RosPort } from '../port.ts';
import { diagnosticsTimer, status, WORKSPACE_PARAMS, workspaceFrom, type PamstackNode } from './common.ts';

export const SAFETY_TOPICS = {
  proposed: 'policy/chosen',
  approved: 'safety/approved',
  refusal: 'safety/refusal',
  status: 'safety/status',
  eStop: 'e_stop',
  eStopReset: 'e_stop/reset',
  heartbeat: 'operator/heartbeat',
  /** The supervisor's own liveness (the executor stops motion when it goes quiet). */
  supervisorHeartbeat: 'safety/heartbeat',
} as const;

export const SAFETY_PARAMS = {
  ...WORKSPACE_PARAMS,
  table_z: { type: 'double', description: 'table surface height, m', default: 0, range: { from: -2, to: 2 } },
  table_clearance: { type: 'double', description: 'least height of action points above the table, m', default: 0, range: { from: 0, to: 0.5 } },
  max_span: { type: 'double', description: 'longest allowed distance between the two points, m (0 = no limit)', default: 0, range: { from: 0, to: 5 } },
  reach_bases: { type: 'double_array', description: 'arm base positions [x, y, z, ...], table frame (empty = no reach check)', default: [], length: [0, 12], range: { from: -10, to: 10 } },
  reach_radius: { type: 'double', description: 'arm reach from the nearest base, m', default: 0.85, range: { from: 0.01, to: 5 } },
  heartbeat_timeout: { type: 'double', description: 'deadman: refuse and hold when the operator heartbeat is older, s', default: 0.5, range: { from: 0.05, to: 60 } },
  require_heartbeat: { type: 'bool', description: 'false only for unattended simulation', default: true },
  // Age = now − the object cloud's stamp, which is its camera frame's stamp: driver latency +
  // perception time + transport + the wait for the next object cloud (about one more perception
  // time). A 640×480 frame takes 77–120 ms CPU / 216–271 ms wall on a loaded 2-core machine
  // (bench perception-organised), so live clouds reach ~0.6 s there; 1 s keeps them fresh.
  stale_cloud_timeout: { type: 'double', description: 'refuse when the newest object cloud is older (now - its camera stamp), s', default: 1, range: { from: 0.05, to: 60 } },
  status_period: { type: 'double', description: 'period of safety/status and deadman checks, s', default: 0.1, range: { from: 0.01, to: 5 } },
} as const satisfies ParamSpec;
export type SafetyParams = ParamValues<typeof SAFETY_PARAMS>;

/** The rule a refusal broke. */
export type SafetyRule = 'e_stop' | 'deadman' | 'stale_perception' | 'frame' | 'malformed' | 'limits';
export type SafetyState = 'ok' | 'e_stop' | 'deadman' | 'stale_perception';

export function safetyConfigFrom(p: SafetyParams) {
  if (p.reach_bases.length % 3 !== 0) throw new Error(`safety: parameter reach_bases: expected a multiple of 3 numbers, received ${p.reach_bases.length}`);
  const bases: [number, number, number][] = [];
  for (let i = 0; i < p.reach_bases.length; i += 3) bases.push([p.reach_bases[i]!, p.reach_bases[i + 1]!, p.reach_bases[i + 2]!]);
  return SafetyConfigSchema.parse({
    table: { z: p.table_z, clearance: p.table_clearance },
    ...(bases.length ? { reach: { bases, radius: p.reach_radius } } : {}),
    ...(p.max_span > 0 ? { maxSpan: p.max_span } : {}),
  });
}

/** Starts the supervisor; `state()` is for tests and the operator UI. */
export function startSafety(port: RosPort, name = 'safety', namespace = ''): PamstackNode & { state: () => SafetyState } {
  const node = port.createNode(name, namespace);
  let p = node.declareParameters(SAFETY_PARAMS, (next) => {
    workspaceFrom(name, next.workspace_min, next.workspace_max);
    safetyConfigFrom(next);
    p = next;
  });
  workspaceFrom(name, p.workspace_min, p.workspace_max);
  safetyConfigFrom(p);
  const approvedPub = node.createPublisher('visualization_msgs/msg/Marker', SAFETY_TOPICS.approved, QOS.command);
  const refusalPub = node.createPublisher('diagnostic_msgs/msg/DiagnosticStatus', SAFETY_TOPICS.refusal, QOS.default);
  const statusPub = node.createPublisher('diagnostic_msgs/msg/DiagnosticStatus', SAFETY_TOPICS.status, QOS.latched);
  const beatPub = node.createPublisher('std_msgs/msg/Empty', SAFETY_TOPICS.supervisorHeartbeat, { ...QOS.command, depth: 1 });
  let refusals = 0;
  let lastRefusal: string | null = null;

  let eStop: string | null = null;
  let lastHeartbeat = -Infinity;
  let lastCloudStamp = -Infinity;
  let published: string | null = null;

  const current = (now: number): { state: SafetyState; why: string } => {
    if (eStop !== null) return { state: 'e_stop', why: `e-stop latched (${eStop}); publish std_msgs/Empty on ${SAFETY_TOPICS.eStopReset} to reset` };
    if (p.require_heartbeat && now - lastHeartbeat > p.heartbeat_timeout)
      return {
        state: 'deadman',
        why: Number.isFinite(lastHeartbeat)
          ? `no operator heartbeat for ${(now - lastHeartbeat).toFixed(2)} s (limit ${p.heartbeat_timeout} s)`
          : `no operator heartbeat received yet on ${SAFETY_TOPICS.heartbeat}`,
      };
    if (now - lastCloudStamp > p.stale_cloud_timeout)
      return {
        state: 'stale_perception',
        why: Number.isFinite(lastCloudStamp)
          ? `perception is stale: the newest object cloud is ${(now - lastCloudStamp).toFixed(2)} s old (limit ${p.stale_cloud_timeout} s)`
          : 'perception is stale: no object cloud received yet',
      };
    return { state: 'ok', why: 'ok' };
  };

  const publishStatus = (force = false): void => {
    const c = current(node.now());
    const key = `${c.state}|${c.state === 'ok' ? '' : c.state === 'e_stop' ? eStop : ''}`;
    if (!force && key === published) return;
    published = key;
    statusPub.publish(status(c.state === 'ok' ? 'OK' : c.state === 'e_stop' ? 'ERROR' : 'WARN', 'pamstack/safety', c.why, { state: c.state }));
  };

  const refuse = (m: Marker, rule: SafetyRule, reason: string): void => {
    let decision = -1;
    try {
      decision = (JSON.parse(m.text) as { decision?: number }).decision ?? -1;
    } catch {
      /* malformed record: refused below without a decision id */
    }
    node.logger.warn(`refused decision ${decision}: ${reason}`);
    refusals++;
    lastRefusal = `${rule}: ${reason}`;
    refusalPub.publish(status('ERROR', 'pamstack/safety', reason, { rule, decision }, decision >= 0 ? `decision:${decision}` : ''));
  };

  node.createSubscription('visualization_msgs/msg/Marker', SAFETY_TOPICS.proposed, QOS.command, (m) => {
    const c = current(node.now());
    if (c.state !== 'ok') return refuse(m, c.state, c.why);
    if (m.header.frame_id !== 'table') return refuse(m, 'frame', `primitive frame is ${JSON.stringify(m.header.frame_id)}, expected "table"`);
    let prim;
    try {
      prim = markerToPrimitive(m).primitive;
    } catch (e) {
      return refuse(m, 'malformed', `malformed primitive: ${(e as Error).message}`);
    }
    const why = safetyViolation(prim, workspaceFrom(name, p.workspace_min, p.workspace_max), safetyConfigFrom(p));
    if (why) return refuse(m, 'limits', why);
    approvedPub.publish(m);
  });
  node.createSubscription('std_msgs/msg/Empty', SAFETY_TOPICS.eStop, QOS.command, () => {
    if (eStop === null) eStop = `tripped at ${node.now().toFixed(3)} s`;
    node.logger.error('E-STOP tripped; latched until e_stop/reset');
    publishStatus();
  });
  node.createSubscription('std_msgs/msg/Empty', SAFETY_TOPICS.eStopReset, QOS.command, () => {
    if (eStop !== null) node.logger.warn('e-stop reset by operator');
    eStop = null;
    publishStatus();
  });
  node.createSubscription('std_msgs/msg/Empty', SAFETY_TOPICS.heartbeat, { ...QOS.command, depth: 1 }, () => {
    lastHeartbeat = node.now();
    publishStatus();
  });
  node.createSubscription(EPISODE_TOPICS.objectCloud.type, EPISODE_TOPICS.objectCloud.name, QOS.sensorData, (msg) => {
    lastCloudStamp = Math.max(lastCloudStamp, stampToSeconds(msg.header.stamp));
    publishStatus();
  });
  const timer = node.createTimer(p.status_period, () => {
    publishStatus();
    beatPub.publish({});
  });
  publishStatus(true);
  beatPub.publish({});
  const diag = diagnosticsTimer(node, () => {
    const c = current(node.now());
    return status(c.state === 'ok' ? 'OK' : c.state === 'e_stop' ? 'ERROR' : 'WARN', `pamstack/${name}`, c.why, {
      state: c.state,
      refusals,
      ...(lastRefusal ? { last_refusal: lastRefusal } : {}),
    });
  });

  return {
    node,
    state: () => current(node.now()).state,
    async shutdown() {
      timer.cancel();
      diag.cancel();
      node.destroy();
    },
  };
}
