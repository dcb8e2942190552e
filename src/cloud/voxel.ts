// Voxel downsampling: one point (the centroid) per occupied cubic voxel, by spatial hashing (no sort).
import { FieldError } from '../core/errors.ts';

/**
 * Replaces the points in each occupied voxel of edge `voxelSize` (metres) by their centroid, as
 * Open3D's voxel_down_sample does (voxels anchored at the cloud's min bound − voxelSize/2).
 * Output order: voxels in order of their first point. [m, 3] Float32Array, at most one point per voxel.
 * Non-finite points (NaN, ±Infinity) are dropped.
 */
export function voxelDownsample(points: Float32Array, params: { voxelSize: number }): Float32Array {
  const size = params.voxelSize;
  if (!(size > 0) || !Number.isFinite(size)) throw new FieldError('voxelSize', 'a finite number > 0 (metres)', size);
  if (points.length % 3 !== 0) throw new FieldError('points.length', 'a multiple of 3 ([n, 3] xyz)', points.length);
  const n = points.length / 3;
  if (n === 0) return new Float32Array(0);
  let x0 = Infinity, y0 = Infinity, z0 = Infinity;
  for (let i = 0; i < points.length; i += 3) {
    const x = points[i]!, y = points[i + 1]!, z = points[i + 2]!;
    if (!(x - x === 0 && y - y === 0 && z - z === 0)) continue;
    if (x < x0) x0 = x;
    if (y < y0) y0 = y;
    if (z < z0) z0 = z;
  }
  if (x0 === Infinity) return new Float32Array(0); // no finite point
  x0 -= size / 2;
  y0 -= size / 2;
  z0 -= size / 2;
  // Open addressing over voxel integer coordinates; capacity a power of two ≥ 2n.
  let cap = 1;
  while (cap < 2 * n) cap <<= 1;
  const mask = cap - 1;
  const slotVoxel = new Int32Array(cap).fill(-1); // voxel id stored in a slot
  const kx = new Int32Array(n), ky = new Int32Array(n), kz = new Int32Array(n); // key per voxel id
  const sum = new Float64Array(3 * n);
  const count = new Uint32Array(n);
  let voxels = 0;
  for (let i = 0; i < points.length; i += 3) {
    const x = points[i]!, y = points[i + 1]!, z = points[i + 2]!;
    if (!(x - x === 0 && y - y === 0 && z - z === 0)) continue; // NaN or ±Infinity: dropped
    // Division (not a reciprocal product) to land on the same voxel as Open3D at exact boundaries.
    const ix = Math.floor((x - x0) / size), iy = Math.floor((y - y0) / size), iz = Math.floor((z - z0) / size);
    let h = (Math.imul(ix, 73856093) ^ Math.imul(iy, 19349663) ^ Math.imul(iz, 83492791)) & mask;
    let v: number;
    for (;;) {
      v = slotVoxel[h]!;
      if (v < 0) {
        v = voxels++;
        slotVoxel[h] = v;
        kx[v] = ix;
        ky[v] = iy;
        kz[v] = iz;
        break;
      }
      if (kx[v] === ix && ky[v] === iy && kz[v] === iz) break;
      h = (h + 1) & mask;
    }
    sum[3 * v] += x;
    sum[3 * v + 1] += y;
    sum[3 * v + 2] += z;
    count[v]!++;
  }
  const out = new Float32Array(3 * voxels);
  for (let v = 0; v < voxels; v++) {
    const c = count[v]!;
    out[3 * v] = sum[3 * v]! / c;
    out[3 * v + 1] = sum[3 * v + 1]! / c;
    out[3 * v + 2] = sum[3 * v + 2]! / c;
  }
  return out;
}
