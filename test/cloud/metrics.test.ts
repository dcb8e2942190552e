import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.ts';
import {
  chamferDistance,
  earthMoverDistance,
  normalizedCoverage,
  occupancyIoU2D,
  occupancyIoU2DRotationSearch,
  topDownArea,
} from '../../src/cloud/metrics.ts';

/** Points at the centres of cells [ix0, ix1) × [iy0, iy1) of size `cell`, at height z. */
function cellBlock(ix0: number, ix1: number, iy0: number, iy1: number, cell = 0.01, z = 0): Float32Array {
  const out: number[] = [];
  for (let iy = iy0; iy < iy1; iy++) for (let ix = ix0; ix < ix1; ix++) out.push((ix + 0.5) * cell, (iy + 0.5) * cell, z);
  return Float32Array.from(out);
}

/** A dense rectangle w × h (metres) centred at (cx, cy), rotated by theta, spacing 2 mm. */
function rectangle(w: number, h: number, cx = 0, cy = 0, theta = 0, spacing = 0.002): Float32Array {
  const out: number[] = [];
  const c = Math.cos(theta), s = Math.sin(theta);
  for (let y = -h / 2 + spacing / 2; y < h / 2; y += spacing)
    for (let x = -w / 2 + spacing / 2; x < w / 2; x += spacing) out.push(cx + c * x - s * y, cy + s * x + c * y, 0);
  return Float32Array.from(out);
}

function randomCloud(n: number, seed: number, scale = 0.1): Float32Array {
  const r = new Rng(seed);
  const out = new Float32Array(3 * n);
  for (let i = 0; i < out.length; i++) out[i] = r.uniform(-scale, scale);
  return out;
}

/** A rope-like curve (a 0.15 m circle with noise, 1 cm thick). */
function ropeCloud(n: number, seed: number, cx = 0): Float32Array {
  const r = new Rng(seed);
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const t = r.uniform(0, 2 * Math.PI);
    const rad = 0.15 + r.normal(0, 0.004);
    out[3 * i] = cx + rad * Math.cos(t);
    out[3 * i + 1] = rad * Math.sin(t);
    out[3 * i + 2] = 0.005 + r.normal(0, 0.003);
  }
  return out;
}

function bruteChamfer(a: Float32Array, b: Float32Array): number {
  const dir = (p: Float32Array, q: Float32Array) => {
    let s = 0;
    for (let i = 0; i < p.length; i += 3) {
      let best = Infinity;
      for (let j = 0; j < q.length; j += 3) best = Math.min(best, Math.hypot(p[i]! - q[j]!, p[i + 1]! - q[j + 1]!, p[i + 2]! - q[j + 2]!));
      s += best;
    }
    return s / (p.length / 3);
  };
  return dir(a, b) + dir(b, a);
}

describe('occupancyIoU2D', () => {
  it.each([
    ['identical', cellBlock(0, 10, 0, 10), cellBlock(0, 10, 0, 10), 1],
    ['disjoint', cellBlock(0, 10, 0, 10), cellBlock(20, 30, 0, 10), 0],
    ['half shifted', cellBlock(0, 10, 0, 10), cellBlock(5, 15, 0, 10), 1 / 3],
    ['contained', cellBlock(0, 10, 0, 10), cellBlock(0, 5, 0, 10), 0.5],
  ])('%s squares give the known IoU', (_, a, b, want) => {
    expect(occupancyIoU2D(a, b, { cellSize: 0.01 })).toBeCloseTo(want, 12);
  });

  it('ignores height and is symmetric', () => {
    const a = cellBlock(0, 10, 0, 10, 0.01, 0.3);
    const b = cellBlock(5, 15, 0, 10, 0.01, -0.2);
    expect(occupancyIoU2D(a, b)).toBeCloseTo(occupancyIoU2D(b, a), 12);
    expect(occupancyIoU2D(a, b)).toBeCloseTo(1 / 3, 12);
  });

  it('splatRadius closes gaps in a sparse cloud', () => {
    const sparse = cellBlock(0, 20, 0, 20, 0.02); // one point every other 1 cm cell
    const dense = cellBlock(0, 40, 0, 40, 0.01);
    expect(occupancyIoU2D(sparse, dense, { cellSize: 0.01 })).toBeLessThan(0.3);
    expect(occupancyIoU2D(sparse, dense, { cellSize: 0.01, splatRadius: 0.0142 })).toBeGreaterThan(0.9);
  });

  it('handles empty clouds and rejects bad parameters naming them', () => {
    expect(occupancyIoU2D(new Float32Array(0), new Float32Array(0))).toBe(1);
    expect(occupancyIoU2D(cellBlock(0, 2, 0, 2), new Float32Array(0))).toBe(0);
    expect(() => occupancyIoU2D(cellBlock(0, 2, 0, 2), cellBlock(0, 2, 0, 2), { cellSize: 0 })).toThrow(/cellSize: expected a finite number > 0/);
    expect(() => occupancyIoU2D(new Float32Array(4), cellBlock(0, 2, 0, 2))).toThrow(/a\.length: expected a multiple of 3/);
    expect(() => occupancyIoU2D(Float32Array.of(0, NaN, 0), cellBlock(0, 2, 0, 2))).toThrow(/a\[0\]: expected finite x, y and z/);
    expect(() => chamferDistance(cellBlock(0, 2, 0, 2), Float32Array.of(0, 0, 0, 1, 1, Infinity))).toThrow(/^b\[1\]: expected finite x, y and z, received "1, 1, Infinity"/);
  });
});

