import { describe, expect, it } from 'vitest';
import { makeCloud } from '../../src/core/pointcloud.ts';
import {
  packPointCloud2,
  PointFieldType as T,
  readPointCloud2Field,
  readPointCloud2Rgb,
  readPointCloud2Xyz,
  unpackPointCloud2,
  writePointCloud2,
  type PointCloud2,
  type PointCloud2Layout,
} from '../../src/cloud/pointcloud2.ts';

const N = 6;
const xs = [0.1, -0.25, 0.5, 1.125, -2, 0.0625];
const ys = [0.2, 0.3, -0.4, 0.75, 3, -0.5];
const zs = [0.01, 0.02, 0.03, -0.04, 0.25, 1];
const colours = [0xff0000, 0x00ff00, 0x0000ff, 0x123456, 0xabcdef, 0x010203];

function xyzOf(idx: number[]): number[] {
  return idx.flatMap((i) => [xs[i]!, ys[i]!, zs[i]!]);
}

describe('PointCloud2 round trip', () => {
  it('standard x,y,z layout from a cloud and back', () => {
    const cloud = makeCloud(Float32Array.from(xyzOf([0, 1, 2, 3, 4, 5])), 'camera_0', 12.25);
    const msg = packPointCloud2(cloud);
    expect(msg).toMatchObject({ height: 1, width: N, point_step: 12, row_step: 72, is_bigendian: false, is_dense: true });
    expect(msg.header).toEqual({ stamp: { sec: 12, nanosec: 250_000_000 }, frame_id: 'camera_0' });
    expect(msg.fields.map((f) => [f.name, f.offset, f.datatype])).toEqual([['x', 0, T.FLOAT32], ['y', 4, T.FLOAT32], ['z', 8, T.FLOAT32]]);
    const back = unpackPointCloud2(msg);
    expect(back.points).toEqual(cloud.points);
    expect(back.frame).toBe('camera_0');
    expect(back.stamp).toBeCloseTo(12.25, 9);
    expect(back.rgb).toBeUndefined();
  });

  it('x,y,z,rgb with packed colour as RViz reads it', () => {
    const rgb = Uint8Array.from(colours.flatMap((c) => [(c >> 16) & 255, (c >> 8) & 255, c & 255]));
    const cloud = makeCloud(Float32Array.from(xyzOf([0, 1, 2, 3, 4, 5])), 'table', 0, rgb);
    const msg = packPointCloud2(cloud);
    expect(msg.point_step).toBe(16);
    expect(msg.fields[3]).toEqual({ name: 'rgb', offset: 12, datatype: T.FLOAT32, count: 1 });
    // Byte order within the packed float, little-endian: b, g, r, 0.
    expect(Array.from(msg.data.subarray(12 + 3 * 16, 16 + 3 * 16))).toEqual([0x56, 0x34, 0x12, 0]);
    const back = unpackPointCloud2(msg);
    expect(back.rgb).toEqual(rgb);
    expect(back.points).toEqual(cloud.points);
  });

  const layouts: [string, PointCloud2Layout][] = [
    [
      'padded point_step (PCL PointXYZRGB-like, 32 bytes) with intensity',
      {
        point_step: 32,
        fields: [
          { name: 'x', offset: 0, datatype: T.FLOAT32, count: 1 },
          { name: 'y', offset: 4, datatype: T.FLOAT32, count: 1 },
          { name: 'z', offset: 8, datatype: T.FLOAT32, count: 1 },
          { name: 'rgb', offset: 16, datatype: T.FLOAT32, count: 1 },
          { name: 'intensity', offset: 20, datatype: T.FLOAT32, count: 1 },
        ],
      },
    ],
    [
      'big endian FLOAT64 xyz with INT16 ring and UINT8 tag',
      {
        point_step: 27,
        is_bigendian: true,
        fields: [
          { name: 'tag', offset: 0, datatype: T.UINT8, count: 1 },
          { name: 'x', offset: 1, datatype: T.FLOAT64, count: 1 },
          { name: 'y', offset: 9, datatype: T.FLOAT64, count: 1 },
          { name: 'z', offset: 17, datatype: T.FLOAT64, count: 1 },
          { name: 'ring', offset: 25, datatype: T.INT16, count: 1 },
        ],
      },
    ],
    [
      'organized 2×3 with row padding, big endian float32 and rgba UINT32',
      {
        point_step: 16,
        height: 2,
        row_step: 3 * 16 + 8,
        is_bigendian: true,
        fields: [
          { name: 'z', offset: 0, datatype: T.FLOAT32, count: 1 },
          { name: 'y', offset: 4, datatype: T.FLOAT32, count: 1 },
          { name: 'x', offset: 8, datatype: T.FLOAT32, count: 1 },
          { name: 'rgba', offset: 12, datatype: T.UINT32, count: 1 },
        ],
      },
    ],
    [
      'little endian with every integer type and a count-3 normal',
      {
        point_step: 40,
        fields: [
          { name: 'x', offset: 0, datatype: T.FLOAT32, count: 1 },
          { name: 'y', offset: 4, datatype: T.FLOAT32, count: 1 },
          { name: 'z', offset: 8, datatype: T.FLOAT32, count: 1 },
          { name: 'i8', offset: 12, datatype: T.INT8, count: 1 },
          { name: 'u16', offset: 14, datatype: T.UINT16, count: 1 },
          { name: 'i32', offset: 16, datatype: T.INT32, count: 1 },
          { name: 'u32', offset: 20, datatype: T.UINT32, count: 1 },
          { name: 'normal', offset: 24, datatype: T.FLOAT32, count: 3 },
        ],
      },
    ],
  ];

  it.each(layouts)('%s', (_, layout) => {
    const columns: Record<string, number[]> = {
      x: xs,
      y: ys,
      z: zs,
      rgb: colours,
      rgba: colours,
      intensity: [1, 2, 3, 4, 5, 6],
      tag: [0, 1, 2, 3, 254, 255],
      ring: [-32768, -1, 0, 1, 2, 32767],
      i8: [-128, -1, 0, 1, 2, 127],
      u16: [0, 1, 2, 3, 4, 65535],
      i32: [-(2 ** 31), -5, 0, 5, 6, 2 ** 31 - 1],
      u32: [0, 1, 2, 3, 2 ** 31, 2 ** 32 - 1],
      normal: Array.from({ length: 18 }, (_, i) => i / 4),
    };
    const msg = writePointCloud2(layout, N, columns);
    expect(msg.data.length).toBe(msg.row_step * msg.height);
    const { points, sourceIndex } = readPointCloud2Xyz(msg);
    expect(sourceIndex).toBeNull();
    expect(points).toEqual(Float32Array.from(xyzOf([0, 1, 2, 3, 4, 5])));
    for (const f of layout.fields) {
      if (['x', 'y', 'z', 'rgb', 'rgba'].includes(f.name)) continue;
      expect(Array.from(readPointCloud2Field(msg, f.name)), f.name).toEqual(columns[f.name]);
    }
    const hasColour = layout.fields.some((f) => f.name === 'rgb' || f.name === 'rgba');
    const rgb = readPointCloud2Rgb(msg);
    if (hasColour) expect(Array.from(rgb!)).toEqual(colours.flatMap((c) => [(c >> 16) & 255, (c >> 8) & 255, c & 255]));
    else expect(rgb).toBeNull();
  });

  it('non-dense clouds drop NaN and infinite points, keeping colour aligned', () => {
    const layout = layouts[0]![1];
    const x = [...xs];
    const y = [...ys];
    const z = [...zs];
    x[1] = NaN;
    z[3] = Infinity;
    y[5] = NaN;
    const msg = writePointCloud2(layout, N, { x, y, z, rgb: colours, intensity: [1, 2, 3, 4, 5, 6] });
    expect(msg.is_dense).toBe(false);
    const { points, sourceIndex } = readPointCloud2Xyz(msg);
    expect(Array.from(sourceIndex!)).toEqual([0, 2, 4]);
    expect(points).toEqual(Float32Array.from(xyzOf([0, 2, 4])));
    const cloud = unpackPointCloud2(msg, { frame: 'camera_1' });
    expect(cloud.frame).toBe('camera_1');
    expect(Array.from(cloud.rgb!)).toEqual([255, 0, 0, 0, 0, 255, 0xab, 0xcd, 0xef]);
    // A dense message keeps NaNs as they are (the driver promised there are none).
    const dense: PointCloud2 = { ...msg, is_dense: true };
    expect(readPointCloud2Xyz(dense).points.length).toBe(3 * N);
    // Packing marks a cloud with NaNs as not dense.
    expect(packPointCloud2(makeCloud(Float32Array.of(0, NaN, 0), 'table')).is_dense).toBe(false);
  });

  it('reads a message whose data is an unaligned view into a larger buffer', () => {
    const msg = packPointCloud2(makeCloud(Float32Array.from(xyzOf([0, 1, 2])), 'table'));
    const big = new Uint8Array(msg.data.length + 3);
    big.set(msg.data, 1);
    const shifted = { ...msg, data: big.subarray(1, 1 + msg.data.length) };
    expect(readPointCloud2Xyz(shifted).points).toEqual(Float32Array.from(xyzOf([0, 1, 2])));
  });
});

