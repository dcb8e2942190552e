// Table plane removal: seeded RANSAC plane fit, least-squares refinement, and removal of its inliers.
import { FieldError } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';

/** Parameters of `removePlaneRansac`. */
export interface PlaneRansacParams {
  /**
   * A point is on the plane when its distance to it is at most this, metres.
   * @default 0.01
   */
  distanceThreshold?: number;
  /**
   * Plane hypotheses drawn (3 random points each).
   * @default 200
   */
  iterations?: number;
  /**
   * Hypotheses are scored on a fixed random subset of this many points (preemptive scoring); the
   * winner is then refit by least squares on all its inliers and those are removed. 0 scores on
   * every point (as Open3D does; slower, same plane within noise).
   * @default 4096
   */
  scoreSubset?: number;
  /**
   * Stop early once a plane with this probability of being the best has been drawn (Open3D's rule:
   * iterations ≥ log(1 − p) / log(1 − w³), w = best inlier fraction so far). 1 never stops early.
   * @default 0.99999999
   */
  probability?: number;
  /** @default 0 */
  seed?: number;
}

/** Plane n·p + d = 0 with |n| = 1 and n_z ≥ 0 (pointing up for a table), metres. */
export type Plane = [number, number, number, number];

/** What plane removal found and kept. */
export interface PlaneRemoval {
  /** Points farther than the threshold from the plane, input order, [m, 3]. */
  points: Float32Array;
  plane: Plane;
  /** Points removed as on the plane. */
  inliers: number;
  /** Hypotheses drawn (below `iterations` when `probability` stopped early). */
  iterationsRun: number;
}

/**
 * Finds the dominant plane by RANSAC and removes its inliers. Deterministic for a seed.
 * Fewer than 3 points: nothing is removed and the plane is [0, 0, 1, 0].
 */
export function removePlaneRansac(points: Float32Array, params: PlaneRansacParams = {}): PlaneRemoval {
  const threshold = params.distanceThreshold ?? 0.01;
  const iterations = params.iterations ?? 200;
  const subsetSize = params.scoreSubset ?? 4096;
  const probability = params.probability ?? 0.99999999;
  if (points.length % 3 !== 0) throw new FieldError('points.length', 'a multiple of 3 ([n, 3] xyz)', points.length);
  if (!(threshold > 0) || !Number.isFinite(threshold)) throw new FieldError('distanceThreshold', 'a finite number > 0 (metres)', threshold);
  if (!Number.isInteger(iterations) || iterations < 1) throw new FieldError('iterations', 'an integer >= 1', iterations);
  if (!Number.isInteger(subsetSize) || subsetSize < 0) throw new FieldError('scoreSubset', 'an integer >= 0', subsetSize);
  if (!(probability > 0 && probability <= 1)) throw new FieldError('probability', 'a number in (0, 1]', probability);
  const n = points.length / 3;
  if (n < 3) return { points: points.slice(), plane: [0, 0, 1, 0], inliers: 0, iterationsRun: 0 };
  const rng = new Rng(params.seed ?? 0);
  // The scoring subset: a strided copy from a random start when smaller than the cloud (the bench
  // and cameras interleave surfaces, and a stride avoids a second random stream per point).
  let sub = points;
  if (subsetSize > 0 && subsetSize < n) {
    sub = new Float32Array(3 * subsetSize);
    const stride = n / subsetSize;
    const off = rng.next() * stride;
    for (let i = 0; i < subsetSize; i++) {
      const s = 3 * Math.min(n - 1, Math.floor(off + i * stride));
      sub[3 * i] = points[s]!;
      sub[3 * i + 1] = points[s + 1]!;
      sub[3 * i + 2] = points[s + 2]!;
    }
  }
  let bestCount = -1;
  let best: Plane = [0, 0, 1, 0];
  let needed = iterations;
  const subN = sub.length / 3;
  let it = 0;
  for (; it < needed; it++) {
    const i = rng.int(n), j = rng.int(n), k = rng.int(n);
    if (i === j || j === k || i === k) continue;
    const ax = points[3 * i]!, ay = points[3 * i + 1]!, az = points[3 * i + 2]!;
    const ux = points[3 * j]! - ax, uy = points[3 * j + 1]! - ay, uz = points[3 * j + 2]! - az;
    const vx = points[3 * k]! - ax, vy = points[3 * k + 1]! - ay, vz = points[3 * k + 2]! - az;
    let nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    const len = Math.hypot(nx, ny, nz);
    if (!(len > 1e-12)) continue; // collinear sample
    nx /= len;
    ny /= len;
    nz /= len;
    const d = -(nx * ax + ny * ay + nz * az);
    const count = countInliers(sub, nx, ny, nz, d, threshold);
    if (count > bestCount) {
      bestCount = count;
      best = [nx, ny, nz, d];
      const w = count / subN;
      if (probability < 1 && w > 0) {
        const est = w >= 1 ? 0 : Math.log(1 - probability) / Math.log(1 - w * w * w);
        needed = Math.min(iterations, Math.ceil(est));
      }
    }
  }
  // Refit on the inliers of the whole cloud (least squares), as the sample plane is only 3 points.
  let plane = refitPlane(points, best, threshold) ?? best;
  if (plane[2] < 0) plane = [-plane[0], -plane[1], -plane[2], -plane[3]];
  const kept = pointsOffPlane(points, plane, threshold);
  return { points: kept, plane, inliers: n - kept.length / 3, iterationsRun: it };
}

