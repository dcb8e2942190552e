// Reads ROS 2 MCAP bags (ours or `ros2 bag record -s mcap` on a robot) and refuses malformed ones.
//
// Checks what rosbag2 relies on: MCAP magic, profile `ros2`, a summary with a Statistics record,
// a schema for every channel with encoding `ros2msg`, message encoding `cdr`, and per-channel message
// counts that match the statistics. Every message is decoded with the schema stored in the bag itself.
// A bag may be one `.mcap` file or a rosbag2 directory (metadata.yaml listing its .mcap files).
import { McapIndexedReader, hasMcapPrefix, type DecompressHandlers, type IReadable } from '@mcap/core';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { fromSchemaText, RosMessageCodec, type SchemaCodec } from './cdr-codec.ts';
import { parseOfferedQosYaml, type QosProfile } from './qos.ts';

/** A bag refused: `file` names it, the message says what is wrong and, where known, what to do. */
export class BagFormatError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'BagFormatError';
  }
}

export interface BagTopicInfo {
  topic: string;
  /** `pkg/msg/Type`. */
  type: string;
  messageCount: number;
  qos: QosProfile[];
}

/** One decoded message; times in nanoseconds since the epoch. */
export interface BagMessage<T = unknown> {
  topic: string;
  type: string;
  sequence: number;
  logTime: bigint;
  publishTime: bigint;
  message: T;
}

export interface BagReadOptions {
  /** Extra chunk decompressors, e.g. `{ zstd: (buf, size) => … }` from a zstd package. */
  decompressHandlers?: DecompressHandlers;
}

/** One MCAP file of a bag, validated on open. */
export class Ros2BagFile {
  readonly file: string;
  readonly topics: readonly BagTopicInfo[];
  /** MCAP metadata records by name (e.g. `pamstack.episode`). */
  readonly metadata: ReadonlyMap<string, ReadonlyMap<string, string>>;
  #reader: McapIndexedReader;
  #codecs = new Map<number, SchemaCodec>();
  #close: () => Promise<void>;

  private constructor(
    file: string,
    reader: McapIndexedReader,
    topics: BagTopicInfo[],
    metadata: Map<string, Map<string, string>>,
    close: () => Promise<void>,
  ) {
    this.file = file;
    this.#reader = reader;
    this.topics = topics;
    this.metadata = metadata;
    this.#close = close;
  }

  /** Opens and validates one MCAP file (a path, or bytes with a name for messages). */
  static async open(src: string | { name: string; bytes: Uint8Array }, o: BagReadOptions = {}): Promise<Ros2BagFile> {
    const name = typeof src === 'string' ? src : src.name;
    let readable: IReadable;
    let close = async (): Promise<void> => {};
    if (typeof src === 'string') {
      let fh: FileHandle;
      try {
        fh = await open(src, 'r');
      } catch (e) {
        throw new BagFormatError(name, `cannot open: ${(e as Error).message}`);
      }
      readable = fileReadable(fh, (await fh.stat()).size);
      close = () => fh.close();
    } else {
      readable = bytesReadable(src.bytes);
    }
    try {
      return await Ros2BagFile.#validate(name, readable, o, close);
    } catch (e) {
      await close();
      throw e;
    }
  }