describe('malformed PointCloud2 is rejected naming the field', () => {
  const good = () => packPointCloud2(makeCloud(Float32Array.from(xyzOf([0, 1, 2])), 'table'));
  it.each<[string, (m: PointCloud2) => PointCloud2, RegExp]>([
    ['short data', (m) => ({ ...m, data: m.data.subarray(0, 20) }), /^data: expected row_step · height = 36 · 1 = 36 bytes .* received "20 bytes"/],
    ['long data', (m) => ({ ...m, data: new Uint8Array(40) }), /^data: expected .*36 bytes/],
    ['row_step below width · point_step', (m) => ({ ...m, row_step: 20 }), /^row_step: expected at least width · point_step = 3 · 12 = 36 bytes, received 20/],
    ['unknown datatype', (m) => ({ ...m, fields: m.fields.map((f) => (f.name === 'y' ? { ...f, datatype: 9 } : f)) }), /^fields\[1\] \("y"\)\.datatype: expected one of INT8=1.*received 9/],
    ['missing x', (m) => ({ ...m, fields: m.fields.filter((f) => f.name !== 'x') }), /^fields\.x: expected a field named "x", received "y,z"/],
    ['missing z', (m) => ({ ...m, fields: m.fields.filter((f) => f.name !== 'z') }), /^fields\.z: expected a field named "z"/],
    ['field past point_step', (m) => ({ ...m, fields: m.fields.map((f) => (f.name === 'z' ? { ...f, offset: 10 } : f)) }), /^fields\[2\] \("z"\)\.offset: expected offset \+ 4 · count within point_step = 12, received 10/],
    ['negative width', (m) => ({ ...m, width: -1 }), /^width: expected an integer >= 0, received -1/],
    ['data not bytes', (m) => ({ ...m, data: [1, 2, 3] as unknown as Uint8Array }), /^data: expected a Uint8Array/],
  ])('%s', (_, spoil, message) => {
    expect(() => readPointCloud2Xyz(spoil(good()))).toThrow(message);
  });

  it('rejects a frame_id outside the frame names unless a frame is given', () => {
    const m = { ...good(), header: { stamp: { sec: 0, nanosec: 0 }, frame_id: 'base_link' } };
    expect(() => unpackPointCloud2(m)).toThrow(/^header\.frame_id: expected table, object or camera_<name>/);
    expect(unpackPointCloud2(m, { frame: 'camera_base' }).frame).toBe('camera_base');
  });

  it('rejects a packed colour that is not 4 bytes', () => {
    const m = writePointCloud2(
      { point_step: 13, fields: [{ name: 'x', offset: 0, datatype: T.FLOAT32, count: 1 }, { name: 'y', offset: 4, datatype: T.FLOAT32, count: 1 }, { name: 'z', offset: 8, datatype: T.FLOAT32, count: 1 }, { name: 'rgb', offset: 12, datatype: T.UINT8, count: 1 }] },
      1,
      { x: [0], y: [0], z: [0], rgb: [7] },
    );
    expect(() => readPointCloud2Rgb(m)).toThrow(/\("rgb"\)\.datatype: expected a 4-byte packed colour/);
  });
});
