import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packPointCloud2 } from '../../src/cloud/pointcloud2.ts';
import { candidatesToMarkerArray, markerArrayToCandidates, MessageFieldError, RosMessageCodec, ROS_DISTROS } from '../../src/record/index.ts';
import type { Candidate } from '../../src/core/episode.ts';

const msgdefs = join(dirname(createRequire(import.meta.url).resolve('@foxglove/rosmsg-msgs-common/package.json')), 'msgdefs');

/** The reference reader: definitions parsed straight from the distro's .msg text, no codec of ours. */
function referenceRead(distro: string, type: string, bytes: Uint8Array): unknown {
  const [pkg, , name] = type.split('/');
  const text = readFileSync(join(msgdefs, `ros2${distro}`, pkg!, 'msg', `${name}.msg`), 'utf8');
  return new MessageReader(parse(text, { ros2: true })).readMessage(bytes);
}

/** A minimal XCDR1 little-endian encoder, written from the spec, to pin the byte layout. */
class SpecCdr {
  bytes: number[] = [0x00, 0x01, 0x00, 0x00];
  align(n: number) {
    while ((this.bytes.length - 4) % n !== 0) this.bytes.push(0);
  }
  u8(v: number) {
    this.bytes.push(v & 255);
  }
  u32(v: number) {
    this.align(4);
    const b = new Uint8Array(new Uint32Array([v]).buffer);
    this.bytes.push(...b);
  }
  i32(v: number) {
    this.align(4);
    this.bytes.push(...new Uint8Array(new Int32Array([v]).buffer));
  }
  str(s: string) {
    this.u32(s.length + 1);
    for (const c of s) this.bytes.push(c.charCodeAt(0));
    this.bytes.push(0);
  }
}

function cloud() {
  const points = new Float32Array([0.1, -0.2, 0.03, 0.5, 0.25, 0.125, -1, 2, 3]);
  return packPointCloud2({ points, frame: 'table', stamp: 1_700_000_000.25 });
}

describe('CDR of sensor_msgs/msg/PointCloud2', () => {
  it.each(ROS_DISTROS)('%s: bytes match the spec layout byte for byte', (distro) => {
    const msg = cloud();
    const bytes = RosMessageCodec.for(distro).serialize('sensor_msgs/msg/PointCloud2', msg);
    const w = new SpecCdr();
    w.i32(msg.header.stamp.sec);
    w.u32(msg.header.stamp.nanosec);
    w.str('table');
    w.u32(1);
    w.u32(3);
    w.u32(3);
    for (const [i, n] of ['x', 'y', 'z'].entries()) {
      w.str(n);
      w.u32(4 * i);
      w.u8(7);
      w.u32(1);
    }
    w.u8(0); // is_bigendian
    w.u32(12);
    w.u32(36);
    w.u32(36);
    w.bytes.push(...msg.data);
    w.u8(1); // is_dense
    expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(w.bytes).toString('hex'));
  });

  it.each(ROS_DISTROS)('%s: the reference reader decodes identical values', (distro) => {
    const msg = packPointCloud2({
      points: new Float32Array([1, 2, 3, 4, 5, 6]),
      rgb: new Uint8Array([255, 0, 10, 1, 2, 3]),
      frame: 'table',
      stamp: 12.5,
    });
    const back = referenceRead(distro, 'sensor_msgs/msg/PointCloud2', RosMessageCodec.for(distro).serialize('sensor_msgs/msg/PointCloud2', msg));
    expect(back).toEqual(msg);
  });
});

