import { describe, expect, it } from 'vitest';
import { removePlaneRansac } from '../../src/cloud/plane.ts';
import { tableScene, tiltedNormal } from './_scenes.ts';

describe('removePlaneRansac', () => {
  const normal = tiltedNormal((12 * Math.PI) / 180, (-7 * Math.PI) / 180);
  const origin: [number, number, number] = [0.1, -0.2, 0.35];
  const scene = tableScene({ normal, origin, nPlane: 20000, nObject: 3000, noise: 0.002, seed: 4 });

  it.each([
    ['subset scoring (default)', {}],
    ['scoring on every point', { scoreSubset: 0 }],
    ['no early stop', { probability: 1, iterations: 100 }],
  ])('finds a tilted plane within tolerance: %s', (_, extra) => {
    const r = removePlaneRansac(scene.points, { distanceThreshold: 0.01, seed: 1, ...extra });
    const [a, b, c, d] = r.plane;
    expect(Math.hypot(a, b, c)).toBeCloseTo(1, 9);
    const angle = Math.acos(Math.min(1, a * normal[0] + b * normal[1] + c * normal[2]));
    expect((angle * 180) / Math.PI).toBeLessThan(0.5);
    // Distance of the true plane's origin to the found plane.
    expect(Math.abs(a * origin[0] + b * origin[1] + c * origin[2] + d)).toBeLessThan(0.001);
    // Nearly all object points kept, nearly all plane points removed.
    const objects = scene.isObject.reduce((s, v) => s + v, 0);
    expect(r.points.length / 3).toBeGreaterThanOrEqual(objects * 0.99);
    expect(r.points.length / 3).toBeLessThanOrEqual(objects + 20);
    expect(r.inliers + r.points.length / 3).toBe(scene.points.length / 3);
  });

  it('is deterministic for a seed and stops early on a dominant plane', () => {
    const a = removePlaneRansac(scene.points, { seed: 9 });
    const b = removePlaneRansac(scene.points, { seed: 9 });
    expect(b.plane).toEqual(a.plane);
    expect(b.points).toEqual(a.points);
    expect(a.iterationsRun).toBeLessThan(200);
    expect(removePlaneRansac(scene.points, { seed: 9, probability: 1 }).iterationsRun).toBe(200);
  });

  it('orients the normal up and rejects bad parameters by name', () => {
    const flipped = tableScene({ normal: [0, 0, -1], nPlane: 2000, nObject: 0, seed: 2 });
    expect(removePlaneRansac(flipped.points).plane[2]).toBeGreaterThan(0.99);
    expect(() => removePlaneRansac(scene.points, { distanceThreshold: -1 })).toThrow(/^distanceThreshold: expected a finite number > 0/);
    expect(() => removePlaneRansac(scene.points, { iterations: 0 })).toThrow(/^iterations: expected an integer >= 1/);
    expect(() => removePlaneRansac(scene.points, { probability: 0 })).toThrow(/^probability: expected a number in \(0, 1\]/);
  });
});
