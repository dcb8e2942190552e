import { describe, expect, it } from 'vitest';
import { voxelDownsample } from '../../src/cloud/voxel.ts';
import { randomCloud } from './_scenes.ts';

/** Voxel keys as Open3D anchors them (min bound − size/2). */
function keys(points: Float32Array, origin: [number, number, number], size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < points.length; i += 3)
    out.push([0, 1, 2].map((d) => Math.floor((points[i + d]! - origin[d]!) / size)).join(','));
  return out;
}

describe('voxelDownsample', () => {
  it('leaves at most one point per voxel, one for every occupied voxel', () => {
    const pts = randomCloud(20000, 3, 0.1);
    const size = 0.01;
    const origin: [number, number, number] = [0, 1, 2].map((d) => {
      let m = Infinity;
      for (let i = d; i < pts.length; i += 3) m = Math.min(m, pts[i]!);
      return m - size / 2;
    }) as [number, number, number];
    const out = voxelDownsample(pts, { voxelSize: size });
    const outKeys = keys(out, origin, size);
    expect(new Set(outKeys).size).toBe(outKeys.length);
    expect(new Set(keys(pts, origin, size)).size).toBe(outKeys.length);
  });

  it('replaces each voxel by the centroid of its points, in order of first point', () => {
    const pts = Float32Array.of(0, 0, 0, 0.2, 0.2, 0.2, 0.002, 0.001, 0, 0.201, 0.2, 0.2, 0.001, 0.002, 0.003);
    const out = voxelDownsample(pts, { voxelSize: 0.01 });
    expect(out.length).toBe(6);
    expect(out[0]).toBeCloseTo(0.001, 7);
    expect(out[1]).toBeCloseTo(0.001, 7);
    expect(out[2]).toBeCloseTo(0.001, 7);
    expect(out[3]).toBeCloseTo(0.2005, 7);
  });

  it('rejects a bad voxel size by name', () => {
    expect(() => voxelDownsample(new Float32Array(3), { voxelSize: 0 })).toThrow(/^voxelSize: expected a finite number > 0/);
  });
});

describe('voxelDownsample with non-finite points', () => {
  it('drops NaN and infinite points and keeps the rest', () => {
    const pts = Float32Array.of(0, 0, 0, NaN, 0, 0, 0.001, 0, 0, -Infinity, 1, 1, 1, 1, 1);
    expect(Array.from(voxelDownsample(pts, { voxelSize: 0.01 }))).toEqual([0.0005000000237487257, 0, 0, 1, 1, 1]);
    expect(voxelDownsample(Float32Array.of(NaN, NaN, NaN), { voxelSize: 0.01 }).length).toBe(0);
  });
});
