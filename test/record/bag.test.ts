import { McapIndexedReader, McapWriter } from '@mcap/core';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packPointCloud2 } from '../../src/cloud/pointcloud2.ts';
import {
  BagFormatError,
  BufferWritable,
  parseOfferedQosYaml,
  QOS,
  Ros2BagFile,
  Ros2BagWriter,
  RosMessageCodec,
  readBagEpisodes,
} from '../../src/record/index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pamstack-bag-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cloudMsg = (stamp: number) => packPointCloud2({ points: new Float32Array([1, 2, 3, 4, 5, 6]), frame: 'table', stamp });

async function smallBag(): Promise<Uint8Array> {
  const out = new BufferWritable();
  const bag = new Ros2BagWriter(out, { distro: 'humble' });
  await bag.addTopic({ topic: '/camera/points', type: 'sensor_msgs/msg/PointCloud2', qos: QOS.sensorData });
  await bag.addTopic({ topic: '/e_stop', type: 'std_msgs/msg/Empty', qos: QOS.command });
  await bag.addTopic({ topic: '/camera2/points', type: 'sensor_msgs/msg/PointCloud2', qos: QOS.sensorData });
  for (let i = 0; i < 3; i++) void bag.write('/camera/points', cloudMsg(10 + i), { logTime: BigInt(10 + i) * 1_000_000_000n });
  void bag.write('/e_stop', {}, { logTime: 11_500_000_000n });
  await bag.close();
  return out.bytes();
}

describe('Ros2BagWriter', () => {
  it('writes the rosbag2 MCAP layout: ros2 profile, ros2msg schemas, cdr channels, QoS, statistics', async () => {
    const bytes = await smallBag();
    const r = await McapIndexedReader.Initialize({
      readable: { size: async () => BigInt(bytes.length), read: async (o, n) => bytes.subarray(Number(o), Number(o + n)) },
    });
    expect(r.header.profile).toBe('ros2');
    expect([...r.channelsById.keys()].sort()).toEqual([1, 2, 3]); // rosbag2 starts channel ids at 1
    const schemas = [...r.schemasById.values()];
    expect(schemas.map((s) => s.name).sort()).toEqual(['sensor_msgs/msg/PointCloud2', 'std_msgs/msg/Empty']); // one per type
    for (const s of schemas) expect(s.encoding).toBe('ros2msg');
    const pcText = new TextDecoder().decode(schemas.find((s) => s.name.endsWith('PointCloud2'))!.data);
    expect(pcText).toContain('\n================================================================================\nMSG: sensor_msgs/PointField\n');
    expect(pcText).toBe(RosMessageCodec.for('humble').schemaText('sensor_msgs/msg/PointCloud2'));
    for (const ch of r.channelsById.values()) {
      expect(ch.messageEncoding).toBe('cdr');
      expect(r.schemasById.get(ch.schemaId)).toBeDefined();
      const qos = parseOfferedQosYaml(ch.metadata.get('offered_qos_profiles')!);
      expect(qos).toHaveLength(1);
    }
    const cam = [...r.channelsById.values()].find((c) => c.topic === '/camera/points')!;
    expect(cam.metadata.get('offered_qos_profiles')).toMatch(/reliability: 2\n/); // BEST_EFFORT as rmw's integer
    expect(parseOfferedQosYaml(cam.metadata.get('offered_qos_profiles')!)[0]).toEqual(QOS.sensorData);
    expect(r.statistics!.messageCount).toBe(4n);
    expect(r.statistics!.channelMessageCounts.get(cam.id)).toBe(3n);
    const first = (await r.readMessages().next()).value!;
    expect([...first.data.subarray(0, 4)]).toEqual([0, 1, 0, 0]); // CDR_LE encapsulation header
  });

  it('reads back every message decoded with the bag’s own schemas', async () => {
    const bag = await Ros2BagFile.open({ name: 'mem.mcap', bytes: await smallBag() });
    expect(bag.topics.map((t) => [t.topic, t.type, t.messageCount])).toEqual([
      ['/camera/points', 'sensor_msgs/msg/PointCloud2', 3],
      ['/e_stop', 'std_msgs/msg/Empty', 1],
      ['/camera2/points', 'sensor_msgs/msg/PointCloud2', 0],
    ]);
    const got = [];
    for await (const m of bag.messages()) got.push(m);
    expect(got.map((m) => m.topic)).toEqual(['/camera/points', '/camera/points', '/e_stop', '/camera/points']);
    expect(got[0]!.message).toEqual(cloudMsg(10));
  });

  it('never leaves a half-written file: abort removes it, close renames it into place', async () => {
    const f = join(dir, 'a.mcap');
    const w = await Ros2BagWriter.create(f);
    await w.addTopic({ topic: '/x', type: 'std_msgs/msg/Empty', qos: QOS.command });
    await w.abort();
    expect(await readdir(dir)).not.toContain('a.mcap.partial');
    const w2 = await Ros2BagWriter.create(f);
    await w2.addTopic({ topic: '/x', type: 'std_msgs/msg/Empty', qos: QOS.command });
    await w2.write('/x', {}, { logTime: 1n });
    await w2.close();
    expect(await readdir(dir)).toContain('a.mcap');
  });

  it('refuses to write a message that does not match the topic type', async () => {
    const w = new Ros2BagWriter(new BufferWritable());
    await w.addTopic({ topic: '/c', type: 'sensor_msgs/msg/PointCloud2', qos: QOS.sensorData });
    expect(() => w.write('/c', { ...cloudMsg(0), width: 'two' }, { logTime: 0n })).toThrow(/field width/);
    expect(() => w.write('/nope', {}, { logTime: 0n })).toThrow(/topic \/nope is not registered/);
  });
});