describe('occupancyIoU2DRotationSearch', () => {
  it('recovers a rotated and moved rectangle', () => {
    const target = rectangle(0.3, 0.1);
    const moved = rectangle(0.3, 0.1, 0.2, -0.1, Math.PI / 6);
    expect(occupancyIoU2D(moved, target)).toBe(0);
    const { iou, angle } = occupancyIoU2DRotationSearch(moved, target, { cellSize: 0.005 });
    expect(iou).toBeGreaterThan(0.9);
    // The rectangle has 180° symmetry: -30° ≡ 150° ≡ 330°.
    const deg = ((angle * 180) / Math.PI) % 180;
    expect(Math.abs(deg - 150)).toBeLessThan(1.5);
  });

  it('equals the plain IoU at best for a circle (rotation invariant) and is 1 for itself', () => {
    const ring = ropeCloud(4000, 3);
    expect(occupancyIoU2DRotationSearch(ring, ring).iou).toBeCloseTo(1, 12);
    const plain = occupancyIoU2D(ring, ropeCloud(4000, 4));
    const searched = occupancyIoU2DRotationSearch(ring, ropeCloud(4000, 4)).iou;
    expect(searched).toBeGreaterThanOrEqual(plain - 0.05);
  });

  it('without centroid alignment keeps placement', () => {
    const target = rectangle(0.2, 0.2);
    const far = rectangle(0.2, 0.2, 1, 0);
    expect(occupancyIoU2DRotationSearch(far, target, { alignCentroids: false }).iou).toBe(0);
    expect(occupancyIoU2DRotationSearch(far, target).iou).toBeGreaterThan(0.95);
  });
});

describe('coverage', () => {
  it('measures the area of a flat square and of its half', () => {
    const sq = rectangle(0.5, 0.5, 0.25, 0.25);
    expect(topDownArea(sq, { cellSize: 0.01 })).toBeCloseTo(0.25, 6);
    expect(normalizedCoverage(sq, 0.25)).toBeCloseTo(1, 6);
    const half = rectangle(0.5, 0.25, 0.25, 0.125);
    expect(normalizedCoverage(half, 0.25)).toBeCloseTo(0.5, 6);
    expect(normalizedCoverage(half, sq)).toBeCloseTo(0.5, 6);
    expect(normalizedCoverage(sq, 0.2, { clip: false })).toBeCloseTo(1.25, 6);
    expect(normalizedCoverage(sq, 0.2)).toBe(1);
    expect(() => normalizedCoverage(sq, 0)).toThrow(/reference: expected an area > 0/);
  });
});

