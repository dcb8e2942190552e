// Writes ROS 2 bags as MCAP the way rosbag2's mcap storage does, so `ros2 bag` and Foxglove read them.
//
// Layout (rosbag2_storage_mcap): header profile `ros2`; one `ros2msg` schema per message type holding
// the full concatenated .msg text; one `cdr` channel per topic with `offered_qos_profiles` metadata;
// chunked, uncompressed; summary with statistics, schema and channel records and indexes. Channel ids
// start at 1 as rosbag2's do. Calls are queued internally, so callers may fire writes without awaiting
// each one (McapWriter itself requires its calls in sequence).
import { McapWriter, type IWritable } from '@mcap/core';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { RosMessageCodec, type RosDistro } from './cdr-codec.ts';
import { offeredQosYaml, type QosProfile } from './qos.ts';

export interface BagTopic {
  /** Absolute topic name, e.g. `/perception/object_cloud`. */
  topic: string;
  /** `pkg/msg/Type`. */
  type: string;
  qos: QosProfile;
}

/** Times of one message, nanoseconds since the epoch: log = received, publish = sent. */
export interface MessageTimes {
  logTime: bigint;
  publishTime?: bigint;
}

export interface BagWriterOptions {
  /** Message definitions of this distro are stored as schemas. @default 'jazzy' */
  distro?: RosDistro;
  /** Written into the MCAP header's `library` field. @default 'pamstack' */
  library?: string;
  /** Chunk size in bytes. @default 4 MiB */
  chunkSize?: number;
}

/** A bag being written. Create with `Ros2BagWriter.create(file)` or `new Ros2BagWriter(writable)`. */
export class Ros2BagWriter {
  readonly codec: RosMessageCodec;
  #mcap: McapWriter;
  #chain: Promise<unknown>;
  #schemas = new Map<string, number>();
  #channels = new Map<string, { id: number; type: string; seq: number }>();
  #failed: unknown = null;
  #closed = false;
  #finish: (ok: boolean) => Promise<void>;