// The hot loops live in small functions of their own: V8 then optimizes each with complete type
// feedback instead of deoptimizing a long multi-phase function (which boxes doubles meanwhile).

/** Points of [n, 3] `sub` within `threshold` of the plane n·p + d = 0. */
function countInliers(sub: Float32Array, nx: number, ny: number, nz: number, d: number, threshold: number): number {
  let count = 0;
  for (let p = 0; p < sub.length; p += 3) {
    const dist = nx * sub[p]! + ny * sub[p + 1]! + nz * sub[p + 2]! + d;
    if (dist <= threshold && dist >= -threshold) count++;
  }
  return count;
}

/** The points farther than `threshold` from `plane`, in input order (a new array). */
function pointsOffPlane(points: Float32Array, plane: Plane, threshold: number): Float32Array {
  const px = plane[0], py = plane[1], pz = plane[2], pd = plane[3];
  const out = new Float32Array(points.length);
  let w = 0;
  for (let p = 0; p < points.length; p += 3) {
    const x = points[p]!, y = points[p + 1]!, z = points[p + 2]!;
    const dist = px * x + py * y + pz * z + pd;
    if (dist > threshold || dist < -threshold) {
      out[w] = x;
      out[w + 1] = y;
      out[w + 2] = z;
      w += 3;
    }
  }
  return out.slice(0, w);
}

/** Least-squares plane through the points within `threshold` of `plane` (smallest-eigenvector of the covariance). */
function refitPlane(points: Float32Array, plane: Plane, threshold: number): Plane | null {
  const m = inlierMoments(points, plane, threshold);
  const c = m[0]!, sx = m[1]!, sy = m[2]!, sz = m[3]!;
  const sxx = m[4]!, sxy = m[5]!, sxz = m[6]!, syy = m[7]!, syz = m[8]!, szz = m[9]!;
  const nx = plane[0], ny = plane[1], nz = plane[2];
  if (c < 3) return null;
  const mx = sx / c, my = sy / c, mz = sz / c;
  const cov = [sxx / c - mx * mx, sxy / c - mx * my, sxz / c - mx * mz, syy / c - my * my, syz / c - my * mz, szz / c - mz * mz];
  const normal = smallestEigenvector(cov, [nx, ny, nz]);
  if (!normal) return null;
  return [normal[0], normal[1], normal[2], -(normal[0] * mx + normal[1] * my + normal[2] * mz)];
}

/** [count, Σx, Σy, Σz, Σxx, Σxy, Σxz, Σyy, Σyz, Σzz] over the points within `threshold` of `plane`. */
function inlierMoments(points: Float32Array, plane: Plane, threshold: number): Float64Array {
  const nx = plane[0], ny = plane[1], nz = plane[2], d = plane[3];
  let c = 0, sx = 0, sy = 0, sz = 0;
  let sxx = 0, sxy = 0, sxz = 0, syy = 0, syz = 0, szz = 0;
  for (let p = 0; p < points.length; p += 3) {
    const x = points[p]!, y = points[p + 1]!, z = points[p + 2]!;
    const dist = nx * x + ny * y + nz * z + d;
    if (dist > threshold || dist < -threshold) continue;
    c++;
    sx += x;
    sy += y;
    sz += z;
    sxx += x * x;
    sxy += x * y;
    sxz += x * z;
    syy += y * y;
    syz += y * z;
    szz += z * z;
  }
  return Float64Array.of(c, sx, sy, sz, sxx, sxy, sxz, syy, syz, szz);
}

/**
 * Eigenvector of the smallest eigenvalue of a symmetric 3×3 matrix [xx, xy, xz, yy, yz, zz], by
 * inverse iteration from `guess` (the RANSAC normal is already close, so a few steps converge).
 */
export function smallestEigenvector(m: number[], guess: [number, number, number]): [number, number, number] | null {
  const [a, b, c, d, e, f] = m as [number, number, number, number, number, number];
  // Shift slightly below zero so the matrix stays invertible for a perfectly flat set.
  const trace = a + d + f;
  const s = -1e-9 * Math.max(trace, 1e-12);
  const A = a - s, D = d - s, F = f - s;
  // Inverse via adjugate of [[A,b,c],[b,D,e],[c,e,F]].
  const i00 = D * F - e * e, i01 = c * e - b * F, i02 = b * e - c * D;
  const i11 = A * F - c * c, i12 = b * c - A * e, i22 = A * D - b * b;
  let [x, y, z] = guess;
  for (let it = 0; it < 20; it++) {
    const nx = i00 * x + i01 * y + i02 * z;
    const ny = i01 * x + i11 * y + i12 * z;
    const nz = i02 * x + i12 * y + i22 * z;
    const len = Math.hypot(nx, ny, nz);
    if (!(len > 0) || !Number.isFinite(len)) return null;
    const dx = nx / len - x, dy = ny / len - y, dz = nz / len - z;
    x = nx / len;
    y = ny / len;
    z = nz / len;
    if (dx * dx + dy * dy + dz * dz < 1e-20) break;
  }
  return [x, y, z];
}
