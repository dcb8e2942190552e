import { describe, expect, it } from 'vitest';
import { KdTree } from '../../src/cloud/kdtree.ts';
import { SpatialGrid } from '../../src/cloud/spatial-grid.ts';
import { randomCloud } from './_scenes.ts';

function bruteKnn(points: Float32Array, q: [number, number, number], k: number): number[] {
  const d: [number, number][] = [];
  for (let i = 0; i < points.length / 3; i++)
    d.push([(points[3 * i]! - q[0]) ** 2 + (points[3 * i + 1]! - q[1]) ** 2 + (points[3 * i + 2]! - q[2]) ** 2, i]);
  d.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return d.slice(0, k).map((e) => e[0]);
}

describe('exact kNN structures', () => {
  // A dense cluster, a sparse halo and far isolated points: what outlier removal sees.
  const cluster = randomCloud(3000, 1, 0.05);
  const halo = randomCloud(200, 2, 0.5);
  const far = Float32Array.of(3, 3, 3, -2, 0, 1);
  const points = new Float32Array([...cluster, ...halo, ...far]);
  const queries: [number, number, number][] = [[0, 0, 0], [0.3, -0.2, 0.1], [3, 3, 3], [10, -10, 0], [0.049, 0.049, -0.05]];
  for (let i = 0; i < points.length; i += 3 * 97) queries.push([points[i]!, points[i + 1]!, points[i + 2]!]);

  it.each([1, 5, 20])('KdTree.knn matches brute force, k = %i', (k) => {
    const tree = new KdTree(points);
    const idx = new Int32Array(k), d2 = new Float64Array(k);
    for (const q of queries) {
      expect(tree.knn(q[0], q[1], q[2], k, idx, d2)).toBe(k);
      const want = bruteKnn(points, q, k);
      expect(Array.from(d2)).toEqual(want.map((v) => expect.closeTo(v, 12)));
      for (let j = 0; j < k; j++) {
        const i = idx[j]!;
        expect((points[3 * i]! - q[0]) ** 2 + (points[3 * i + 1]! - q[1]) ** 2 + (points[3 * i + 2]! - q[2]) ** 2).toBeCloseTo(d2[j]!, 12);
      }
    }
  });

  it.each([0.005, 0.05, 1])('SpatialGrid.knn and nearest match brute force, cell %f m', (cell) => {
    const grid = new SpatialGrid(points, cell);
    const idx = new Int32Array(7), d2 = new Float64Array(7);
    for (const q of queries) {
      grid.knn(q[0], q[1], q[2], 7, idx, d2);
      const want = bruteKnn(points, q, 7);
      expect(Array.from(d2)).toEqual(want.map((v) => expect.closeTo(v, 12)));
      grid.nearest(q[0], q[1], q[2]);
      expect(grid.lastDist2).toBeCloseTo(want[0]!, 12);
    }
  });

  it.each([[1, 1], [11, 10], [21, 10], [41, 3], [333, 1], [1000, 7]])('handles n = %i with leaf size %i (odd splits)', (n, leaf) => {
    const pts = points.subarray(0, 3 * n);
    const tree = new KdTree(pts, leaf);
    const k = Math.min(5, n);
    const idx = new Int32Array(k), d2 = new Float64Array(k);
    for (const q of queries.slice(0, 6)) {
      expect(tree.knn(q[0], q[1], q[2], k, idx, d2)).toBe(k);
      expect(Array.from(d2)).toEqual(bruteKnn(pts, q, k).map((v) => expect.closeTo(v, 12)));
    }
  });

  it('a limit known to hold k points gives the same answer, and a point exactly at the limit is kept', () => {
    const tree = new KdTree(points);
    const idx = new Int32Array(8), d2 = new Float64Array(8);
    for (const q of queries) {
      const want = bruteKnn(points, q, 8);
      expect(tree.knn(q[0], q[1], q[2], 8, idx, d2, want[7]!)).toBe(8);
      expect(Array.from(d2)).toEqual(want.map((v) => expect.closeTo(v, 12)));
    }
  });

  it('returns fewer than k when the cloud is smaller', () => {
    const tree = new KdTree(Float32Array.of(0, 0, 0, 1, 1, 1));
    const idx = new Int32Array(5), d2 = new Float64Array(5);
    expect(tree.knn(0, 0, 0, 5, idx, d2)).toBe(2);
    expect(Array.from(idx.subarray(0, 2))).toEqual([0, 1]);
  });
});
