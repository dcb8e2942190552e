import { describe, expect, it } from 'vitest';
import { clipToUnitBox, fromObjectFrame, objectFrameFor, toObjectFrame } from '../../src/cloud/object-frame.ts';
import { randomCloud } from './_scenes.ts';

describe('object frame', () => {
  const cloud = randomCloud(3000, 2, 0.2).map((v, i) => v * [1.5, 0.7, 0.2][i % 3]! + [0.3, -0.1, 0.05][i % 3]!);

  it('maps the object into ±1, touching 1 on the longest axis, and back exactly', () => {
    const frame = objectFrameFor(cloud);
    const obj = toObjectFrame(cloud, frame);
    let max = 0;
    for (const v of obj) max = Math.max(max, Math.abs(v));
    expect(max).toBeLessThanOrEqual(1);
    expect(max).toBeGreaterThan(0.9999);
    const back = fromObjectFrame(obj, frame);
    for (let i = 0; i < cloud.length; i++) expect(Math.abs(back[i]! - cloud[i]!)).toBeLessThan(1e-6);
  });

  it('includes action points, honours margin, and round-trips Float64 actions to 1e-12', () => {
    const actions = Float64Array.of(0.9, 0.05, 0.1, -0.2, -0.3, 0.02); // a pick outside the cloud's box
    const frame = objectFrameFor(cloud, { include: actions, margin: 0.1 });
    const a = toObjectFrame(actions, frame);
    expect(a).toBeInstanceOf(Float64Array);
    for (const v of [...a, ...toObjectFrame(cloud, frame)]) expect(Math.abs(v)).toBeLessThanOrEqual(1 / 1.1 + 1e-6);
    const back = fromObjectFrame(a, frame);
    for (let i = 0; i < actions.length; i++) expect(back[i]).toBeCloseTo(actions[i]!, 12);
  });

  it('writes into a caller buffer and clips predictions to ±1', () => {
    const frame = { center: [0, 0, 0] as [number, number, number], scale: 2 };
    const out = new Float32Array(3);
    expect(toObjectFrame(Float32Array.of(2, -4, 1), frame, out)).toBe(out);
    expect(Array.from(out)).toEqual([1, -2, 0.5]);
    expect(Array.from(clipToUnitBox(out))).toEqual([1, -1, 0.5]);
  });

  it('rejects bad input by name', () => {
    expect(() => objectFrameFor(new Float32Array(0))).toThrow(/^points: expected at least one point/);
    expect(() => objectFrameFor(Float32Array.of(0, NaN, 0))).toThrow(/^points\[0\]: expected finite coordinates/);
    expect(() => objectFrameFor(cloud, { margin: -1 })).toThrow(/^margin: expected a finite number >= 0/);
  });
});
