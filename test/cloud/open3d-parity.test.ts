// Parity with Open3D 0.16 on a 4000-point bench scene: golden outputs from test/cloud/golden/make-open3d-golden.ts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cropToBox } from '../../src/cloud/crop.ts';
import { farthestPointSample } from '../../src/cloud/fps.ts';
import { removeStatisticalOutliers } from '../../src/cloud/outliers.ts';
import { removePlaneRansac } from '../../src/cloud/plane.ts';
import { voxelDownsample } from '../../src/cloud/voxel.ts';

const dir = new URL('./golden/', import.meta.url);
const bytes = readFileSync(new URL('open3d-input.f32', dir));
const input = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
const golden = JSON.parse(readFileSync(new URL('open3d-golden.json', dir), 'utf8')) as {
  crop_count: number;
  voxel_size: number;
  voxel_sorted: number[][];
  outlier_kept: number[];
  fps_k: number;
  fps_points: number[][];
  plane: number[];
  plane_inliers: number;
};

describe('parity with Open3D 0.16 (golden files)', () => {
  it('crop keeps the same points', () => {
    expect(cropToBox(input, { min: [-0.6, -0.45, -0.05], max: [0.6, 0.45, 0.4] }).length / 3).toBe(golden.crop_count);
  });

  it('voxel downsampling gives the same centroids', () => {
    const ours = voxelDownsample(input, { voxelSize: golden.voxel_size });
    const rows: number[][] = [];
    for (let i = 0; i < ours.length; i += 3) rows.push([ours[i]!, ours[i + 1]!, ours[i + 2]!]);
    rows.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!);
    expect(rows.length).toBe(golden.voxel_sorted.length);
    rows.forEach((r, i) => r.forEach((v, d) => expect(Math.abs(v - golden.voxel_sorted[i]![d]!)).toBeLessThan(1e-6)));
  });

  it('statistical outlier removal keeps exactly the same points', () => {
    const { keep } = removeStatisticalOutliers(input, { neighbors: 20, stdRatio: 2 });
    const kept: number[] = [];
    keep.forEach((v, i) => v && kept.push(i));
    expect(kept).toEqual(golden.outlier_kept);
  });

  // Open3D returns the sampled points in input-index order (SelectByIndex), not in choice order.
  it('farthest-point sampling from the first point picks the same points', () => {
    const { indices } = farthestPointSample(input, { k: golden.fps_k, start: 0 });
    const sorted = Array.from(indices).sort((a, b) => a - b);
    expect(sorted.length).toBe(golden.fps_points.length);
    sorted.forEach((i, s) => {
      for (let d = 0; d < 3; d++) expect(input[3 * i + d]).toBeCloseTo(golden.fps_points[s]![d]!, 6);
    });
  });

  it('RANSAC finds the same table plane (normal within 0.5°, inliers within 3 %)', () => {
    const r = removePlaneRansac(input, { distanceThreshold: 0.01, iterations: 200, seed: 0 });
    const g = golden.plane;
    const cos = Math.abs(r.plane[0] * g[0]! + r.plane[1] * g[1]! + r.plane[2] * g[2]!) / Math.hypot(g[0]!, g[1]!, g[2]!);
    expect((Math.acos(Math.min(1, cos)) * 180) / Math.PI).toBeLessThan(0.5);
    expect(Math.abs(r.inliers - golden.plane_inliers)).toBeLessThanOrEqual(0.03 * golden.plane_inliers);
  });
});
