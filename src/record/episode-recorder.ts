// Records one episode as a ROS 2 MCAP bag: the object cloud, the candidates and the executed primitive
// per step, on the same topics the ROS 2 graph uses, so eval bags and robot bags read back alike.
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { packPointCloud2 } from '../cloud/pointcloud2.ts';
import type { Candidate, Metrics } from '../core/episode.ts';
import type { PointCloud } from '../core/pointcloud.ts';
import type { Primitive } from '../core/primitive.ts';
import { Ros2BagWriter, type BagWriterOptions } from './bag-writer.ts';
import { candidatesToMarkerArray, primitiveToMarker } from './markers.ts';
import { DIAG, type DiagnosticStatus } from './ros-messages.ts';
import { absoluteTopic, EPISODE_TOPICS } from './topics.ts';

/** What an episode was, stored in the bag's `pamstack.episode` metadata record. */
export interface EpisodeInfo {
  task: string;
  seed: number;
  /** Episode index within the run. */
  episode: number;
  /** Policy directory, `expert` or `random`. */
  policy?: string;
  /** Selection rule (ras, first, random). */
  select?: string;
}

/** One step: what was seen, proposed, chosen and run. Points in the `table` frame, metres. */
export interface RecordedStep {
  /** Time of the observation, seconds since the episode started (sim time on the simulator). */
  t: number;
  /** The object cloud the decision was made from. */
  cloud: PointCloud;
  candidates: readonly Candidate[];
  /** Index into `candidates` of the chosen one, or null when the stack held. */
  chosen: number | null;
  /** The primitive that ran (candidates[chosen], or an expert's / operator's action), or null. */
  executed: Primitive | null;
  /** Task metrics after the step. */
  metrics?: Metrics;
  success?: boolean;
}

export interface EpisodeRecorderOptions extends BagWriterOptions {
  /** Epoch seconds of t = 0 (bag times are absolute). @default the wall clock at open */
  startTime?: number;
}

/** Writes one episode bag; `close()` finishes the file, `abort()` leaves nothing behind. */
export class EpisodeRecorder {
  readonly file: string;
  readonly info: EpisodeInfo;
  #bag: Ros2BagWriter;
  #start: number;
  #steps = 0;
  #last: { metrics?: Metrics; success?: boolean } = {};

  private constructor(file: string, info: EpisodeInfo, bag: Ros2BagWriter, start: number) {
    this.file = file;
    this.info = info;
    this.#bag = bag;
    this.#start = start;
  }

  /** Opens `file` (its folder is created; written as `file.partial` until close) with the episode topics registered. */
  static async open(file: string, info: EpisodeInfo, o: EpisodeRecorderOptions = {}): Promise<EpisodeRecorder> {
    await mkdir(dirname(file), { recursive: true });
    const bag = await Ros2BagWriter.create(file, o);
    try {
      await Promise.all(Object.values(EPISODE_TOPICS).map((t) => bag.addTopic({ topic: absoluteTopic(t.name), type: t.type, qos: t.qos })));
    } catch (e) {
      await bag.abort();
      throw e;
    }
    return new EpisodeRecorder(file, info, bag, o.startTime ?? Date.now() / 1000);
  }

  /** Steps written so far. */
  get steps(): number {
    return this.#steps;
  }

