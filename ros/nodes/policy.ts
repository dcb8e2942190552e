// policy node: on a new object cloud (or on request) runs the decider (propose N, score, select the best
// safe one), publishes the candidates as a MarkerArray coloured by score and the chosen primitive. A thin
// wrapper over the one `decide` stage that `pamstack eval` runs.
import { unpackPointCloud2 } from '../../src/cloud/pointcloud2.ts';
import type { PointCloud } from '../../src/core/pointcloud.ts';
import { FAMILY_PRIMITIVE, taskFamily, TaskNameSchema, type TaskName } from '../../src/core/task.ts';
import type { Decider } from '../../src/stack/decider.ts';
import { describeSpec } from '../../src/stack/decider-spec.ts';
import { candidatesToMarkerArray, EPISODE_TOPICS, primitiveToMarker, QOS, RosMessageCodec, type DiagnosticStatus } from '../../src/record/index.ts';
import type { ParamSpec, ParamValues, RosPort } from '../port.ts';
import { decisionOf, diagnosticsTimer, status, WORKSPACE_PARAMS, workspaceFrom, type PamstackNode } from './common.ts';

/** Topics of the policy node besides the episode topics (relative names). */
export const POLICY_TOPICS = {
  request: 'policy/request',
  chosen: 'policy/chosen',
  status: 'policy/status',
  executorResult: 'executor/result',
  refusal: 'safety/refusal',
} as const;

export const POLICY_PARAMS = {
  task: { type: 'string', description: 'task (fixes the primitive kind): rope-<shape>, granular-t, cloth-unfold', default: 'rope-circle', readOnly: true },
  policy: { type: 'string', description: 'the decider: a policies/<task> folder (its default.json: policy, reward, N, LCB), a policy checkpoint, random, expert (in-process sim only) or module:<path> exporting createPolicyStages', default: 'random', readOnly: true },
  num_candidates: { type: 'integer', description: "candidates sampled per decision (N); 0 keeps the policy folder's", default: 0, range: { from: 0, to: 256 }, readOnly: true },
  select: { type: 'string', description: "ras | first | random; empty keeps the policy folder's", default: '', readOnly: true },
  auto: { type: 'bool', description: 'decide on every new cloud when idle (false: only on policy/request)', default: true },
  min_interval: { type: 'double', description: 'least time between decisions, s', default: 0, range: { from: 0, to: 3600 } },
  result_timeout: { type: 'double', description: 'wait this long for the executor result before deciding again, s', default: 120, range: { from: 0.1, to: 3600 } },
  ...WORKSPACE_PARAMS,
  table_z: { type: 'double', description: 'table surface height, m', default: 0, range: { from: -2, to: 2 } },
  table_clearance: { type: 'double', description: 'least height of action points above the table, m', default: 0, range: { from: 0, to: 0.5 } },
  lcb: { type: 'double', description: "rank by score - lcb * std (0 ranks by the mean); negative keeps the policy folder's", default: -1, range: { from: -1, to: 10 }, readOnly: true },
  seed: { type: 'integer', description: 'seed of the first decision (decision k uses seed + k)', default: 0, range: { from: 0, to: 2147483647 } },
  marker_lifetime: { type: 'double', description: 'candidate markers vanish after this long, s (0 = never)', default: 0, range: { from: 0, to: 3600 } },
} as const satisfies ParamSpec;
export type PolicyParams = ParamValues<typeof POLICY_PARAMS>;

/**
 * Starts the node. Subscription callbacks only store the latest cloud and schedule a decision on a
 * later turn of the event loop; one decision runs at a time (the latest cloud wins), and after a
 * chosen primitive the node waits for the executor's result (or a safety refusal) before the next.
 * Inference shares this process's thread, but this process runs only the policy node, so it cannot
 * starve the safety supervisor or executor bridge (separate processes under ros2 launch).
 */
