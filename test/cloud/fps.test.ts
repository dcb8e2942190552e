import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import { farthestPointSample } from '../../src/cloud/fps.ts';
import { randomCloud, tableScene } from './_scenes.ts';

function minPairwise(points: Float32Array): number {
  let best = Infinity;
  for (let i = 0; i < points.length; i += 3)
    for (let j = i + 3; j < points.length; j += 3)
      best = Math.min(best, Math.hypot(points[i]! - points[j]!, points[i + 1]! - points[j + 1]!, points[i + 2]! - points[j + 2]!));
  return best;
}

describe('farthestPointSample', () => {
  const scene = tableScene({ normal: [0, 0, 1], nPlane: 3000, nObject: 2000, seed: 3 }).points;

  it.each([[64], [300], [1000]])('returns K distinct points spread at least as well as a random subset (K = %i)', (k) => {
    const { points, indices } = farthestPointSample(scene, { k, seed: 1 });
    expect(indices.length).toBe(k);
    expect(new Set(indices).size).toBe(k);
    for (let s = 0; s < k; s++) expect(points[3 * s]).toBe(scene[3 * indices[s]!]);
    const fpsMin = minPairwise(points);
    const rng = new Rng(5);
    for (let trial = 0; trial < 5; trial++) {
      const pick = rng.shuffle(Array.from({ length: scene.length / 3 }, (_, i) => i)).slice(0, k);
      const sub = Float32Array.from(pick.flatMap((i) => [scene[3 * i]!, scene[3 * i + 1]!, scene[3 * i + 2]!]));
      expect(fpsMin).toBeGreaterThanOrEqual(minPairwise(sub));
    }
  });

  it('the cell-pruned method picks exactly the exhaustive method’s indices', () => {
    for (const [pts, k] of [[scene, 700], [randomCloud(4000, 9, 0.3), 1500]] as const) {
      const a = farthestPointSample(pts, { k, start: 17, method: 'cells' });
      const b = farthestPointSample(pts, { k, start: 17, method: 'exhaustive' });
      expect(Array.from(a.indices)).toEqual(Array.from(b.indices));
    }
  });

  it('is deterministic for a seed and returns everything when k ≥ n', () => {
    expect(farthestPointSample(scene, { k: 100, seed: 4 }).indices).toEqual(farthestPointSample(scene, { k: 100, seed: 4 }).indices);
    expect(farthestPointSample(scene, { k: 100, seed: 4 }).indices[0]).not.toBe(farthestPointSample(scene, { k: 100, seed: 5 }).indices[0]);
    const small = randomCloud(10, 1);
    expect(new Set(farthestPointSample(small, { k: 50 }).indices).size).toBe(10);
  });

  it('rejects bad parameters by name', () => {
    expect(() => farthestPointSample(scene, { k: 0 })).toThrow(/^k: expected an integer >= 1/);
    expect(() => farthestPointSample(scene, { k: 5, start: 1e9 })).toThrow(/^start: expected an integer in \[0, 4999\]/);
  });
});
