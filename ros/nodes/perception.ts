// perception node: camera PointCloud2s (sensor-data QoS) → fused in the table frame → preprocessed
// object cloud. A thin wrapper over src/cloud (cameraCloudToTableBox, preprocessChain); extrinsics from TF or a parameter.
import { cameraCloudToTableBox } from '../../src/cloud/camera-to-table.ts';
import { packPointCloud2, stampToSeconds, validatePointCloud2 } from '../../src/cloud/pointcloud2.ts';
import { preprocessChain, type PreprocessParamsInput } from '../../src/cloud/preprocess.ts';
import { FieldError } from '../../src/core/errors.ts';
import type { FrameName } from '../../src/core/geometry.ts';
import { EPISODE_TOPICS, QOS, type PointCloud2 } from '../../src/record/index.ts';
import type { ParamSpec, ParamValues, RosPort } from '../port.ts';
import { publishStaticTransform, TfBuffer, transformFromXyzRpy } from '../tf.ts';
import { diagnosticsTimer, status, WORKSPACE_PARAMS, workspaceFrom, type PamstackNode } from './common.ts';

const IDENTITY = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

export const PERCEPTION_PARAMS = {
  camera_topics: {
    type: 'string_array',
    description: 'sensor_msgs/PointCloud2 topics, one per camera (subscribed best effort)',
    default: ['camera/points'],
    length: [1, 8],
  },
  camera_frames: {
    type: 'string_array',
    description: 'frame of each camera cloud: camera_<name>, or table for a cloud already in the table frame',
    default: ['table'],
    length: [1, 8],
  },
  camera_extrinsics: {
    type: 'double_array',
    description: '16 numbers per camera: row-major 4x4 transform camera -> table (metres)',
    default: IDENTITY,
    length: [16, 128],
    range: { from: -100, to: 100 },
  },
  extrinsics_source: {
    type: 'string',
    description: 'tf: camera -> table from /tf and /tf_static (by each cloud header frame_id); parameter: camera_extrinsics (setups without TF)',
    default: 'parameter',
    oneOf: ['tf', 'parameter'],
    readOnly: true,
  },
  tf_max_age: { type: 'double', description: 'a dynamic transform older than this blocks the object cloud, s', default: 0.5, range: { from: 0.01, to: 60 } },
  table_parent_frame: { type: 'string', description: 'publish the table frame in this frame on /tf_static (empty = another node does)', default: '', readOnly: true },
  table_in_parent: {
    type: 'double_array',
    description: 'table pose in table_parent_frame: x, y, z (m), roll, pitch, yaw (rad)',
    default: [0, 0, 0, 0, 0, 0],
    length: 6,
    range: { from: -100, to: 100 },
    readOnly: true,
  },
  fuse_tolerance: { type: 'double', description: 'largest stamp difference of fused clouds, s', default: 0.05, range: { from: 0, to: 1 } },
  ...WORKSPACE_PARAMS,
  plane_distance: { type: 'double', description: 'RANSAC table-plane threshold, m (0 = keep the plane)', default: 0.01, range: { from: 0, to: 0.1 } },
  voxel_size: { type: 'double', description: 'voxel edge, m (0 = no downsampling)', default: 0.005, range: { from: 0, to: 0.1 } },
  outlier_neighbors: { type: 'integer', description: 'statistical outlier removal k (0 = off)', default: 20, range: { from: 0, to: 200 } },
  outlier_std: { type: 'double', description: 'outlier std ratio', default: 2, range: { from: 0, to: 10 } },
  num_points: { type: 'integer', description: 'farthest-point sample size (0 = keep all)', default: 3000, range: { from: 0, to: 100000 } },
  min_points: { type: 'integer', description: 'publish nothing below this many object points', default: 50, range: { from: 0, to: 100000 } },
  seed: { type: 'integer', description: 'seeds RANSAC and FPS', default: 0, range: { from: 0, to: 2147483647 } },
} as const satisfies ParamSpec;

export type PerceptionParams = ParamValues<typeof PERCEPTION_PARAMS>;

const FRAME_RE = /^(table|camera_[A-Za-z0-9_]+)$/;

/** Checks the per-camera parameters agree in count and form; throws naming the parameter. */
export function cameraViewsSpec(p: PerceptionParams): { topic: string; frame: FrameName; matrix: Float64Array }[] {
  const n = p.camera_topics.length;
  if (p.camera_frames.length !== n)
    throw new FieldError('perception.camera_frames', `${n} frames (one per camera topic)`, p.camera_frames.length);
  const fromTf = p.extrinsics_source === 'tf';
  if (!fromTf && p.camera_extrinsics.length !== 16 * n)
    throw new FieldError('perception.camera_extrinsics', `16 · ${n} = ${16 * n} numbers (one 4x4 per camera)`, p.camera_extrinsics.length);
  return p.camera_topics.map((topic, i) => {
    const frame = p.camera_frames[i]!;
    if (!FRAME_RE.test(frame)) throw new FieldError(`perception.camera_frames[${i}]`, 'table or camera_<name>', frame);
    return { topic, frame: frame as FrameName, matrix: Float64Array.from(fromTf ? IDENTITY : p.camera_extrinsics.slice(16 * i, 16 * i + 16)) };
  });
}