  constructor(writable: IWritable, o: BagWriterOptions = {}, finish: (ok: boolean) => Promise<void> = async () => {}) {
    this.codec = RosMessageCodec.for(o.distro ?? 'jazzy');
    this.#finish = finish;
    this.#mcap = new McapWriter({
      writable,
      useStatistics: true,
      useSummaryOffsets: true,
      useChunks: true,
      useMessageIndex: true,
      useChunkIndex: true,
      repeatSchemas: true,
      repeatChannels: true,
      startChannelId: 1,
      chunkSize: o.chunkSize ?? 4 * 1024 * 1024,
    });
    this.#chain = this.#mcap.start({ profile: 'ros2', library: o.library ?? 'pamstack' });
  }

  /**
   * A bag written to `file`: bytes go to `file.partial`, renamed to `file` on close; on abort or a
   * failed write the partial file is removed, so nothing half-written is left under the final name.
   */
  static async create(file: string, o: BagWriterOptions = {}): Promise<Ros2BagWriter> {
    const partial = `${file}.partial`;
    const fh = await open(partial, 'w');
    const writable = new FileWritable(fh);
    return new Ros2BagWriter(writable, o, async (ok) => {
      await fh.close();
      if (ok) await rename(partial, file);
      else await rm(partial, { force: true });
    });
  }

  /** Registers a topic (and its type's schema, once); writing to an unregistered topic throws. */
  addTopic(t: BagTopic): Promise<void> {
    const type = RosMessageCodec.normalizeType(t.type);
    if (this.#channels.has(t.topic)) {
      const prev = this.#channels.get(t.topic)!;
      if (prev.type !== type) throw new Error(`topic ${t.topic}: already registered as ${prev.type}, not ${type}`);
      return this.#chain.then(() => undefined);
    }
    const text = this.codec.schemaText(type);
    const entry = { id: -1, type, seq: 0 };
    this.#channels.set(t.topic, entry);
    return this.#enqueue(async () => {
      let schemaId = this.#schemas.get(type);
      if (schemaId === undefined) {
        schemaId = await this.#mcap.registerSchema({ name: type, encoding: 'ros2msg', data: new TextEncoder().encode(text) });
        this.#schemas.set(type, schemaId);
      }
      entry.id = await this.#mcap.registerChannel({
        topic: t.topic,
        schemaId,
        messageEncoding: 'cdr',
        metadata: new Map([['offered_qos_profiles', offeredQosYaml([t.qos])]]),
      });
    });
  }

  /** Serializes `msg` (validated against the topic's type) and queues it. */
  write(topic: string, msg: unknown, times: MessageTimes): Promise<void> {
    const ch = this.#channel(topic);
    return this.writeSerialized(topic, this.codec.serialize(ch.type, msg), times);
  }

  /** Queues already-serialized CDR bytes (e.g. taken from the wire). */
  writeSerialized(topic: string, data: Uint8Array, times: MessageTimes): Promise<void> {
    const ch = this.#channel(topic);
    const sequence = ch.seq++;
    return this.#enqueue(() =>
      this.#mcap.addMessage({
        channelId: ch.id,
        sequence,
        logTime: times.logTime,
        publishTime: times.publishTime ?? times.logTime,
        data,
      }),
    );
  }

  /** An MCAP metadata record (rosbag2 ignores names it does not know). */
  addMetadata(name: string, values: Record<string, string>): Promise<void> {
    return this.#enqueue(() => this.#mcap.addMetadata({ name, metadata: new Map(Object.entries(values)) }));
  }

  /** Writes the summary and footer; with a file, renames the partial file into place. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#enqueue(() => this.#mcap.end());
    } catch (e) {
      await this.#finish(false);
      throw e;
    }
    await this.#finish(true);
  }

  /** Drops the bag: with a file, removes the partial file. */
  async abort(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#chain.catch(() => undefined);
    await this.#finish(false);
  }

  #channel(topic: string): { id: number; type: string; seq: number } {
    if (this.#closed) throw new Error(`bag is closed; cannot write to ${topic}`);
    const ch = this.#channels.get(topic);
    if (!ch) throw new Error(`topic ${topic} is not registered in this bag (addTopic first)`);
    return ch;
  }

  #enqueue(fn: () => Promise<unknown>): Promise<void> {
    const next = this.#chain.then(() => {
      if (this.#failed !== null) throw this.#failed;
      return fn();
    });
    this.#chain = next.catch((e: unknown) => {
      this.#failed ??= e;
    });
    return next.then(() => undefined);
  }
}

/** IWritable over a file handle, tracking the position McapWriter asks for. */
export class FileWritable implements IWritable {
  #fh: FileHandle;
  #pos = 0n;
  constructor(fh: FileHandle) {
    this.#fh = fh;
  }
  async write(buffer: Uint8Array): Promise<void> {
    let off = 0;
    while (off < buffer.byteLength) {
      const { bytesWritten } = await this.#fh.write(buffer, off, buffer.byteLength - off);
      off += bytesWritten;
    }
    this.#pos += BigInt(buffer.byteLength);
  }
  position(): bigint {
    return this.#pos;
  }
}

/** IWritable into memory (tests, or bags sent over the network). */
export class BufferWritable implements IWritable {
  #parts: Uint8Array[] = [];
  #pos = 0n;
  async write(buffer: Uint8Array): Promise<void> {
    this.#parts.push(buffer.slice());
    this.#pos += BigInt(buffer.byteLength);
  }
  position(): bigint {
    return this.#pos;
  }
  /** Everything written so far, as one array (a copy). */
  bytes(): Uint8Array {
    const out = new Uint8Array(Number(this.#pos));
    let o = 0;
    for (const p of this.#parts) {
      out.set(p, o);
      o += p.byteLength;
    }
    return out;
  }
}
