import { describe, expect, it } from 'vitest';
import { cameraCloudToTableBox } from '../../src/cloud/camera-to-table.ts';
import { cropToBox } from '../../src/cloud/crop.ts';
import { fuseCamerasToTable } from '../../src/cloud/fusion.ts';
import { readPointCloud2Xyz, type PointCloud2 } from '../../src/cloud/pointcloud2.ts';
import { Rng } from '../../src/core/rng.ts';

/** An organised W×H cloud with NaN holes, x,y,z float32 at `offsets` in `step`-byte points. */
function organised(step: number, offsets: [number, number, number], bigEndian = false): PointCloud2 {
  const W = 40, H = 30;
  const rng = new Rng(3);
  const data = new Uint8Array(W * H * step);
  const dv = new DataView(data.buffer);
  for (let i = 0; i < W * H; i++) {
    const nan = rng.next() < 0.1;
    const v = [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0.2, 1.5)];
    offsets.forEach((o, d) => dv.setFloat32(i * step + o, nan ? NaN : v[d]!, !bigEndian));
  }
  return {
    header: { stamp: { sec: 5, nanosec: 0 }, frame_id: 'cam' },
    height: H,
    width: W,
    fields: ['x', 'y', 'z'].map((name, d) => ({ name, offset: offsets[d]!, datatype: 7, count: 1 })),
    is_bigendian: bigEndian,
    point_step: step,
    row_step: step * W,
    data,
    is_dense: false,
  };
}

const M = Float64Array.from([0, -1, 0, 0.1, -1, 0, 0, 0.05, 0, 0, -1, 0.9, 0, 0, 0, 1]);
const box = { min: [-0.5, -0.4, -0.1] as [number, number, number], max: [0.5, 0.4, 0.5] as [number, number, number] };

describe('cameraCloudToTableBox', () => {
  it.each([
    ['aligned, padded (point_step 16)', organised(16, [0, 4, 8])],
    ['unaligned offsets (point_step 13)', organised(13, [1, 5, 9])],
    ['big-endian', organised(16, [0, 4, 8], true)],
  ])('%s: equals read → transform → crop point for point, NaN dropped', (_, msg) => {
    const cloud = { points: readPointCloud2Xyz(msg).points, frame: 'camera_0' as const, stamp: 5 };
    const slow = cropToBox(fuseCamerasToTable([{ cloud, extrinsics: { from: 'camera_0', to: 'table', matrix: M } }]).cloud.points, box);
    const fast = cameraCloudToTableBox(msg, M, box);
    expect(fast.length).toBeGreaterThan(0);
    expect(fast.every((v) => Number.isFinite(v))).toBe(true);
    expect(Array.from(fast)).toEqual(Array.from(slow));
  });
  it('refuses a matrix that is not 4×4', () => {
    expect(() => cameraCloudToTableBox(organised(16, [0, 4, 8]), [1, 0, 0], box)).toThrow(/matrix.length: expected 16 \(row-major 4×4\), received 3/);
  });
});
