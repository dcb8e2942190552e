// sim bridge: runs a simulated World (MuJoCo, sim/) as if it were the robot and its camera: publishes
// the camera's PointCloud2 (sensor-data QoS) and executes primitives from the motion-layer topics.
import { packPointCloud2 } from '../../src/cloud/pointcloud2.ts';
import { TaskNameSchema, type TaskName } from '../../src/core/task.ts';
import { PrimitiveRefusedError, type World } from '../../src/core/world.ts';
import { EPISODE_TOPICS, markerToPrimitive, QOS, stepStatus, type PointCloud2 } from '../../src/record/index.ts';
import type { ParamSpec, ParamValues, RosPort } from '../port.ts';
import { diagnosticsTimer, status, type PamstackNode } from './common.ts';

export const SIM_BRIDGE_PARAMS = {
  task: { type: 'string', description: 'task to simulate: rope-<shape>, granular-t or cloth-unfold', default: 'rope-circle', readOnly: true },
  seed: { type: 'integer', description: 'seed of the first episode (episode k uses seed + k)', default: 0, range: { from: 0, to: 2147483647 } },
  camera_topic: { type: 'string', description: 'PointCloud2 topic of the virtual camera', default: 'camera/points', readOnly: true },
  camera_rate: { type: 'double', description: 'clouds per second', default: 5, range: { from: 0.1, to: 60 } },
  motion_topic: { type: 'string', description: 'goal topic it executes (Marker)', default: 'motion/primitive', readOnly: true },
  result_topic: { type: 'string', description: 'result topic (DiagnosticStatus)', default: 'motion/result', readOnly: true },
  hold_topic: { type: 'string', description: 'hold topic (Empty)', default: 'motion/hold', readOnly: true },
  auto_reset: { type: 'bool', description: 'start the next episode on success or at the step limit', default: true },
} as const satisfies ParamSpec;
export type SimBridgeParams = ParamValues<typeof SIM_BRIDGE_PARAMS>;

function fmtMetrics(m: Record<string, number | undefined>): string {
  return Object.entries(m)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${(v as number).toFixed(3)}`)
    .join(', ');
}

export const SIM_TOPICS = { reset: 'sim/reset' } as const;
/** std_msgs/Empty published when an episode ends (the preference bridge closes its bag). */
export const EPISODE_END_TOPIC = 'episode/end';

/** Builds the world; the entry point passes sim/'s createWorld (so ros/ tests can pass their own). */
export type WorldFactory = (task: TaskName) => Promise<World>;

/**
 * Starts the bridge. Clouds are not published while a primitive runs (the arm is in view on a real
 * robot too); a hold request during a motion is answered after the current primitive, since the
 * simulated motion is not interruptible.
 */
export async function startSimBridge(
  port: RosPort,
  createWorld: WorldFactory,
  name = 'sim_bridge',
  namespace = '',
): Promise<PamstackNode & { world: World; episode: () => number; steps: () => number }> {
  const node = port.createNode(name, namespace);
  let p = node.declareParameters(SIM_BRIDGE_PARAMS, (next) => {
    p = next;
  });
  const task = TaskNameSchema.safeParse(p.task);
  if (!task.success) throw new Error(`${name}: parameter task: ${task.error.issues[0]!.message}, received ${JSON.stringify(p.task)}`);
  const world = await createWorld(task.data);
  let episode = 0;
  let steps = 0;
  world.reset(p.seed);
  const cloudPub = node.createPublisher('sensor_msgs/msg/PointCloud2', p.camera_topic, QOS.sensorData);
  const resultPub = node.createPublisher('diagnostic_msgs/msg/DiagnosticStatus', p.result_topic, QOS.default);
  const metricsPub = node.createPublisher(EPISODE_TOPICS.stepMetrics.type, EPISODE_TOPICS.stepMetrics.name, EPISODE_TOPICS.stepMetrics.qos);
  const endPub = node.createPublisher('std_msgs/msg/Empty', EPISODE_END_TOPIC, QOS.command);
  let executing = false;
  let running: Promise<unknown> = Promise.resolve();
  let frame = 0;
  let stopped = false;

  const publishCloud = (): void => {
    if (executing || stopped) return;
    const cloud = world.observe({ seed: frame++ });
    cloudPub.publish(packPointCloud2({ ...cloud, stamp: node.now() }) as PointCloud2);
  };
  const reset = (why: string): void => {
    endPub.publish({});
    episode++;
    steps = 0;
    world.reset(p.seed + episode);
    node.logger.info(`episode ${episode} (seed ${p.seed + episode}): ${why}`);
  };

  node.createSubscription('visualization_msgs/msg/Marker', p.motion_topic, QOS.command, (m) => {
    let goal;
    try {
      goal = markerToPrimitive(m);
    } catch (e) {
      node.logger.error(`dropped a malformed goal: ${(e as Error).message}`);
      return;
    }
    const decision = goal.meta.decision;
    const hw = `decision:${decision}`;
    if (executing) {
      resultPub.publish(status('ERROR', 'pamstack/sim', 'busy', { decision }, hw));
      return;
    }
    const why = world.checkPrimitive(goal.primitive);
    if (why) {
      resultPub.publish(status('ERROR', 'pamstack/sim', `refused: ${why}`, { decision }, hw));
      return;
    }
    executing = true;
    running = world
      .execute(goal.primitive)
      .then((r) => {
        steps++;
        const metrics = world.metrics();
        const success = world.success();
        resultPub.publish(status('OK', 'pamstack/sim', 'done', { decision, duration_s: r.duration, wall_s: r.wall }, hw));
        metricsPub.publish(stepStatus(decision, metrics, success));
        node.logger.info(`decision ${decision}: ${goal.primitive.kind} done in ${r.duration.toFixed(2)} s sim (${r.wall.toFixed(2)} s wall); ${fmtMetrics(metrics)}${success ? '; success' : ''}`);
        if (p.auto_reset && (success || steps >= world.stepLimit)) reset(success ? 'success' : `step limit ${world.stepLimit}`);
      })
      .catch((e: unknown) => {
        const msg = e instanceof PrimitiveRefusedError ? `refused (${e.bound}): ${e.message}` : `failed: ${(e as Error).message}`;
        resultPub.publish(status('ERROR', 'pamstack/sim', msg, { decision }, hw));
      })
      .finally(() => {
        executing = false;
      });
  });
  node.createSubscription('std_msgs/msg/Empty', p.hold_topic, QOS.command, () => {
    node.logger.warn(executing ? 'hold: the simulated primitive finishes, then the world holds' : 'hold');
  });
  node.createSubscription('std_msgs/msg/Empty', SIM_TOPICS.reset, QOS.command, () => reset('reset requested'));
  const timer = node.createTimer(1 / p.camera_rate, publishCloud);
  const diag = diagnosticsTimer(node, () =>
    status('OK', `pamstack/${name}`, executing ? 'executing a primitive' : 'idle', { state: executing ? 'executing' : 'idle', episode, steps }),
  );

  return {
    node,
    world,
    episode: () => episode,
    steps: () => steps,
    async shutdown() {
      stopped = true;
      timer.cancel();
      diag.cancel();
      await running; // never free MuJoCo memory under a running primitive
      node.destroy();
      world.dispose();
    },
  };
}
