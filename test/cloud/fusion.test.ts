import { describe, expect, it } from 'vitest';
import type { RigidTransform } from '../../src/core/geometry.ts';
import { fuseCamerasToTable } from '../../src/cloud/fusion.ts';

/** camera → table: rotation about z by `yaw`, then translation t. */
function extrinsics(frame: `camera_${string}`, yaw: number, t: [number, number, number]): RigidTransform {
  const c = Math.cos(yaw), s = Math.sin(yaw);
  return { from: frame, to: 'table', matrix: Float64Array.of(c, -s, 0, t[0], s, c, 0, t[1], 0, 0, 1, t[2], 0, 0, 0, 1) };
}

describe('fuseCamerasToTable', () => {
  // The table point (1, 0, 0.5) seen by two cameras with different poses.
  const cam0 = { cloud: { points: Float32Array.of(1, 0, 0.5 - 1), frame: 'camera_0' as const, stamp: 10 }, extrinsics: extrinsics('camera_0', 0, [0, 0, 1]) };
  // camera_1 is rotated 90° and sits at (1, -1, 0): p_cam = R⁻¹ (p_table − t) = (-1, 0, 0.5)... check: R·(1,0,0.5)+t
  const cam1 = { cloud: { points: Float32Array.of(1, 0, 0.5), frame: 'camera_1' as const, stamp: 10.02 }, extrinsics: extrinsics('camera_1', Math.PI / 2, [1, -1, 0]) };

  it('moves every view into the table frame and merges them', () => {
    const f = fuseCamerasToTable([cam0, cam1]);
    expect(f.cloud.frame).toBe('table');
    expect(f.cloud.stamp).toBe(10.02);
    expect(f.fused).toEqual(['camera_0', 'camera_1']);
    expect(Array.from(f.cloud.points).map((v) => +v.toFixed(6))).toEqual([1, 0, 0.5, 1, 0, 0.5]);
  });

  it('leaves out views too far apart in time, or throws when strict', () => {
    const late = { ...cam1, cloud: { ...cam1.cloud, stamp: 10.2 } };
    const f = fuseCamerasToTable([cam0, late], { toleranceS: 0.05 });
    expect(f.fused).toEqual(['camera_1']);
    expect(f.skipped).toEqual([{ frame: 'camera_0', reason: expect.stringMatching(/0\.200 s from the reference 10\.200 s \(tolerance 0\.05 s\)/) }]);
    expect(() => fuseCamerasToTable([cam0, late], { toleranceS: 0.05, strict: true })).toThrow(/^views\[0\]\.cloud\.stamp: expected within 0\.05 s of 10\.200 s, received 10/);
    expect(fuseCamerasToTable([cam0, late], { toleranceS: 0.5 }).fused).toHaveLength(2);
  });

  it('keeps colour only when every fused view has it', () => {
    const withRgb = { ...cam0, cloud: { ...cam0.cloud, rgb: Uint8Array.of(1, 2, 3) } };
    expect(fuseCamerasToTable([withRgb]).cloud.rgb).toEqual(Uint8Array.of(1, 2, 3));
    expect(fuseCamerasToTable([withRgb, cam1]).cloud.rgb).toBeUndefined();
  });

  it('rejects extrinsics that do not match the cloud frame', () => {
    const wrong = { ...cam1, extrinsics: extrinsics('camera_9', 0, [0, 0, 0]) };
    expect(() => fuseCamerasToTable([cam0, wrong])).toThrow(/^views\[1\]\.extrinsics\.from: expected the cloud's frame "camera_1", received "camera_9"/);
    expect(() => fuseCamerasToTable([])).toThrow(/^views: expected at least one camera view/);
  });
});
