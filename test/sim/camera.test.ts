import { describe, expect, it } from 'vitest';
import { DepthCamera, captureCloud, type RenderScene } from '../../sim/camera.ts';

const table: [number, number, number, number] = [-0.5, -0.4, 0.5, 0.4];

function scene(spheres: number[], triangles: number[] = []): RenderScene {
  return {
    spheres: Float32Array.from(spheres),
    sphereCount: spheres.length / 4,
    triangles: Float32Array.from(triangles),
    triangleCount: triangles.length / 9,
    table,
  };
}

describe('virtual depth camera', () => {
  it('sees only visible surfaces: a sheet above a ball hides the ball', () => {
    const cam = new DepthCamera({ sigma0: 0, sigma2: 0, dropout: 0, edgeDropout: 0 });
    const ball = [0, 0, 0.03, 0.03];
    const sheet = [-0.1, -0.1, 0.1, 0.1, -0.1, 0.1, 0.1, 0.1, 0.1, -0.1, -0.1, 0.1, 0.1, 0.1, 0.1, -0.1, 0.1, 0.1];
    const alone = captureCloud([cam], scene(ball), { seed: 1, budget: 0 }).points;
    expect(alone.length).toBeGreaterThan(100);
    let top = 0;
    for (let i = 2; i < alone.length; i += 3) top = Math.max(top, alone[i]!);
    expect(top).toBeCloseTo(0.06, 2);
    const covered = captureCloud([cam], scene(ball, sheet), { seed: 1, budget: 0 }).points;
    for (let i = 0; i < covered.length; i += 3) {
      // every point is on the sheet (z = 0.1) or outside it, never the ball under it
      const under = Math.abs(covered[i]!) < 0.09 && Math.abs(covered[i + 1]!) < 0.09;
      if (under) expect(covered[i + 2]!).toBeCloseTo(0.1, 4);
    }
  });

  it('adds depth noise of the stated size, drops pixels and keeps the point budget', () => {
    const cam = new DepthCamera({ sigma0: 0.002, sigma2: 0, dropout: 0.2, edgeDropout: 0 });
    const raw = captureCloud([cam], scene([]), { seed: 3, table: true, budget: 0 }).points;
    const clean = new DepthCamera({ sigma0: 0.002, sigma2: 0, dropout: 0, edgeDropout: 0 });
    const pixels = captureCloud([clean], scene([]), { seed: 3, table: true, budget: 0 }).points.length / 3;
    const n = raw.length / 3;
    expect(n / pixels).toBeGreaterThan(0.75);
    expect(n / pixels).toBeLessThan(0.85);
    let s2 = 0;
    for (let i = 2; i < raw.length; i += 3) s2 += raw[i]! * raw[i]!;
    // depth noise along a ray tilted ≤ ~40° from vertical shows as 0.75–1.0 × sigma in z
    const zStd = Math.sqrt(s2 / n);
    expect(zStd).toBeGreaterThan(0.0013);
    expect(zStd).toBeLessThan(0.0022);
    const budgeted = captureCloud([cam], scene([]), { seed: 3, table: true, budget: 1000 }).points;
    expect(budgeted.length / 3).toBe(1000);
    // cropping the table leaves only the noise tail above the crop height: ~4σ with the default sensor
    expect(captureCloud([new DepthCamera()], scene([]), { seed: 3 }).points.length / 3).toBeLessThan(20);
  });

  it('is deterministic for a seed and different across seeds', () => {
    const cam = new DepthCamera();
    const s = scene([0.05, 0.02, 0.02, 0.02]);
    const a = captureCloud([cam], s, { seed: 9 }).points;
    const b = captureCloud([cam], s, { seed: 9 }).points;
    const c = captureCloud([cam], s, { seed: 10 }).points;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });
});