  /**
   * Writes one step. Messages are stamped with the observation time; log times are that time plus
   * 0, 1, 2, 3 µs so cloud → candidates → executed → metrics keep their order in any reader.
   */
  async step(s: RecordedStep): Promise<void> {
    if (s.cloud.frame !== 'table')
      throw new Error(`step ${this.#steps}: cloud.frame: expected "table" (bags hold table-frame clouds), received ${JSON.stringify(s.cloud.frame)}`);
    const decision = this.#steps++;
    const stamp = this.#start + s.t;
    const t0 = BigInt(Math.round(stamp * 1e6)) * 1000n;
    const codec = this.#bag.codec;
    const writes: Promise<void>[] = [];
    const cloudMsg = packPointCloud2({ ...s.cloud, stamp });
    writes.push(this.#bag.write(absoluteTopic(EPISODE_TOPICS.objectCloud.name), cloudMsg, { logTime: t0 }));
    const markers = candidatesToMarkerArray(codec, s.candidates, s.chosen, { decision, stamp });
    writes.push(this.#bag.write(absoluteTopic(EPISODE_TOPICS.candidates.name), markers, { logTime: t0 + 1000n }));
    if (s.executed) {
      const meta: { decision: number; candidate?: number; score?: number } = { decision };
      if (s.chosen !== null) {
        meta.candidate = s.chosen;
        const score = s.candidates[s.chosen]?.score;
        if (score !== undefined) meta.score = score;
      }
      const m = primitiveToMarker(codec, s.executed, meta, { stamp });
      writes.push(this.#bag.write(absoluteTopic(EPISODE_TOPICS.executed.name), m, { logTime: t0 + 2000n }));
    }
    if (s.metrics || s.success !== undefined) {
      this.#last = { metrics: s.metrics, success: s.success };
      writes.push(
        this.#bag.write(absoluteTopic(EPISODE_TOPICS.stepMetrics.name), stepStatus(decision, s.metrics, s.success), {
          logTime: t0 + 3000n,
        }),
      );
    }
    await Promise.all(writes);
  }

  /** Writes the episode record and the summary; returns the file's path. */
  async close(): Promise<string> {
    const values: Record<string, string> = {
      task: this.info.task,
      seed: String(this.info.seed),
      episode: String(this.info.episode),
      steps: String(this.#steps),
      distro: this.#bag.codec.distro,
      start_time_ns: String(BigInt(Math.round(this.#start * 1e6)) * 1000n),
    };
    if (this.info.policy !== undefined) values.policy = this.info.policy;
    if (this.info.select !== undefined) values.select = this.info.select;
    if (this.#last.success !== undefined) values.success = String(this.#last.success);
    if (this.#last.metrics) values.metrics = JSON.stringify(this.#last.metrics);
    await this.#bag.addMetadata('pamstack.episode', values);
    await this.#bag.close();
    return this.file;
  }

  async abort(): Promise<void> {
    await this.#bag.abort();
  }
}

/** `rope-circle_seed7_ep003.mcap`: one file per episode, sortable. */
export function episodeFileName(info: Pick<EpisodeInfo, 'task' | 'seed' | 'episode'>): string {
  return `${info.task}_seed${info.seed}_ep${String(info.episode).padStart(3, '0')}.mcap`;
}

/**
 * Writes a whole episode into `dir` (created if needed) and returns the file's path; on any error
 * the partial file is removed. `pamstack eval --record DIR` can call this once per episode, or keep
 * an EpisodeRecorder open and call `step()` as the episode runs.
 */
export async function recordEpisode(
  dir: string,
  info: EpisodeInfo,
  steps: Iterable<RecordedStep>,
  o: EpisodeRecorderOptions = {},
): Promise<string> {
  const rec = await EpisodeRecorder.open(join(dir, episodeFileName(info)), info, o);
  try {
    for (const s of steps) await rec.step(s);
    return await rec.close();
  } catch (e) {
    await rec.abort();
    throw e;
  }
}

/** Metrics after a step as diagnostic_msgs/DiagnosticStatus (values are decimal strings). */
export function stepStatus(decision: number, metrics: Metrics | undefined, success: boolean | undefined): DiagnosticStatus {
  const values = [{ key: 'decision', value: String(decision) }];
  for (const [k, v] of Object.entries(metrics ?? {})) if (v !== undefined) values.push({ key: k, value: String(v) });
  if (success !== undefined) values.push({ key: 'success', value: String(success) });
  return {
    level: DIAG.OK,
    name: 'pamstack/episode',
    message: success ? 'success' : '',
    hardware_id: `decision:${decision}`,
    values,
  };
}
