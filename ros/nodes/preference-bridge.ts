// preference bridge: records what the robot (or sim bridge) saw, proposed and did. Every decision's
// cloud and candidates become a rank item in the annotation store (src/store, what `pamstack serve`
// shows annotators: a local file, or a remote server the items are pushed to), and every episode is
// written as a ROS 2 MCAP bag (src/record) for training.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { unpackPointCloud2 } from '../../src/cloud/pointcloud2.ts';
import type { PointCloud } from '../../src/core/pointcloud.ts';
import { TaskNameSchema, taskFamily, FAMILY_PRIMITIVE, type TaskName } from '../../src/core/task.ts';
import {
  absoluteTopic,
  EPISODE_TOPICS,
  markerArrayToCandidates,
  QOS,
  Ros2BagWriter,
  timeToNanoseconds,
  type PointCloud2,
} from '../../src/record/index.ts';
import type { Store } from '../../src/store/store.ts';
import { ItemPushClient, pushEndpoint, readTokenFile } from '../../src/store/item-push-client.ts';
import { makeRankItem } from '../../src/store/items.ts';
import type { ParamSpec, ParamValues, RosNode, RosPort } from '../port.ts';
import { EPISODE_END_TOPIC } from './sim-bridge.ts';
import { diagnosticsTimer, status, WORKSPACE_PARAMS, workspaceFrom, type PamstackNode } from './common.ts';

/** The entry stamped within 1 µs of `ns` (stamps pass through float seconds in the stack). */
function near<T>(m: Map<bigint, T>, ns: bigint): T | undefined {
  for (const [k, v] of m) if (k - ns <= 1000n && ns - k <= 1000n) return v;
  return undefined;
}

export const PREFERENCE_BRIDGE_PARAMS = {
  task: { type: 'string', description: 'task name stored with each rank item', default: 'rope-circle', readOnly: true },
  output_dir: { type: 'string', description: 'episode bags go here (empty = no bags)', default: 'runs/robot-episodes', readOnly: true },
  db: { type: 'string', description: 'annotation store (SQLite) to add rank items to (empty = none)', default: '', readOnly: true },
  push_url: { type: 'string', description: 'URL of a pamstack serve to push rank items to (empty = none); needs token_file', default: '', readOnly: true },
  token_file: { type: 'string', description: "file holding this cell's robot token (pamstack users add --role robot)", default: '', readOnly: true },
  cell: { type: 'string', description: 'name of this robot cell in item ids (empty = the namespace, else the host name)', default: '', readOnly: true },
  min_annotations: { type: 'integer', description: 'answers after which an item leaves the queue', default: 3, range: { from: 1, to: 100 } },
  ...WORKSPACE_PARAMS,
} as const satisfies ParamSpec;
export type PreferenceBridgeParams = ParamValues<typeof PREFERENCE_BRIDGE_PARAMS>;

/** How long shutdown waits for undelivered items (ros2 launch escalates to SIGTERM after 5 s; the whole node set gets 4 s). */
const PUSH_FLUSH_MS = 2000;

/** The push client of push_url, reading token_file; a bad value stops the node naming the parameter. */
function openPush(name: string, url: string, tokenFile: string, logger: RosNode['logger']): ItemPushClient {
  if (!tokenFile) throw new Error(`${name}: parameter token_file: needed with push_url (a file holding a robot token; never a parameter value)`);
  let token: string;
  try {
    pushEndpoint(url, 'push_url');
    token = readTokenFile(tokenFile, 'token_file');
  } catch (e) {
    throw new Error(`${name}: parameter ${(e as Error).message}`);
  }
  let last: string | null = null;
  return new ItemPushClient({
    url,
    token,
    onRetry: (error, delayMs) => {
      // Once per kind of failure, not once per retry.
      if (error !== last) logger.warn(`push: ${error}; retrying (next in ${(delayMs / 1000).toFixed(1)} s), items queue meanwhile`);
      last = error;
    },
    onRejected: (id, error) => logger.error(`push: ${id} refused by the server, dropped: ${error}`),
  });
}

