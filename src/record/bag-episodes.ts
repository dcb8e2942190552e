// Reads episodes back from ROS 2 bags (eval recordings or `ros2 bag record -s mcap` on a robot) as
// steps of cloud, candidates, chosen index, executed primitive and metrics, for training.
import { unpackPointCloud2 } from '../cloud/pointcloud2.ts';
import type { Candidate, Metrics } from '../core/episode.ts';
import type { PointCloud } from '../core/pointcloud.ts';
import type { Primitive } from '../core/primitive.ts';
import { BagFormatError, bagFiles, Ros2BagFile, type BagReadOptions } from './bag-reader.ts';
import { markerArrayToCandidates, markerToPrimitive } from './markers.ts';
import type { DiagnosticStatus, Marker, MarkerArray, PointCloud2 } from './ros-messages.ts';
import { timeToNanoseconds } from './ros-messages.ts';
import { absoluteTopic, EPISODE_TOPICS } from './topics.ts';

/** One step read from a bag. Points in the `table` frame, metres; stamp in seconds. */
export interface BagStep {
  decision: number;
  stamp: number;
  /** The latest object cloud stamped at or before the decision, or null when the bag has none. */
  cloud: PointCloud | null;
  candidates: Candidate[];
  chosen: number | null;
  executed: Primitive | null;
  metrics: Metrics;
  success?: boolean;
}

export interface BagEpisode {
  file: string;
  /** The `pamstack.episode` metadata record (empty for robot bags recorded with ros2 bag). */
  info: Record<string, string>;
  steps: BagStep[];
}

export interface BagEpisodeOptions extends BagReadOptions {
  /**
   * Topic names; each defaults to the graph's name and, when the bag lacks it, to the single topic of
   * the right type whose name ends with it (a launch namespace, e.g. /robot1/perception/object_cloud).
   */
  topics?: Partial<Record<'objectCloud' | 'candidates' | 'executed' | 'stepMetrics', string>>;
}

/**
 * Episodes of a bag path: one per MCAP file (a file, or each file of a rosbag2 directory). Steps
 * are decisions (candidate sets and/or executed primitives, linked by decision id), in order.
 * Throws BagFormatError on a malformed bag, or when it has neither candidates nor executed topics.
 */
export async function readBagEpisodes(path: string, o: BagEpisodeOptions = {}): Promise<BagEpisode[]> {
  const out: BagEpisode[] = [];
  for (const file of await bagFiles(path)) {
    const bag = await Ros2BagFile.open(file, o);
    try {
      out.push(await readEpisode(bag, o));
    } finally {
      await bag.close();
    }
  }
  return out;
}

