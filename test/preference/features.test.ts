import { describe, expect, it } from 'vitest';
import type { Primitive } from '../../src/core/primitive.ts';
import type { PointCloud } from '../../src/core/pointcloud.ts';
import { Rng } from '../../src/core/rng.ts';
import {
  DEFAULT_REWARD_FEATURES,
  FeatureConfigSchema,
  POINT_FEATURES,
  POINT_REWARD_FEATURES,
  candidateFeatureDim,
  candidateFeatureNames,
  candidateFeatures,
  pointBlockDim,
} from '../../src/preference/features.ts';

const box = { min: [-0.4, -0.3, 0] as [number, number, number], max: [0.4, 0.3, 0.3] as [number, number, number] };

function moved(cloud: Float32Array, prims: Primitive[], angle: number, dx: number, dy: number): { cloud: PointCloud; prims: Primitive[] } {
  const c = Math.cos(angle), s = Math.sin(angle);
  const tf = (p: readonly number[]): [number, number, number] => [c * p[0]! - s * p[1]! + dx, s * p[0]! + c * p[1]! + dy, p[2]!];
  const pts = new Float32Array(cloud.length);
  for (let i = 0; i < cloud.length; i += 3) pts.set(tf([cloud[i]!, cloud[i + 1]!, cloud[i + 2]!]), i);
  return { cloud: { points: pts, frame: 'table', stamp: 0 }, prims: prims.map((p) => ({ ...p, a: tf(p.a), b: tf(p.b) })) };
}

describe('reward features', () => {
  const rng = new Rng(3);
  // an arc of rope-like points and two candidate actions
  const cloud = Float32Array.from({ length: 60 * 3 }, (_, k) => {
    const i = Math.floor(k / 3);
    const t = (i / 60) * Math.PI;
    return k % 3 === 0 ? 0.1 * Math.cos(t) : k % 3 === 1 ? 0.1 * Math.sin(t) : 0.01;
  });
  const prims: Primitive[] = [
    { kind: 'pick_place', a: [0.1, 0, 0.01], b: [0.05, -0.08, 0.01] },
    { kind: 'pick_place', a: [-0.1, 0, 0.01], b: [rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1), 0.01] },
  ];

  it('candidateFeatureNames names every column where candidateFeatures writes it', () => {
    const cfg = { ...DEFAULT_REWARD_FEATURES, grid: 2 };
    const names = candidateFeatureNames(cfg);
    expect(names).toHaveLength(candidateFeatureDim(cfg));
    const f = candidateFeatures({ points: cloud, frame: 'table', stamp: 0 }, box, prims, cfg);
    const at = (name: string) => f[names.indexOf(name)]!;
    // candidate 0's place point, workspace-normalised: (0.05 − 0) / 0.4 and (−0.08 − 0) / 0.3
    expect(at('b_x')).toBeCloseTo(0.05 / 0.4, 5);
    expect(at('b_y')).toBeCloseTo(-0.08 / 0.3, 5);
    // the pick lies on the cloud, the place 0.02+ m away from it; the grid is a distribution
    expect(at('nearest_a')).toBeLessThan(at('nearest_b'));
    expect(['grid_0', 'grid_1', 'grid_2', 'grid_3'].reduce((a, n) => a + at(n), 0)).toBeCloseTo(1, 5);
    expect(at('turn_cos') ** 2 + at('turn_sin') ** 2).toBeCloseTo(1, 5);
  });

  it('object-frame features do not change when the scene is moved and turned', () => {
    const cfg = { ...DEFAULT_REWARD_FEATURES, radii: [] };
    const dim = candidateFeatureDim(cfg);
    expect(dim).toBe(6 + 2 + 8 + 6);
    const f0 = candidateFeatures({ points: cloud, frame: 'table', stamp: 0 }, box, prims, cfg);
    const m = moved(cloud, prims, 1.1, 0.07, -0.05);
    const f1 = candidateFeatures(m.cloud, box, m.prims, cfg);
    const obj = (f: Float32Array, k: number) => Array.from(f.subarray(k * dim + 8, (k + 1) * dim));
    for (const k of [0, 1]) obj(f1, k).forEach((v, j) => expect(v).toBeCloseTo(obj(f0, k)[j]!, 5));
    // the histogram is a distribution; the pick of candidate 0 sits on the arc, its radius ≈ 0.1 m off the centroid
    expect(obj(f0, 0).slice(0, 8).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // …while the workspace-normalised action block does move
    expect(Array.from(f1.subarray(0, 6))).not.toEqual(Array.from(f0.subarray(0, 6)));
  });

  it('the point block holds the cloud in each candidate\'s frame: origin at the pick, x towards the place', () => {
    const cfg = { ...POINT_REWARD_FEATURES, points: { count: 80, extent: 0.3 } };
    const dim = candidateFeatureDim(cfg);
    const block = pointBlockDim(cfg);
    expect(block).toBe(80 * POINT_FEATURES);
    expect(candidateFeatureNames(cfg).slice(dim - block, dim - block + 2)).toEqual(['pt0_u', 'pt0_v']);
    const pts = (f: Float32Array, k: number) => f.subarray(k * dim + dim - block, (k + 1) * dim);
    const f0 = candidateFeatures({ points: cloud, frame: 'table', stamp: 0 }, box, prims, cfg);
    // 80 draws from 60 points: every point once before any repeats, so the arc's point at the pick (0.1, 0) is in
    const p0 = pts(f0, 0);
    const d = Math.hypot(0.05 - 0.1, -0.08) / 0.3;
    let atPick = -1;
    for (let q = 0; q < 80; q++) if (Math.abs(p0[q * 6]!) < 1e-6 && Math.abs(p0[q * 6 + 1]!) < 1e-6) atPick = q;
    expect(atPick).toBeGreaterThanOrEqual(0);
    expect(p0[atPick * 6 + 2]).toBeCloseTo(-d, 5);
    expect(p0[atPick * 6 + 5]).toBeCloseTo(d, 5);
    // every point: the distances agree with its coordinates
    for (let q = 0; q < 80; q++) {
      expect(p0[q * 6 + 4]).toBeCloseTo(Math.hypot(p0[q * 6]!, p0[q * 6 + 1]!), 5);
      expect(p0[q * 6 + 3]).toBeCloseTo(p0[q * 6 + 1]!, 6);
    }
    // moving and turning the whole scene changes none of it
    const m = moved(cloud, prims, -2.3, -0.1, 0.04);
    const f1 = candidateFeatures(m.cloud, box, m.prims, cfg);
    for (const k of [0, 1]) pts(f1, k).forEach((v, j) => expect(v).toBeCloseTo(pts(f0, k)[j]!, 4));
    // an empty cloud gives zeros, not NaN
    const e = candidateFeatures({ points: new Float32Array(0), frame: 'table', stamp: 0 }, box, prims, cfg);
    expect(Array.from(pts(e, 1)).every((v) => v === 0)).toBe(true);
  });

  it('files saved before object features parse with them off; grid 1 is refused', () => {
    const old = FeatureConfigSchema.parse({ grid: 12, radii: [0.02, 0.05] });
    expect(old.object).toBeNull();
    expect(old.points).toBeNull();
    expect(candidateFeatureDim(old)).toBe(144 + 6 + 4 + 2);
    expect(() => FeatureConfigSchema.parse({ grid: 1 })).toThrow(/grid.*0 \(no grid\) or at least 2/s);
  });
});