describe('malformed bags are refused with a clear error', () => {
  async function mcapWith(opts: { profile?: string; stats?: boolean; schemaEncoding?: string; msgEncoding?: string; schemaless?: boolean }) {
    const out = new BufferWritable();
    const w = new McapWriter({ writable: out, useStatistics: opts.stats ?? true });
    await w.start({ profile: opts.profile ?? 'ros2', library: 'test' });
    const schemaId = opts.schemaless
      ? 0
      : await w.registerSchema({ name: 'std_msgs/msg/Empty', encoding: opts.schemaEncoding ?? 'ros2msg', data: new Uint8Array() });
    const ch = await w.registerChannel({ topic: '/x', schemaId, messageEncoding: opts.msgEncoding ?? 'cdr', metadata: new Map() });
    await w.addMessage({ channelId: ch, sequence: 0, logTime: 1n, publishTime: 1n, data: new Uint8Array([0, 1, 0, 0, 0]) });
    await w.end();
    return out.bytes();
  }
  const open = (bytes: Uint8Array) => Ros2BagFile.open({ name: 'bad.mcap', bytes });

  it.each([
    ['random bytes', async () => new Uint8Array(100).fill(7), /bad\.mcap: not an MCAP file: it does not start with the MCAP magic/],
    ['an empty file', async () => new Uint8Array(0), /not an MCAP file: only 0 bytes/],
    ['a truncated bag', async () => (await smallBag()).subarray(0, 700), /cannot read the MCAP summary and index .* truncated or was not closed/],
    ['the wrong profile', () => mcapWith({ profile: 'ros1' }), /MCAP profile is "ros1", expected "ros2"/],
    ['no statistics', () => mcapWith({ stats: false }), /no Statistics record/],
    ['a channel without schema', () => mcapWith({ schemaless: true }), /channel \/x \(id \d+\) has no schema/],
    ['a non-ros2msg schema', () => mcapWith({ schemaEncoding: 'jsonschema' }), /encoding "jsonschema", expected "ros2msg"/],
    ['non-CDR messages', () => mcapWith({ msgEncoding: 'json' }), /message encoding "json", expected "cdr"/],
  ])('%s', async (_what, make, re) => {
    const err = await open(await make()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BagFormatError);
    expect((err as Error).message).toMatch(re);
  });

  it('a message that does not decode names topic and sequence', async () => {
    const out = new BufferWritable();
    const w = new McapWriter({ writable: out });
    await w.start({ profile: 'ros2', library: 'test' });
    const text = RosMessageCodec.for('jazzy').schemaText('sensor_msgs/msg/PointCloud2');
    const s = await w.registerSchema({ name: 'sensor_msgs/msg/PointCloud2', encoding: 'ros2msg', data: new TextEncoder().encode(text) });
    const ch = await w.registerChannel({ topic: '/c', schemaId: s, messageEncoding: 'cdr', metadata: new Map() });
    await w.addMessage({ channelId: ch, sequence: 7, logTime: 5n, publishTime: 5n, data: new Uint8Array([0, 1, 0, 0, 1, 2]) });
    await w.end();
    const bag = await open(out.bytes());
    const err = await (async () => {
      for await (const _ of bag.messages());
    })().catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/bad\.mcap: message 7 on \/c \(sensor_msgs\/msg\/PointCloud2, log time 5 ns\) does not decode as CDR/);
  });

  it('a directory must be a rosbag2 mcap bag', async () => {
    const d = join(dir, 'notabag');
    await mkdir(d, { recursive: true });
    await expect(readBagEpisodes(d)).rejects.toThrow(/is a directory without metadata.yaml/);
    await writeFile(join(d, 'metadata.yaml'), 'rosbag2_bagfile_information:\n  storage_identifier: sqlite3\n  relative_file_paths: [x.db3]\n');
    await expect(readBagEpisodes(d)).rejects.toThrow(/storage is "sqlite3", expected "mcap"/);
    await expect(readBagEpisodes(join(dir, 'missing.mcap'))).rejects.toThrow(/missing\.mcap: no such file or directory/);
  });

  it('a bag without decision topics says what it lacks', async () => {
    const f = join(dir, 'cams.mcap');
    await writeFile(f, await smallBag());
    await expect(readBagEpisodes(f)).rejects.toThrow(/has neither policy\/candidates nor executor\/executed/);
    expect((await readFile(f)).length).toBeGreaterThan(0);
  });
});
