import { describe, expect, it } from 'vitest';
import { makeCloud } from '../../src/core/index.ts';
import { STATE_FEATURES, TEACHER_METRIC, stateFeatures, teacherScore } from '../../src/transfer/index.ts';

describe('teacherScore', () => {
  const m = { iou: 0.4, coverage: 0.8, chamfer: 0.02, emd: 0.03 };
  it.each([
    ['rope-circle', 0.4],
    ['rope-u', 0.4],
    ['granular-t', 0.4],
    ['cloth-unfold', 0.8],
  ])('%s compares its success metric', (task, want) => {
    expect(teacherScore(task, m)).toBe(want);
  });

  it('is NaN when the task lacks its metric', () => {
    expect(teacherScore('cloth-unfold', { iou: 0.5 })).toBeNaN();
  });

  it('covers every family', () => {
    expect(Object.keys(TEACHER_METRIC).sort()).toEqual(['cloth', 'granular', 'rope']);
  });
});

describe('stateFeatures', () => {
  // four points on a 0.2 × 0.1 m rectangle centred at (0.1, −0.05), rotated 90° about z
  const cloud = makeCloud(Float32Array.from([0.05, -0.15, 0, 0.15, -0.15, 0, 0.05, 0.05, 0, 0.15, 0.05, 0]), 'table');

  it('gives one value per named feature: metrics, then centroid and principal spreads', () => {
    const f = stateFeatures({ iou: 0.3, coverage: 0.7, chamfer: 0.01, emd: 0.02 }, cloud);
    expect(f.length).toBe(STATE_FEATURES.length);
    const at = (name: (typeof STATE_FEATURES)[number]) => f[STATE_FEATURES.indexOf(name)]!;
    expect([at('iou'), at('coverage'), at('chamfer'), at('emd')]).toEqual([0.3, 0.7, 0.01, 0.02]);
    expect(at('cx')).toBeCloseTo(0.1, 6);
    expect(at('cy')).toBeCloseTo(-0.05, 6);
    expect(at('spread_major')).toBeCloseTo(0.1, 6); // std of ±0.1 along y
    expect(at('spread_minor')).toBeCloseTo(0.05, 6);
  });

  it('reads a metric the task does not have as 0 (rope has no coverage)', () => {
    const f = stateFeatures({ iou: 0.5, chamfer: 0.01, emd: 0.02 }, cloud);
    expect(f[STATE_FEATURES.indexOf('coverage')]).toBe(0);
  });
});