/** The src/cloud chain parameters from the node's parameters. */
export function preprocessFrom(p: PerceptionParams): PreprocessParamsInput {
  return {
    box: workspaceFrom('perception', p.workspace_min, p.workspace_max),
    plane: p.plane_distance > 0 ? { distanceThreshold: p.plane_distance } : null,
    voxel: p.voxel_size > 0 ? { voxelSize: p.voxel_size } : null,
    outliers: p.outlier_neighbors > 0 ? { neighbors: p.outlier_neighbors, stdRatio: p.outlier_std } : null,
    fps: p.num_points > 0 ? { k: p.num_points } : null,
    seed: p.seed,
  };
}

/**
 * Starts the node. Each camera keeps its latest cloud; a new cloud schedules one fuse+preprocess
 * pass on the next turn of the event loop (bursts coalesce: latest wins), so callbacks return at once.
 */
export function startPerception(port: RosPort, name = 'perception', namespace = ''): PamstackNode & { processed: () => number } {
  const node = port.createNode(name, namespace);
  let p = node.declareParameters(PERCEPTION_PARAMS, (next) => {
    cameraViewsSpec(next);
    preprocessFrom(next);
    p = next;
  });
  const cams = cameraViewsSpec(p);
  preprocessFrom(p);
  const pub = node.createPublisher(EPISODE_TOPICS.objectCloud.type, EPISODE_TOPICS.objectCloud.name, EPISODE_TOPICS.objectCloud.qos);
  // Each camera's latest message, kept raw: unpacking, moving into the table frame and cropping
  // happen in one pass when a fused cloud is made (src/cloud/camera-to-table.ts).
  const latest: (PointCloud2 | null)[] = cams.map(() => null);
  const tf = p.extrinsics_source === 'tf' ? new TfBuffer().listen(node) : null;
  if (p.table_parent_frame) publishStaticTransform(node, p.table_parent_frame, 'table', transformFromXyzRpy(p.table_in_parent));
  let scheduled = false;
  let stopped = false;
  let processed = 0;
  let lastMs: number | null = null;
  let lastAge: number | null = null;
  let lastProblem: string | null = null;
  const problem = (why: string): void => {
    if (why !== lastProblem) node.logger.warn(why);
    lastProblem = why;
  };

  const run = (): void => {
    scheduled = false;
    if (stopped) return;
    const t0 = performance.now();
    const msgs = latest.filter((m): m is PointCloud2 => m !== null);
    if (msgs.length < cams.length) return; // wait until every camera has sent a cloud
    // Fuse only clouds close in time: the newest stamp is the reference (src/cloud/fusion.ts's rule).
    const stamps = latest.map((m) => stampToSeconds(m!.header.stamp));
    const ref = Math.max(...stamps);
    if (stamps.some((t) => ref - t > p.fuse_tolerance)) return;
    try {
      const box = workspaceFrom(name, p.workspace_min, p.workspace_max);
      const parts: Float32Array[] = [];
      for (let i = 0; i < cams.length; i++) {
        const c = cams[i]!;
        const msg = latest[i]!;
        let matrix: Float64Array = c.matrix;
        if (tf) {
          // No transform, no cloud: the policy must not act on points placed by a guess.
          const t = tf.lookup('table', msg.header.frame_id, node.now(), p.tf_max_age);
          if (!t.ok) return problem(`camera ${c.topic}: no transform table <- ${msg.header.frame_id}: ${t.reason}; no object cloud until it is back`);
          matrix = t.matrix;
        }
        parts.push(cameraCloudToTableBox(msg, matrix, box));
      }
      const all = parts.length === 1 ? parts[0]! : concat(parts);
      const r = preprocessChain(all, { ...preprocessFrom(p), box: null });
      if (r.points.length / 3 < p.min_points) return problem(`object cloud has ${r.points.length / 3} points (< min_points ${p.min_points}); not published`);
      pub.publish(packPointCloud2({ points: r.points, frame: 'table', stamp: ref }) as PointCloud2);
      processed++;
      lastMs = performance.now() - t0;
      // Age at publication: camera stamp → object cloud out (what safety's stale_cloud_timeout sees, minus transport).
      lastAge = node.now() - ref;
      lastProblem = null;
    } catch (e) {
      lastProblem = `perception failed: ${(e as Error).message}`;
      node.logger.error(lastProblem);
    }
  };

  cams.forEach((c, i) => {
    node.createSubscription('sensor_msgs/msg/PointCloud2', c.topic, QOS.sensorData, (msg) => {
      try {
        validatePointCloud2(msg);
      } catch (e) {
        node.logger.error(`${c.topic}: dropped a malformed cloud: ${(e as Error).message}`);
        return;
      }
      latest[i] = msg;
      if (!scheduled) {
        scheduled = true;
        setImmediate(run);
      }
    });
  });

  const diag = diagnosticsTimer(node, () =>
    status(lastProblem ? 'WARN' : processed > 0 ? 'OK' : 'WARN', `pamstack/${name}`, lastProblem ?? (processed > 0 ? 'publishing object clouds' : 'waiting for camera clouds'), {
      state: processed > 0 ? 'running' : 'waiting',
      cameras: cams.map((c) => c.topic).join(','),
      processed,
      ...(lastMs !== null ? { last_processing_ms: +lastMs.toFixed(1) } : {}),
      ...(lastAge !== null ? { last_cloud_age_s: +lastAge.toFixed(3) } : {}),
    }),
  );

  return {
    node,
    processed: () => processed,
    async shutdown() {
      diag.cancel();
      stopped = true;
      node.destroy();
    },
  };
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
