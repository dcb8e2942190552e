import { describe, expect, it } from 'vitest';
import { removeStatisticalOutliers } from '../../src/cloud/outliers.ts';
import { randomCloud } from './_scenes.ts';

/** Open3D's statistic by brute force: mean distance to k nearest (self included), keep < mean + r·std. */
function bruteKeep(points: Float32Array, k: number, ratio: number): number[] {
  const n = points.length / 3;
  const avg = Array.from({ length: n }, (_, i) => {
    const d = Array.from({ length: n }, (_, j) => Math.hypot(points[3 * i]! - points[3 * j]!, points[3 * i + 1]! - points[3 * j + 1]!, points[3 * i + 2]! - points[3 * j + 2]!));
    d.sort((a, b) => a - b);
    return d.slice(0, k).reduce((s, v) => s + v, 0) / k;
  });
  const mean = avg.reduce((s, v) => s + v, 0) / n;
  const std = Math.sqrt(avg.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  return avg.map((v) => (v < mean + ratio * std ? 1 : 0));
}

describe('removeStatisticalOutliers', () => {
  const blob = randomCloud(800, 7, 0.05);
  const planted = Float32Array.of(0.4, 0.4, 0.4, -0.5, 0.2, 0.1, 0.3, -0.6, -0.2, 1, 1, 1);
  const points = new Float32Array([...blob, ...planted]);

  it('matches the brute-force Open3D statistic exactly', () => {
    const { keep, points: kept } = removeStatisticalOutliers(points, { neighbors: 20, stdRatio: 2 });
    expect(Array.from(keep)).toEqual(bruteKeep(points, 20, 2));
    expect(kept.length / 3).toBe(keep.reduce((s, v) => s + v, 0));
  });

  it('removes planted far points and keeps the blob', () => {
    const { keep } = removeStatisticalOutliers(points, { neighbors: 10, stdRatio: 1 });
    expect(Array.from(keep.subarray(800))).toEqual([0, 0, 0, 0]);
    expect(keep.subarray(0, 800).reduce((s, v) => s + v, 0)).toBeGreaterThan(720);
  });

  it('rejects bad parameters by name', () => {
    expect(() => removeStatisticalOutliers(points, { neighbors: 0 })).toThrow(/^neighbors: expected an integer >= 1/);
    expect(() => removeStatisticalOutliers(points, { stdRatio: -1 })).toThrow(/^stdRatio: expected a finite number >= 0/);
  });
});