describe('chamferDistance', () => {
  it('is twice the offset for a plane grid shifted along its normal', () => {
    const a = cellBlock(0, 30, 0, 30, 0.01, 0);
    const b = cellBlock(0, 30, 0, 30, 0.01, 0.004);
    const r = chamferDistance(a, b);
    expect(r.aToB).toBeCloseTo(0.004, 6);
    expect(r.chamfer).toBeCloseTo(0.008, 6);
    expect(chamferDistance(a, b, { squared: true }).chamfer).toBeCloseTo(2 * 0.004 ** 2, 9);
    expect(chamferDistance(a, a).chamfer).toBe(0);
  });

  it('matches brute force on random clouds of different sizes and spreads', () => {
    for (const [na, nb, seed] of [[300, 500, 1], [1000, 20, 2], [1, 700, 3]] as const) {
      const a = randomCloud(na, seed, 0.05);
      const b = randomCloud(nb, seed + 100, 0.3);
      expect(chamferDistance(a, b).chamfer).toBeCloseTo(bruteChamfer(a, b), 6);
    }
  });

  it('rejects empty clouds', () => {
    expect(() => chamferDistance(new Float32Array(0), randomCloud(3, 1))).toThrow(/a: expected a non-empty cloud/);
  });
});

describe('earthMoverDistance', () => {
  it('is the translation length for a translated copy', () => {
    const a = randomCloud(200, 5);
    const b = a.map((v, i) => v + (i % 3 === 0 ? 0.03 : i % 3 === 1 ? 0.04 : 0));
    const r = earthMoverDistance(a, b);
    expect(r.method).toBe('hungarian');
    expect(r.emd).toBeCloseTo(0.05, 6);
  });

  it('matches brute force over all permutations for tiny clouds', () => {
    const perms = (n: number): number[][] =>
      n === 0 ? [[]] : perms(n - 1).flatMap((p) => Array.from({ length: n }, (_, k) => [...p.slice(0, k), n - 1, ...p.slice(k)]));
    for (const seed of [1, 2, 3]) {
      const a = randomCloud(6, seed);
      const b = randomCloud(6, seed + 10);
      let best = Infinity;
      for (const p of perms(6)) {
        let s = 0;
        for (let i = 0; i < 6; i++) s += Math.hypot(a[3 * i]! - b[3 * p[i]!]!, a[3 * i + 1]! - b[3 * p[i]! + 1]!, a[3 * i + 2]! - b[3 * p[i]! + 2]!);
        best = Math.min(best, s / 6);
      }
      expect(earthMoverDistance(a, b).emd).toBeCloseTo(best, 9);
    }
  });

  it('is at least the Chamfer half-terms and deterministic for a seed', () => {
    const a = ropeCloud(500, 1);
    const b = ropeCloud(500, 2, 0.05);
    const r = earthMoverDistance(a, b);
    expect(r).toMatchObject({ method: 'hungarian', errorBound: 0, subsampled: false, pointsMatched: 500 });
    const c = chamferDistance(a, b);
    expect(r.emd).toBeGreaterThanOrEqual(Math.max(c.aToB, c.bToA) - 1e-9);
    const big = ropeCloud(1500, 7);
    const r1 = earthMoverDistance(big, b, { seed: 3 });
    expect(r1).toMatchObject({ subsampled: true, pointsMatched: 500 });
    expect(earthMoverDistance(big, b, { seed: 3 }).emd).toBe(r1.emd);
    expect(earthMoverDistance(big, b, { seed: 4 }).emd).not.toBe(r1.emd);
  });

  it('auction stays within its stated bound of the exact value', () => {
    const n = 800;
    for (const [a, b] of [
      [ropeCloud(n, 11), ropeCloud(n, 12, 0.03)],
      [ropeCloud(n, 13), ropeCloud(n, 14, 0.002)],
    ] as const) {
      const exact = earthMoverDistance(a, b, { maxExactPoints: n });
      const approx = earthMoverDistance(a, b, { epsilon: 1e-5 });
      expect(exact.method).toBe('hungarian');
      expect(approx).toMatchObject({ method: 'auction', errorBound: 1e-5, subsampled: false });
      expect(approx.emd).toBeGreaterThanOrEqual(exact.emd - 1e-9);
      expect(approx.emd - exact.emd).toBeLessThanOrEqual(1e-5);
    }
  });

  it('rejects bad options naming them', () => {
    const a = randomCloud(5, 1);
    expect(() => earthMoverDistance(a, a, { epsilon: 0 })).toThrow(/epsilon: expected a finite number > 0/);
    expect(() => earthMoverDistance(a, a, { maxPoints: 0 })).toThrow(/maxPoints: expected an integer >= 1/);
  });
});
