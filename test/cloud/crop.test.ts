import { describe, expect, it } from 'vitest';
import { cropToBox } from '../../src/cloud/crop.ts';

describe('cropToBox', () => {
  const box = { min: [0, 0, 0], max: [1, 1, 1] } as { min: [number, number, number]; max: [number, number, number] };
  it('keeps points inside, bounds included, in input order, and drops NaN', () => {
    const pts = Float32Array.of(0.5, 0.5, 0.5, 1, 1, 1, 1.01, 0.5, 0.5, 0, 0, 0, NaN, 0.5, 0.5, 0.2, -0.001, 0.3, 0.9, 0.1, 0.2);
    expect(Array.from(cropToBox(pts, box))).toEqual(Array.from(Float32Array.of(0.5, 0.5, 0.5, 1, 1, 1, 0, 0, 0, 0.9, 0.1, 0.2)));
  });
  it('rejects a box with min above max, naming the axis', () => {
    expect(() => cropToBox(new Float32Array(3), { min: [0, 2, 0], max: [1, 1, 1] })).toThrow(/^box\.min\[1\]: expected a number <= box\.max\[1\] = 1, received 2/);
  });
});