  static async #validate(name: string, readable: IReadable, o: BagReadOptions, close: () => Promise<void>): Promise<Ros2BagFile> {
    const size = await readable.size();
    if (size < 8n) throw new BagFormatError(name, `not an MCAP file: only ${size} bytes`);
    const head = await readable.read(0n, 8n);
    if (!hasMcapPrefix(new DataView(head.buffer, head.byteOffset, head.byteLength)))
      throw new BagFormatError(name, 'not an MCAP file: it does not start with the MCAP magic bytes (is it a .db3 bag? convert it with `ros2 bag convert` to mcap)');
    let reader: McapIndexedReader;
    try {
      reader = await McapIndexedReader.Initialize({ readable, decompressHandlers: o.decompressHandlers });
    } catch (e) {
      throw new BagFormatError(
        name,
        `cannot read the MCAP summary and index (${(e as Error).message}); the file is truncated or was not closed — try \`ros2 bag reindex\` or \`mcap recover\``,
      );
    }
    if (reader.header.profile !== 'ros2')
      throw new BagFormatError(name, `MCAP profile is ${JSON.stringify(reader.header.profile)}, expected "ros2" (a ROS 2 bag)`);
    const stats = reader.statistics;
    if (!stats) throw new BagFormatError(name, 'has no Statistics record in its summary (rosbag2 requires one)');
    const topics: BagTopicInfo[] = [];
    for (const ch of reader.channelsById.values()) {
      const schema = reader.schemasById.get(ch.schemaId);
      if (ch.schemaId === 0 || !schema)
        throw new BagFormatError(name, `channel ${ch.topic} (id ${ch.id}) has no schema; every ROS 2 channel needs its message definition`);
      if (schema.encoding !== 'ros2msg')
        throw new BagFormatError(name, `schema ${schema.name} of ${ch.topic} has encoding ${JSON.stringify(schema.encoding)}, expected "ros2msg"`);
      if (ch.messageEncoding !== 'cdr')
        throw new BagFormatError(name, `channel ${ch.topic} has message encoding ${JSON.stringify(ch.messageEncoding)}, expected "cdr"`);
      let type: string;
      try {
        type = RosMessageCodec.normalizeType(schema.name);
      } catch {
        throw new BagFormatError(name, `schema name ${JSON.stringify(schema.name)} of ${ch.topic} is not a pkg/msg/Type name`);
      }
      let qos: QosProfile[] = [];
      try {
        qos = parseOfferedQosYaml(ch.metadata.get('offered_qos_profiles') ?? '');
      } catch (e) {
        throw new BagFormatError(name, `channel ${ch.topic}: ${(e as Error).message}`);
      }
      topics.push({ topic: ch.topic, type, messageCount: Number(stats.channelMessageCounts.get(ch.id) ?? 0n), qos });
    }
    const metadata = new Map<string, Map<string, string>>();
    try {
      for await (const m of reader.readMetadata()) metadata.set(m.name, m.metadata);
    } catch (e) {
      throw new BagFormatError(name, `cannot read metadata records: ${(e as Error).message}`);
    }
    return new Ros2BagFile(name, reader, topics, metadata, close);
  }

  /** The topic's info, or a BagFormatError listing the topics the bag has. */
  topic(name: string): BagTopicInfo {
    const t = this.topics.find((x) => x.topic === name);
    if (!t) throw new BagFormatError(this.file, `has no topic ${name} (topics: ${this.topics.map((x) => x.topic).join(', ') || 'none'})`);
    return t;
  }

  /**
   * Decoded messages in log-time order. After the last message, checks that each channel held as
   * many messages as the statistics say (a short count means a damaged chunk).
   */
  async *messages(o: { topics?: readonly string[] } = {}): AsyncGenerator<BagMessage> {
    const counts = new Map<number, number>();
    const wanted = o.topics ? new Set(o.topics) : null;
    const it = this.#reader.readMessages(o.topics ? { topics: o.topics } : {});
    while (true) {
      let r: Awaited<ReturnType<typeof it.next>>;
      try {
        r = await it.next();
      } catch (e) {
        const msg = (e as Error).message;
        const hint = /compression/i.test(msg)
          ? ' (chunks compressed with zstd/lz4 need a decompressor: pass decompressHandlers, or re-record without compression)'
          : '';
        throw new BagFormatError(this.file, `cannot read messages: ${msg}${hint}`);
      }
      if (r.done) break;
      const rec = r.value;
      const ch = this.#reader.channelsById.get(rec.channelId);
      if (!ch) throw new BagFormatError(this.file, `message on unknown channel id ${rec.channelId}`);
      counts.set(rec.channelId, (counts.get(rec.channelId) ?? 0) + 1);
      const type = this.topics.find((t) => t.topic === ch.topic)!.type;
      let message: unknown;
      try {
        message = this.#codec(ch.schemaId).reader.readMessage(rec.data);
      } catch (e) {
        throw new BagFormatError(
          this.file,
          `message ${rec.sequence} on ${ch.topic} (${type}, log time ${rec.logTime} ns) does not decode as CDR: ${(e as Error).message}`,
        );
      }
      yield { topic: ch.topic, type, sequence: rec.sequence, logTime: rec.logTime, publishTime: rec.publishTime, message };
    }
    const stats = this.#reader.statistics!;
    for (const ch of this.#reader.channelsById.values()) {
      if (wanted && !wanted.has(ch.topic)) continue;
      const expected = Number(stats.channelMessageCounts.get(ch.id) ?? 0n);
      const found = counts.get(ch.id) ?? 0;
      if (expected !== found)
        throw new BagFormatError(this.file, `statistics say ${expected} messages on ${ch.topic}, but ${found} were found`);
    }
  }

  async close(): Promise<void> {
    await this.#close();
  }

  #codec(schemaId: number): SchemaCodec {
    let c = this.#codecs.get(schemaId);
    if (!c) {
      const s = this.#reader.schemasById.get(schemaId)!;
      try {
        c = fromSchemaText(new TextDecoder().decode(s.data));
      } catch (e) {
        throw new BagFormatError(this.file, `schema ${s.name} does not parse as a .msg definition: ${(e as Error).message}`);
      }
      this.#codecs.set(schemaId, c);
    }
    return c;
  }
}

