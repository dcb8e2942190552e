// Small constructed clouds shared by the cloud tests.
import { Rng } from '../../src/core/rng.ts';

/** Uniform random points in a box [-s, s]³. */
export function randomCloud(n: number, seed: number, s = 0.1): Float32Array {
  const r = new Rng(seed);
  const out = new Float32Array(3 * n);
  for (let i = 0; i < out.length; i++) out[i] = r.uniform(-s, s);
  return out;
}

/** Unit normal of the plane z' = 0 after rotating by `ax` about x then `ay` about y (radians). */
export function tiltedNormal(ax: number, ay: number): [number, number, number] {
  // R = Ry(ay) · Rx(ax) applied to (0, 0, 1).
  const nx0 = 0, ny0 = -Math.sin(ax), nz0 = Math.cos(ax);
  return [Math.cos(ay) * nx0 + Math.sin(ay) * nz0, ny0, -Math.sin(ay) * nx0 + Math.cos(ay) * nz0];
}

/**
 * A table plane through `origin` with normal `normal` (nPlane points over 1 m × 1 m, `noise` std along
 * the normal) plus a blob of nObject points 3-8 cm above it, interleaved.
 */
export function tableScene(opts: { normal: [number, number, number]; origin?: [number, number, number]; nPlane: number; nObject: number; noise?: number; seed?: number }): {
  points: Float32Array;
  isObject: Uint8Array;
} {
  const r = new Rng(opts.seed ?? 0);
  const [nx, ny, nz] = opts.normal;
  const [ox, oy, oz] = opts.origin ?? [0, 0, 0];
  // Two tangents of the plane.
  let ux = -ny, uy = nx, uz = 0;
  if (Math.hypot(ux, uy) < 1e-6) [ux, uy, uz] = [1, 0, 0];
  const ul = Math.hypot(ux, uy, uz);
  ux /= ul; uy /= ul; uz /= ul;
  const vx = ny * uz - nz * uy, vy = nz * ux - nx * uz, vz = nx * uy - ny * ux;
  const n = opts.nPlane + opts.nObject;
  const points = new Float32Array(3 * n);
  const isObject = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const obj = i % Math.ceil(n / Math.max(1, opts.nObject)) === 0 && isObject.reduce((s, v) => s + v, 0) < opts.nObject;
    const a = obj ? r.uniform(-0.1, 0.1) : r.uniform(-0.5, 0.5);
    const b = obj ? r.uniform(-0.1, 0.1) : r.uniform(-0.5, 0.5);
    const h = obj ? r.uniform(0.03, 0.08) : r.normal(0, opts.noise ?? 0.002);
    points[3 * i] = ox + a * ux + b * vx + h * nx;
    points[3 * i + 1] = oy + a * uy + b * vy + h * ny;
    points[3 * i + 2] = oz + a * uz + b * vz + h * nz;
    isObject[i] = obj ? 1 : 0;
  }
  return { points, isObject };
}