async function readEpisode(bag: Ros2BagFile, o: BagEpisodeOptions): Promise<BagEpisode> {
  const find = (key: keyof typeof EPISODE_TOPICS): string | null => {
    const spec = EPISODE_TOPICS[key];
    const want = o.topics?.[key] ?? absoluteTopic(spec.name);
    const exact = bag.topics.find((t) => t.topic === want);
    if (exact) {
      if (exact.type !== spec.type) throw new BagFormatError(bag.file, `topic ${want} has type ${exact.type}, expected ${spec.type}`);
      return want;
    }
    if (o.topics?.[key]) throw new BagFormatError(bag.file, `has no topic ${want} (topics: ${bag.topics.map((t) => t.topic).join(', ')})`);
    const byEnd = bag.topics.filter((t) => t.type === spec.type && t.topic.endsWith(`/${spec.name}`));
    if (byEnd.length > 1)
      throw new BagFormatError(bag.file, `several topics could be ${spec.name}: ${byEnd.map((t) => t.topic).join(', ')}; name one in options.topics`);
    return byEnd[0]?.topic ?? null;
  };
  const cloudTopic = find('objectCloud');
  const candTopic = find('candidates');
  const execTopic = find('executed');
  const metricsTopic = find('stepMetrics');
  if (!candTopic && !execTopic)
    throw new BagFormatError(bag.file, `has neither ${EPISODE_TOPICS.candidates.name} nor ${EPISODE_TOPICS.executed.name}: no decisions to read`);

  // Pass 1: the small messages (markers, metrics), grouped by decision id.
  const steps = new Map<number, BagStep>();
  const stepOf = (decision: number, stamp: number): BagStep => {
    let s = steps.get(decision);
    if (!s) steps.set(decision, (s = { decision, stamp, cloud: null, candidates: [], chosen: null, executed: null, metrics: {} }));
    return s;
  };
  const stampNs = new Map<number, bigint>();
  const small = [candTopic, execTopic, metricsTopic].filter((t): t is string => t !== null);
  for await (const m of bag.messages({ topics: small })) {
    const where = `${m.topic} message ${m.sequence}`;
    try {
      if (m.topic === candTopic) {
        const d = markerArrayToCandidates(m.message as MarkerArray);
        if (!d) continue;
        const s = stepOf(d.decision, d.stamp);
        s.candidates = d.candidates;
        s.chosen = d.chosen;
        stampNs.set(d.decision, timeToNanoseconds((m.message as MarkerArray).markers[0]!.header.stamp));
      } else if (m.topic === execTopic) {
        const e = markerToPrimitive(m.message as Marker);
        const s = stepOf(e.meta.decision, e.stamp);
        s.executed = e.primitive;
        if (!stampNs.has(e.meta.decision)) stampNs.set(e.meta.decision, timeToNanoseconds((m.message as Marker).header.stamp));
      } else {
        const st = m.message as DiagnosticStatus;
        const decision = Number(st.values.find((v) => v.key === 'decision')?.value);
        if (!Number.isInteger(decision) || decision < 0) continue;
        const s = stepOf(decision, steps.get(decision)?.stamp ?? 0);
        for (const { key, value } of st.values) {
          if (key === 'success') s.success = value === 'true';
          else if (key === 'iou' || key === 'coverage' || key === 'chamfer' || key === 'emd') s.metrics[key] = Number(value);
        }
      }
    } catch (e) {
      if (e instanceof BagFormatError) throw e;
      throw new BagFormatError(bag.file, `${where}: ${(e as Error).message}`);
    }
  }
  const ordered = [...steps.values()].sort((a, b) => a.decision - b.decision);

  // Pass 2: clouds, keeping for each step the latest cloud stamped at or before it.
  if (cloudTopic && ordered.length > 0) {
    const byStamp = ordered
      .map((s) => ({ s, ns: stampNs.get(s.decision) ?? BigInt(Math.round(s.stamp * 1e9)) }))
      .sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
    let k = 0;
    let latest: { ns: bigint; msg: PointCloud2; seq: number } | null = null;
    const assign = (upTo: bigint | null): void => {
      while (k < byStamp.length && (upTo === null || byStamp[k]!.ns + STAMP_SLACK_NS < upTo)) {
        const item = byStamp[k++]!;
        if (latest && latest.ns <= item.ns + STAMP_SLACK_NS) item.s.cloud = toCloud(bag.file, latest.msg, latest.seq);
      }
    };
    for await (const m of bag.messages({ topics: [cloudTopic] })) {
      const msg = m.message as PointCloud2;
      const ns = timeToNanoseconds(msg.header.stamp);
      assign(ns);
      if (!latest || ns >= latest.ns) latest = { ns, msg, seq: m.sequence };
    }
    assign(null);
  }
  return { file: bag.file, info: Object.fromEntries(bag.metadata.get('pamstack.episode') ?? []), steps: ordered };
}

/**
 * Stamps pass through float seconds in the stack (PointCloud.stamp), which keep about 0.2 µs at
 * today's epoch, so a decision's stamp may differ from its cloud's by a few hundred nanoseconds.
 */
const STAMP_SLACK_NS = 1000n;

function toCloud(file: string, msg: PointCloud2, seq: number): PointCloud {
  try {
    return unpackPointCloud2(msg, { frame: 'table' });
  } catch (e) {
    throw new BagFormatError(file, `object cloud message ${seq}: ${(e as Error).message}`);
  }
}