export async function startPolicy(
  port: RosPort,
  deciderFor: (p: PolicyParams) => Promise<Decider>,
  name = 'policy',
  namespace = '',
): Promise<PamstackNode & { decisions: () => number; idle: () => Promise<void> }> {
  const node = port.createNode(name, namespace);
  const markerCodec = RosMessageCodec.for(port.distro);
  let p = node.declareParameters(POLICY_PARAMS, (next) => {
    workspaceFrom(name, next.workspace_min, next.workspace_max);
    p = next;
  });
  workspaceFrom(name, p.workspace_min, p.workspace_max);
  if (!TaskNameSchema.safeParse(p.task).success) throw new Error(`${name}: parameter task: expected rope-<shape>, granular-t or cloth-unfold, received ${JSON.stringify(p.task)}`);
  const decider = await deciderFor(p);
  const kind = FAMILY_PRIMITIVE[taskFamily(p.task as TaskName)];
  node.logger.info(`decider ${decider.name}: ${JSON.stringify(describeSpec(decider.spec))}`);
  const candidatesPub = node.createPublisher(EPISODE_TOPICS.candidates.type, EPISODE_TOPICS.candidates.name, EPISODE_TOPICS.candidates.qos);
  const chosenPub = node.createPublisher('visualization_msgs/msg/Marker', POLICY_TOPICS.chosen, QOS.command);
  const statusPub = node.createPublisher('diagnostic_msgs/msg/DiagnosticStatus', POLICY_TOPICS.status, QOS.latched);

  let latest: PointCloud | null = null;
  let lastUsedStamp = -Infinity;
  let requested = false;
  let busy: Promise<void> | null = null;
  let awaiting: { decision: number; since: number } | null = null;
  let lastDecisionAt = -Infinity;
  let decisions = 0;
  let stopped = false;
  let lastDecisionS: number | null = null;
  let lastHold: string | null = null;

  const report = (level: 'OK' | 'WARN' | 'ERROR', message: string, values: Record<string, string | number> = {}) =>
    statusPub.publish(status(level, 'pamstack/policy', message, { decider: decider.name, candidates: decider.spec.candidates, ...values }));

  const decide = async (cloud: PointCloud): Promise<void> => {
    const decision = decisions++;
    const seed = p.seed + decision;
    const workspace = workspaceFrom(name, p.workspace_min, p.workspace_max);
    const d = await decider.decide(cloud, { workspace, kind, seed, safety: { table: { z: p.table_z, clearance: p.table_clearance } } });
    if (stopped) return;
    candidatesPub.publish(candidatesToMarkerArray(markerCodec, d.candidates, d.chosen, { decision, stamp: cloud.stamp, lifetime: p.marker_lifetime }));
    if (d.chosen === null) {
      lastHold = d.holdReason ?? 'hold';
      report('WARN', d.holdReason ?? 'hold', { decision });
      return;
    }
    const c = d.candidates[d.chosen]!;
    const meta: { decision: number; candidate: number; score?: number } = { decision, candidate: d.chosen };
    if (c.score !== undefined) meta.score = c.score;
    chosenPub.publish(primitiveToMarker(markerCodec, c.primitive, meta, { stamp: cloud.stamp }));
    awaiting = { decision, since: node.now() };
    node.logger.info(`decision ${decision}: chose candidate ${d.chosen} of ${d.candidates.length} (score ${c.score ?? 'n/a'})`);
    report('OK', `decision ${decision}: candidate ${d.chosen} of ${d.candidates.length}`, { decision, decide_ms: Math.round(d.timings.total) });
  };

  const maybeDecide = (): void => {
    if (stopped || busy || !latest) return;
    if (awaiting && node.now() - awaiting.since < p.result_timeout) return;
    if (awaiting) {
      report('WARN', `no executor result for decision ${awaiting.decision} within ${p.result_timeout} s; deciding again`);
      awaiting = null;
    }
    const fresh = latest.stamp > lastUsedStamp;
    if (!(requested || (p.auto && fresh))) return;
    if (node.now() - lastDecisionAt < p.min_interval) return;
    const cloud = latest;
    requested = false;
    lastUsedStamp = cloud.stamp;
    lastDecisionAt = node.now();
    const t0 = performance.now();
    busy = decide(cloud)
      .catch((e: unknown) => {
        node.logger.error(`decision failed: ${(e as Error).message}`);
        report('ERROR', `decision failed: ${(e as Error).message}`);
      })
      .finally(() => {
        lastDecisionS = (performance.now() - t0) / 1000;
        busy = null;
        setImmediate(maybeDecide);
      });
  };
  const schedule = (): void => void setImmediate(maybeDecide);

  const cloudTopic = EPISODE_TOPICS.objectCloud;
  node.createSubscription(cloudTopic.type, cloudTopic.name, QOS.sensorData, (msg) => {
    try {
      latest = unpackPointCloud2(msg, { frame: 'table' });
    } catch (e) {
      node.logger.error(`${cloudTopic.name}: dropped a malformed cloud: ${(e as Error).message}`);
      return;
    }
    schedule();
  });
  node.createSubscription('std_msgs/msg/Empty', POLICY_TOPICS.request, QOS.command, () => {
    requested = true;
    schedule();
  });
  const done = (s: DiagnosticStatus): void => {
    if (awaiting && decisionOf(s) === awaiting.decision) {
      awaiting = null;
      // The world has changed (or the decision was refused): decide only on a cloud taken from now on.
      lastUsedStamp = Math.max(lastUsedStamp, node.now());
      schedule();
    }
  };
  node.createSubscription('diagnostic_msgs/msg/DiagnosticStatus', POLICY_TOPICS.executorResult, QOS.default, done);
  node.createSubscription('diagnostic_msgs/msg/DiagnosticStatus', POLICY_TOPICS.refusal, QOS.default, done);
  const timer = node.createTimer(0.5, maybeDecide); // re-checks timeouts and min_interval
  report('OK', 'ready');
  const diag = diagnosticsTimer(node, () =>
    status(lastHold ? 'WARN' : 'OK', `pamstack/${name}`, busy ? 'deciding' : awaiting ? `waiting for the result of decision ${awaiting.decision}` : lastHold ? `last decision held: ${lastHold}` : 'ready', {
      state: busy ? 'deciding' : awaiting ? 'awaiting_result' : 'idle',
      decisions,
      ...(Number.isFinite(lastDecisionAt) ? { last_decision_time: +lastDecisionAt.toFixed(3) } : {}),
      ...(lastDecisionS !== null ? { last_decision_duration_s: +lastDecisionS.toFixed(3) } : {}),
      ...(lastHold ? { last_hold: lastHold } : {}),
    }),
  );

  return {
    node,
    decisions: () => decisions,
    idle: async () => {
      while (busy) await busy;
    },
    async shutdown() {
      stopped = true;
      timer.cancel();
      diag.cancel();
      await busy;
      decider.dispose();
      node.destroy();
    },
  };
}
