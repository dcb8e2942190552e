// Binary live-view frames: the motion frame's bytes, its round trip, and its errors; cloud frames beside it.
import { describe, expect, it } from 'vitest';
import {
  decodeLiveFrame,
  decodeMotionFrame,
  encodeLiveFrame,
  encodeMotionFrame,
  LIVE_FRAME_TYPE,
  liveFrameType,
  MOTION_FRAME_TYPE,
  PROTOCOL_VERSION,
  type MotionFrameData,
} from '../../src/core/protocol.ts';

/** The bytes as a fresh ArrayBuffer, as a WebSocket delivers them. */
const wire = (u8: Uint8Array): ArrayBuffer => u8.slice().buffer;

const frame = (over: Partial<MotionFrameData> = {}): MotionFrameData => ({
  seq: 0x01020304,
  sentAt: 1_700_000_000_123.5,
  stamp: 12.25,
  step: 7,
  points: Float32Array.of(0.1, -0.2, 0.006, 0.12, -0.19, 0.007, 0.5, 0.25, 0),
  tools: Float32Array.of(0, -0.45, 0.3, 0.2, 0.1, 0.05),
  holding: [0, 1],
  ...over,
});

describe('motion frame (type 2)', () => {
  it('lays out header, tools and points as documented (little-endian, 32-byte header)', () => {
    const b = encodeMotionFrame(frame());
    expect(PROTOCOL_VERSION).toBe(2);
    expect(b.byteLength).toBe(32 + (2 + 3) * 12);
    expect(Array.from(b.subarray(0, 8))).toEqual([2, 0, 2, 0, 4, 3, 2, 1]);
    const dv = new DataView(b.buffer);
    expect(dv.getFloat64(8, true)).toBe(1_700_000_000_123.5);
    expect(dv.getFloat64(16, true)).toBe(12.25);
    expect(Array.from(b.subarray(24, 32))).toEqual([3, 0, 0, 0, 2, 0b10, 7, 0]);
    expect(dv.getFloat32(32 + 4, true)).toBeCloseTo(-0.45, 6); // tool 0 y
    expect(dv.getFloat32(32 + 24, true)).toBeCloseTo(0.1, 6); // point 0 x, after the 2 tools
  });

  it('round-trips through the bytes; the arrays view the buffer', () => {
    const f = frame();
    const buf = wire(encodeMotionFrame(f));
    expect(liveFrameType(buf)).toBe(MOTION_FRAME_TYPE);
    const d = decodeMotionFrame(buf);
    expect(d).toMatchObject({ seq: f.seq, sentAt: f.sentAt, stamp: f.stamp, step: 7, n: 3, holding: [false, true] });
    expect(Array.from(d.points)).toEqual(Array.from(f.points));
    expect(Array.from(d.tools)).toEqual(Array.from(f.tools));
    expect(d.points.buffer).toBe(buf);
  });

  it('encodes from views into larger buffers (byteOffset) and with no tools or no points', () => {
    const big = new Float32Array(20).map((_, i) => i);
    const d = decodeMotionFrame(wire(encodeMotionFrame(frame({ points: big.subarray(5, 11), tools: new Float32Array(0), holding: [] }))));
    expect(Array.from(d.points)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(d.tools.length).toBe(0);
    expect(decodeMotionFrame(wire(encodeMotionFrame(frame({ points: new Float32Array(0) })))).n).toBe(0);
  });

  it.each([
    [{ points: new Float32Array(4) }, /motion points: expected a multiple of 3 floats \(\[n, 3\]\), received 4/],
    [{ tools: new Float32Array(27), holding: new Array(9).fill(0) }, /motion tools: expected at most 8, received 9/],
    [{ holding: [1] }, /motion holding: expected 2 flags \(one per tool\), received 1/],
    [{ step: 70_000 }, /motion step: expected an integer in \[0, 65535\], received 70000/],
  ])('refuses to encode %o', (over, err) => {
    expect(() => encodeMotionFrame(frame(over))).toThrow(err);
  });

  it('refuses short, long and foreign buffers, naming the counts', () => {
    const b = encodeMotionFrame(frame());
    expect(() => decodeMotionFrame(wire(b.subarray(0, 20)))).toThrow('motion frame: expected at least 32 bytes, received 20');
    expect(() => decodeMotionFrame(wire(b.subarray(0, b.length - 4)))).toThrow(`motion frame: expected 92 bytes for n=3, k=2, received 88`);
    const cloud = encodeLiveFrame({ seq: 1, sentAt: 0, stamp: 0, points: new Float32Array(6), meta: { step: 1 } });
    expect(() => decodeMotionFrame(wire(cloud))).toThrow('motion frame: expected type 2, received 1');
    expect(() => decodeLiveFrame(wire(b))).toThrow('live frame: expected type 1, received 2');
    expect(liveFrameType(wire(cloud))).toBe(LIVE_FRAME_TYPE);
    expect(liveFrameType(new ArrayBuffer(0))).toBe(-1);
  });
});