/**
 * The MCAP files of a bag path: the file itself, or for a rosbag2 directory the files its
 * metadata.yaml lists (storage_identifier must be mcap).
 */
export async function bagFiles(path: string): Promise<string[]> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new BagFormatError(path, 'no such file or directory');
  }
  if (!st.isDirectory()) return [path];
  let text: string;
  try {
    text = await readFile(join(path, 'metadata.yaml'), 'utf8');
  } catch {
    throw new BagFormatError(path, 'is a directory without metadata.yaml (not a rosbag2 bag directory)');
  }
  const doc = parseYaml(text) as { rosbag2_bagfile_information?: { storage_identifier?: string; relative_file_paths?: unknown } } | null;
  const info = doc?.rosbag2_bagfile_information;
  if (!info) throw new BagFormatError(path, 'metadata.yaml has no rosbag2_bagfile_information');
  if (info.storage_identifier !== 'mcap')
    throw new BagFormatError(path, `storage is ${JSON.stringify(info.storage_identifier)}, expected "mcap" (convert with \`ros2 bag convert\`)`);
  const rel = info.relative_file_paths;
  if (!Array.isArray(rel) || rel.length === 0 || !rel.every((r) => typeof r === 'string'))
    throw new BagFormatError(path, 'metadata.yaml lists no relative_file_paths');
  return rel.map((r) => join(path, r as string));
}

function fileReadable(fh: FileHandle, size: number): IReadable {
  return {
    size: async () => BigInt(size),
    read: async (offset, length) => {
      if (offset + length > BigInt(size)) throw new Error(`read past end of file (${offset}+${length} > ${size})`);
      const buf = new Uint8Array(Number(length));
      let got = 0;
      while (got < buf.length) {
        const { bytesRead } = await fh.read(buf, got, buf.length - got, Number(offset) + got);
        if (bytesRead === 0) throw new Error(`unexpected end of file at ${Number(offset) + got}`);
        got += bytesRead;
      }
      return buf;
    },
  };
}

function bytesReadable(bytes: Uint8Array): IReadable {
  return {
    size: async () => BigInt(bytes.byteLength),
    read: async (offset, length) => {
      if (offset + length > BigInt(bytes.byteLength)) throw new Error(`read past end (${offset}+${length} > ${bytes.byteLength})`);
      return bytes.subarray(Number(offset), Number(offset + length));
    },
  };
}