/** The cell name in item ids: the parameter, else the namespace, else the host name ([A-Za-z0-9_.-]). */
function cellName(name: string, param: string, namespace: string): string {
  if (param && !/^[A-Za-z0-9_.-]{1,64}$/.test(param)) throw new Error(`${name}: parameter cell: expected 1–64 characters of A–Z a–z 0–9 _ . -, received ${JSON.stringify(param)}`);
  return param || namespace.replace(/^\/+|\/+$/g, '').replace(/\//g, '.') || hostname().replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 64);
}

/** Opens the store; the entry point passes src/store's Store (tests may pass a temp one). */
export type StoreFactory = (path: string) => Store;

export async function startPreferenceBridge(
  port: RosPort,
  openStore: StoreFactory | null,
  name = 'preference_bridge',
  namespace = '',
): Promise<PamstackNode & { bags: () => string[]; items: () => number }> {
  const node = port.createNode(name, namespace);
  const p = node.declareParameters(PREFERENCE_BRIDGE_PARAMS);
  const task = TaskNameSchema.safeParse(p.task);
  if (!task.success) throw new Error(`${name}: parameter task: ${task.error.issues[0]!.message}, received ${JSON.stringify(p.task)}`);
  const workspace = workspaceFrom(name, p.workspace_min, p.workspace_max);
  if (!p.push_url && p.token_file) throw new Error(`${name}: parameter token_file: only used with push_url`);
  // Item ids unique across cells and restarts: the cell, a random id of this start, a count.
  const source = `${cellName(name, p.cell, namespace)}/${randomBytes(6).toString('hex')}`;
  const push = p.push_url ? openPush(name, p.push_url, p.token_file, node.logger) : null;
  const store = p.db && openStore ? openStore(p.db) : null;
  if (p.db && !openStore) node.logger.warn(`db ${p.db} given but no store is available; rank items are not stored`);
  if (p.output_dir) await mkdir(p.output_dir, { recursive: true });
  const run = `${Math.round(node.now() * 1000)}`;

  const topics = [EPISODE_TOPICS.objectCloud, EPISODE_TOPICS.candidates, EPISODE_TOPICS.executed, EPISODE_TOPICS.stepMetrics];
  let bag: Ros2BagWriter | null = null;
  let bagFile = '';
  let episode = 0;
  let items = 0;
  const bags: string[] = [];
  const clouds = new Map<bigint, PointCloud>(); // recent clouds by stamp, to pair with candidates
  const rawClouds = new Map<bigint, PointCloud2>();
  let chain: Promise<unknown> = Promise.resolve();
  let endRequested = false;

  const openBag = async (): Promise<Ros2BagWriter | null> => {
    if (!p.output_dir) return null;
    if (bag) return bag;
    bagFile = join(p.output_dir, `${task.data}_${run}_ep${String(episode++).padStart(3, '0')}.mcap`);
    bag = await Ros2BagWriter.create(bagFile, { distro: port.distro });
    await Promise.all(topics.map((t) => bag!.addTopic({ topic: absoluteTopic(t.name, namespace), type: t.type, qos: t.qos })));
    return bag;
  };
  const closeBag = async (): Promise<void> => {
    if (!bag) return;
    const b = bag;
    bag = null;
    await b.close();
    bags.push(bagFile);
    node.logger.info(`episode bag written: ${bagFile}`);
  };
  const serial = (fn: () => Promise<unknown>): void => {
    chain = chain.then(fn).catch((e: unknown) => node.logger.error(`recording failed: ${(e as Error).message}`));
  };
  const record = (topic: string, msg: unknown): void =>
    serial(async () => {
      const b = await openBag();
      const t = BigInt(Math.round(node.now() * 1e9));
      await b?.write(absoluteTopic(topic, namespace), msg, { logTime: t });
    });

  node.createSubscription(EPISODE_TOPICS.objectCloud.type, EPISODE_TOPICS.objectCloud.name, QOS.sensorData, (msg) => {
    record(EPISODE_TOPICS.objectCloud.name, msg);
    try {
      const ns = timeToNanoseconds(msg.header.stamp);
      clouds.set(ns, unpackPointCloud2(msg, { frame: 'table' }));
      rawClouds.set(ns, msg);
      while (clouds.size > 50) clouds.delete(clouds.keys().next().value!);
      while (rawClouds.size > 50) rawClouds.delete(rawClouds.keys().next().value!);
    } catch (e) {
      node.logger.error(`dropped a malformed cloud: ${(e as Error).message}`);
    }
  });
  node.createSubscription(EPISODE_TOPICS.candidates.type, EPISODE_TOPICS.candidates.name, QOS.default, (msg) => {
    if (endRequested) {
      // The last decision's executed primitive and metrics arrive after the end signal (they take
      // the executor's hop), so an episode's bag closes when the next episode's first decision comes.
      endRequested = false;
      serial(closeBag);
      const cloud = near(rawClouds, timeToNanoseconds(msg.markers[0]?.header.stamp ?? { sec: 0, nanosec: 0 }));
      if (cloud) record(EPISODE_TOPICS.objectCloud.name, cloud); // the new bag gets the decision's cloud too
    }
    record(EPISODE_TOPICS.candidates.name, msg);
    if (!store && !push) return;
    try {
      const d = markerArrayToCandidates(msg);
      if (!d || d.candidates.length < 2) return; // nothing to rank
      const cloud = near(clouds, timeToNanoseconds(msg.markers[0]!.header.stamp));
      if (!cloud) return node.logger.warn(`decision ${d.decision}: its cloud was not received; no rank item`);
      // The bridge's own count keeps ids unique when the policy restarts its decision numbers.
      const stateId = `${source}/${items}:${d.decision}`;
      const item = makeRankItem({ stateId, task: task.data as TaskName, primitive: FAMILY_PRIMITIVE[taskFamily(task.data)], cloud, candidates: d.candidates, workspace });
      items++;
      if (push && !push.push(item, { minAnnotations: p.min_annotations }))
        node.logger.error(`rank item ${item.id} not pushed: ${push.summary().pending} items wait for ${p.push_url} already (the queue is full)`);
      store?.addItem(item, { minAnnotations: p.min_annotations });
    } catch (e) {
      node.logger.error(`rank item not stored: ${(e as Error).message}`);
    }
  });
  node.createSubscription(EPISODE_TOPICS.executed.type, EPISODE_TOPICS.executed.name, QOS.command, (msg) =>
    record(EPISODE_TOPICS.executed.name, msg),
  );
  node.createSubscription(EPISODE_TOPICS.stepMetrics.type, EPISODE_TOPICS.stepMetrics.name, QOS.default, (msg) => {
    record(EPISODE_TOPICS.stepMetrics.name, msg);
    if (msg.values.some((v) => v.key === 'success' && v.value === 'true')) endRequested = true;
  });
  node.createSubscription('std_msgs/msg/Empty', EPISODE_END_TOPIC, QOS.command, () => {
    endRequested = true;
  });

  const diag = diagnosticsTimer(node, () => {
    const values = { state: bag ? 'recording' : 'idle', bags: bags.length, rank_items: items, store: store ? p.db : 'none' };
    if (!push) return status('OK', `pamstack/${name}`, bag ? `recording ${bagFile}` : 'idle', values);
    const s = push.summary();
    const level = s.stopped ? 'ERROR' : s.error ? 'WARN' : 'OK';
    const message = s.stopped || s.error ? `push: ${s.error}` : bag ? `recording ${bagFile}` : 'idle';
    return status(level, `pamstack/${name}`, message, { ...values, push_url: p.push_url, push_pending: s.pending, push_added: s.added, push_dropped: s.dropped });
  });

  return {
    node,
    bags: () => [...bags],
    items: () => items,
    async shutdown() {
      diag.cancel();
      node.destroy();
      serial(closeBag);
      await chain;
      store?.close();
      if (push) {
        const s = await push.close(PUSH_FLUSH_MS);
        if (s.pending) node.logger.error(`${s.pending} rank items not delivered to ${p.push_url} (${s.error}); they are lost unless db keeps a local copy`);
      }
    },
  };
}