describe('CDR of visualization_msgs/msg/MarkerArray', () => {
  const cands: Candidate[] = [
    { primitive: { kind: 'pick_place', a: [0.1, 0.2, 0.01], b: [0.3, -0.1, 0.02] }, score: 0.9, safe: true },
    { primitive: { kind: 'pick_place', a: [0.0, 0.0, 0.0], b: [0.1, 0.1, 0.1] }, score: -0.4, scoreStd: 0.2, safe: false, reason: 'pick.z below table' },
  ];
  it.each(ROS_DISTROS)('%s: the reference reader decodes identical values, and candidates come back', (distro) => {
    const codec = RosMessageCodec.for(distro);
    const ma = candidatesToMarkerArray(codec, cands, 0, { decision: 4, stamp: 100.5 });
    expect(ma.markers).toHaveLength(3);
    const back = referenceRead(distro, 'visualization_msgs/msg/MarkerArray', codec.serialize('visualization_msgs/msg/MarkerArray', ma));
    expect(back).toEqual(ma);
    const d = markerArrayToCandidates(back as typeof ma)!;
    expect(d.decision).toBe(4);
    expect(d.chosen).toBe(0);
    expect(d.stamp).toBeCloseTo(100.5, 9);
    // Points pass through float64, so candidates come back exactly.
    expect(d.candidates).toEqual(cands);
  });

  it('colours the best candidate green and the worst red', () => {
    const ma = candidatesToMarkerArray(RosMessageCodec.for('jazzy'), cands, 0, { decision: 0, stamp: 0 });
    expect(ma.markers[1]!.color).toMatchObject({ r: 0, g: 1, b: 0, a: 1 });
    expect(ma.markers[2]!.color).toMatchObject({ r: 1, g: 0, b: 0 });
    expect(ma.markers[2]!.color.a).toBeCloseTo(0.3);
    expect(ma.markers[0]!.action).toBe(3); // DELETEALL first
  });
});

describe('message validation', () => {
  const codec = RosMessageCodec.for('jazzy');
  it.each([
    ['an unknown field', { ...cloud(), frameId: 'x' }, /field frameId: expected no such field/],
    ['a missing field', (({ is_dense: _d, ...rest }) => rest)(cloud()), /field is_dense: expected a bool \(field is missing\)/],
    ['a string for a uint32', { ...cloud(), width: '3' }, /field width: expected a uint32 integer in \[0, 4294967295\], received "3"/],
    ['a negative uint32', { ...cloud(), height: -1 }, /field height: expected a uint32/],
    ['a bad nested field', { ...cloud(), header: { stamp: { sec: 1, nanosec: 2e9 }, frame_id: 'table' } }, /header\.stamp\.nanosec: expected an integer in \[0, 999999999\]/],
    ['a number array for uint8[] data', { ...cloud(), data: 'abc' }, /field data: expected an array of uint8/],
  ])('refuses %s, naming the field', (_what, msg, re) => {
    expect(() => codec.serialize('sensor_msgs/msg/PointCloud2', msg as never)).toThrow(MessageFieldError);
    expect(() => codec.serialize('sensor_msgs/msg/PointCloud2', msg as never)).toThrow(re);
  });

  it('fills every field with its ROS default in create()', () => {
    const m = codec.create('visualization_msgs/msg/Marker', { ns: 'n' });
    expect(m.pose.orientation.w).toBe(1);
    expect(m.ns).toBe('n');
    expect(() => codec.serialize('visualization_msgs/msg/Marker', m)).not.toThrow();
  });

  it('refuses a type the distro does not define', () => {
    expect(() => codec.serialize('pamstack_msgs/msg/Nope', {})).toThrow(/not among the jazzy definitions/);
  });
});

describe('CDR strings', () => {
  // Fast-CDR (src/cpp/Cdr.cpp, Cdr::serialize(const char*)): uint32 length = strlen + 1, i.e. UTF-8
  // bytes plus the NUL, then the bytes; what rclcpp publishes for a std::string holding UTF-8.
  it('writes UTF-8 bytes with their byte length (non-ASCII strings survive the round trip)', () => {
    const codec = RosMessageCodec.for('humble');
    const bytes = codec.serialize('std_msgs/msg/String', { data: 'é' });
    expect(Array.from(bytes)).toEqual([0, 1, 0, 0, 3, 0, 0, 0, 0xc3, 0xa9, 0]);
    for (const s of ['héllo wörld', 'ロボット', 'x😀y', 'μ − σ', ''])
      expect((codec.deserialize('std_msgs/msg/String', codec.serialize('std_msgs/msg/String', { data: s })) as { data: string }).data).toBe(s);
    // a string array inside a nested message, and the fields after it still line up
    const status = {
      level: 1, name: 'näme', message: 'σ too wide', hardware_id: 'ü',
      values: [{ key: 'α', value: '0.94' }, { key: 'plain', value: 'ASCII' }],
    };
    const back = codec.deserialize('diagnostic_msgs/msg/DiagnosticStatus', codec.serialize('diagnostic_msgs/msg/DiagnosticStatus', status));
    expect(back).toEqual(status);
  });
});
