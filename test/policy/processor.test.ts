import { describe, expect, it } from 'vitest';
import type { Primitive } from '../../src/core/primitive.ts';
import { PolicyProcessor, snapPicksToCloud } from '../../src/policy/processor.ts';

function strip(n: number, y: number): Float32Array {
  const p = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) p.set([0.1 + (0.3 * i) / (n - 1), y, 0.006], i * 3);
  return p;
}

/** Three strips 5 mm apart around y: an object a few voxels wide, as a rope's or a cloth edge's cloud is. */
function band(n: number, y: number): Float32Array {
  const p = new Float32Array(n * 9);
  [-0.005, 0, 0.005].forEach((dy, r) => p.set(strip(n, y + dy), r * n * 3));
  return p;
}

describe('PolicyProcessor', () => {
  const proc = new PolicyProcessor({ scale: 0.35 }, 64);

  it('preprocesses a table-frame cloud to exactly `points` object-frame points centred on the x-y box', () => {
    const obs = proc.observation({ points: band(500, 0.05), frame: 'table', stamp: 0 });
    expect(obs.points.length).toBe(64 * 3);
    expect(obs.frame.center[0]).toBeCloseTo(0.25, 2);
    expect(obs.frame.center[1]).toBeCloseTo(0.05, 5);
    expect(obs.frame.center[2]).toBe(0);
    expect(obs.frame.scale).toBe(0.35);
    let xmax = -Infinity;
    for (let i = 0; i < 64; i++) xmax = Math.max(xmax, obs.points[i * 3]!);
    // the 3σ outlier filter may trim the last 5 mm voxel at a thin object's ends, no more
    expect(xmax).toBeGreaterThan((0.15 - 0.006) / 0.35);
    expect(xmax).toBeLessThan(0.15 / 0.35 + 1e-6);
  });

  it('keeps the table origin with center: table (a goal fixed on the table stays visible)', () => {
    const fixed = new PolicyProcessor({ scale: 0.35, center: 'table' }, 64);
    const obs = fixed.observation({ points: band(500, 0.05), frame: 'table', stamp: 0 });
    expect(obs.frame.center).toEqual([0, 0, 0]);
    let xmax = -Infinity;
    for (let i = 0; i < 64; i++) xmax = Math.max(xmax, obs.points[i * 3]!);
    expect(xmax).toBeGreaterThan((0.4 - 0.006) / 0.35);
    expect(xmax).toBeLessThan(0.4 / 0.35 + 1e-6);
    expect(() => new PolicyProcessor({ center: 'robot' } as never, 8)).toThrow(/center/);
  });

  it('drops a stray point far from the object before sampling, which farthest-point sampling would take first', () => {
    // a depth-noise tail: one table point that passed the height crop, 25 cm from the object
    const cloud = new Float32Array([...band(500, 0.05), 0.1, 0.3, 0.006]);
    const maxY = (pts: Float32Array) => Math.max(...Array.from({ length: pts.length / 3 }, (_, i) => pts[i * 3 + 1]!));
    expect(maxY(proc.observation(cloud).tablePoints)).toBeLessThan(0.06);
    const raw = new PolicyProcessor({ scale: 0.35, preprocess: { box: null, plane: null, voxel: { voxelSize: 0.005 }, outliers: null } }, 64);
    expect(maxY(raw.observation(cloud).tablePoints)).toBeCloseTo(0.3, 5);
  });

  it('repeats points when the object shows fewer than `points`', () => {
    const obs = proc.observation(strip(10, 0));
    expect(obs.points.length).toBe(64 * 3);
  });

  it('maps actions to the object frame and back, counting clipped coordinates', () => {
    const obs = proc.observation(strip(500, 0));
    const p: Primitive = { kind: 'pick_place', a: [0.2, 0.01, 0.006], b: [0.3, -0.1, 0.006] };
    const far: Primitive = { kind: 'pick_place', a: [0.2, 0, 0], b: [2, 0, 0] };
    const { actions, outside } = proc.actionsToObject([p, far], obs.frame);
    expect(outside).toBe(1);
    expect(actions[9]).toBe(1);
    const back = proc.actionsToTable(actions.subarray(0, 6), 'pick_place', obs.frame)[0]!;
    for (let i = 0; i < 3; i++) {
      expect(back.a[i]).toBeCloseTo(p.a[i]!, 6);
      expect(back.b[i]).toBeCloseTo(p.b[i]!, 6);
    }
  });

  it('refuses an empty cloud and a cloud in another frame', () => {
    expect(() => proc.observation(new Float32Array(0))).toThrow(/no object points left after preprocessing/);
    expect(() => proc.observation({ points: strip(5, 0), frame: 'camera_0', stamp: 0 })).toThrow(/expected a cloud in the table frame, received frame camera_0/);
    expect(() => new PolicyProcessor({ scale: -1 }, 8)).toThrow(/scale/);
  });

  it('snaps picks onto the nearest object point and places at its height', () => {
    const [s] = snapPicksToCloud([{ kind: 'pick_place', a: [0.2, 0.03, -0.01], b: [0, 0.1, -0.02] }], strip(4, 0));
    expect(s!.a[0]).toBeCloseTo(0.2, 6);
    expect(s!.a[1]).toBe(0);
    expect(s!.a[2]).toBeCloseTo(0.006, 6);
    expect(s!.b).toEqual([0, 0.1, s!.a[2]]);
  });
});
