import { describe, expect, it } from 'vitest';
import { preprocessChain, type PreprocessParamsInput } from '../../src/cloud/preprocess.ts';
import { tableScene } from './_scenes.ts';

describe('preprocessChain', () => {
  const scene = tableScene({ normal: [0, 0, 1], nPlane: 30000, nObject: 12000, noise: 0.002, seed: 8 });
  const far = Float32Array.of(5, 5, 5, -3, 0, 0); // outside the box
  const points = new Float32Array([...scene.points, ...far]);
  const params: PreprocessParamsInput = { box: { min: [-1, -1, -0.1], max: [1, 1, 1] }, fps: { k: 500 }, seed: 3 };

  it('runs every stage, shrinking the cloud, and keeps the object only', () => {
    const r = preprocessChain(points, params);
    expect(r.counts.crop).toBe(scene.points.length / 3);
    expect(r.counts.plane).toBeLessThan(r.counts.crop);
    expect(r.counts.voxel).toBeLessThanOrEqual(r.counts.plane);
    expect(r.counts.outliers).toBeLessThanOrEqual(r.counts.voxel);
    expect(r.counts.fps).toBe(500);
    expect(r.points.length).toBe(1500);
    for (let i = 2; i < r.points.length; i += 3) expect(r.points[i]).toBeGreaterThan(0.01); // above the table
    expect(r.plane![2]).toBeGreaterThan(0.999);
    expect(Object.values(r.stageMs).every((t) => t >= 0)).toBe(true);
  });

  it('is deterministic for a seed and skips stages set to null', () => {
    expect(preprocessChain(points, params).points).toEqual(preprocessChain(points, params).points);
    const r = preprocessChain(points, { ...params, plane: null, outliers: null, voxel: null, fps: null });
    expect(r.points.length).toBe(scene.points.length);
    expect(r.plane).toBeNull();
  });

  it('rejects unknown or out-of-range parameters naming them', () => {
    expect(() => preprocessChain(points, { voxel: { voxelSize: -1 } })).toThrow(/voxel\.voxelSize/);
    expect(() => preprocessChain(points, { fps: { k: 10, K: 3 } } as never)).toThrow(/fps: Unrecognized key: "K"/);
  });
});

describe('preprocessChain on degenerate input', () => {
  it('passes an empty cloud through and drops NaN points', () => {
    const empty = preprocessChain(new Float32Array(0));
    expect(empty.points.length).toBe(0);
    expect(Object.values(empty.counts)).toEqual([0, 0, 0, 0, 0]);
    const withNaN = Float32Array.of(NaN, 0, 0, 0, NaN, 0.1, 0.2, 0.2, 0.05);
    expect(Array.from(preprocessChain(withNaN, { plane: null }).points)).toEqual([0.20000000298023224, 0.20000000298023224, 0.05000000074505806]);
  });
});
