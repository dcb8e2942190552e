// ONNX Runtime sampler vs the tfjs one on every committed policy: same noise in, same candidates out.
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PointCloud } from '../../src/core/pointcloud.ts';
import { Rng } from '../../src/core/rng.ts';
import { initBackend } from '../../src/nn/backend.ts';
import { loadPolicy } from '../../src/policy/checkpoint.ts';
import { OnnxPolicyProposer, samplerNoise } from '../../src/policy/onnx-proposer.ts';
import { PolicyProposer } from '../../src/policy/proposer.ts';

const ROOT = new URL('../../policies/', import.meta.url).pathname;
/** Every committed policy folder (sl, dpo, …) of every task. */
const policyDirs = readdirSync(ROOT).flatMap((task) =>
  readdirSync(join(ROOT, task), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(ROOT, task, d.name, 'policy.json')))
    .map((d) => join(task, d.name)),
);

/** A table-frame cloud: a noisy curved band of points on the table (a rope-like object). */
function tableCloud(seed: number): PointCloud {
  const rng = new Rng(seed);
  const n = 600;
  const pts = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const s = rng.next();
    pts[i * 3] = 0.3 * Math.cos(3 * s) + 0.004 * rng.normal();
    pts[i * 3 + 1] = 0.2 * Math.sin(5 * s) + 0.004 * rng.normal();
    pts[i * 3 + 2] = 0.01 + 0.002 * rng.next();
  }
  return { points: pts, frame: 'table', stamp: 0 };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Every number of a JSON value, in order. */
function numbers(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.flatMap(numbers);
  if (v && typeof v === 'object') return Object.values(v).flatMap(numbers);
  return [];
}

describe('OnnxPolicyProposer', () => {
  beforeAll(async () => {
    await initBackend({ log: null });
  });

  it('finds the committed policies', () => {
    expect(policyDirs.length).toBeGreaterThanOrEqual(6);
  });

  it('draws the tfjs sampler\'s noise: x_T first, then one draw per step', () => {
    const a = samplerNoise(3, 4, 10, 1);
    const b = samplerNoise(3, 4, 10, 0);
    expect(maxAbsDiff(a.noise, b.noise)).toBe(0);
    expect(b.z).toBeNull();
    expect(a.z!.length).toBe(10 * 4 * 6);
    const rng = new Rng(3);
    const all = rng.fillNormal(new Float32Array(11 * 24));
    expect(maxAbsDiff(a.z!, all.subarray(24))).toBe(0);
  });

  it.each(policyDirs)('%s: same candidates as tfjs (≤ 1e-4), eta 1 and eta 0', async (dir) => {
    const { model, processor } = loadPolicy(join(ROOT, dir), { trainable: false });
    try {
      for (const eta of [1, 0]) {
        const tf = new PolicyProposer(model, processor, { eta });
        const ort = await OnnxPolicyProposer.fromModel(model, processor, { eta });
        for (const seed of [0, 7]) {
          const cloud = tableCloud(seed + 11);
          const a = tf.sample(cloud, 32, seed);
          const b = await ort.sample(cloud, 32, seed);
          expect(maxAbsDiff(a.objectActions, b.objectActions)).toBeLessThanOrEqual(1e-4);
          expect(b.primitives.length).toBe(32);
          // table frame (snapped picks are cloud points): the same primitives to the same tolerance
          expect(b.primitives.map((p) => p.kind)).toEqual(a.primitives.map((p) => p.kind));
          expect(maxAbsDiff(numbers(b.primitives), numbers(a.primitives))).toBeLessThanOrEqual(1e-4);
        }
        await ort.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  it('refuses a cloud of the wrong size and a bad n, naming them', async () => {
    const ort = await OnnxPolicyProposer.fromDir(join(ROOT, policyDirs[0]!));
    await expect(ort.sampleObject(new Float32Array(9), 4, 0)).rejects.toThrow(/^points: expected 128 × 3/);
    await expect(ort.sampleObject(new Float32Array(128 * 3), 0, 0)).rejects.toThrow(/^n: expected an integer ≥ 1/);
    await ort.dispose();
  });
});
