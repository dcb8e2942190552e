// A uniform 3D grid over a Float32Array cloud for nearest-neighbour and kNN queries (no per-point objects).
import { FieldError } from '../core/errors.ts';

/** Most cells a grid may allocate; a finer requested cell size is coarsened to fit. */
const MAX_CELLS = 1 << 22;

/**
 * Points bucketed into cubic cells by a counting sort (no comparison sort, no hashing).
 * Built once per cloud; queries scan cells in Chebyshev shells around the query's cell and stop as
 * soon as no farther shell can hold a closer point, so they are exact for any query position.
 *
 * Layout: `points` is [n, 3] xyz (metres). `order[cellStart[c] .. cellStart[c+1])` are the indices of
 * the points in cell c; `sorted` holds their coordinates in that same order for cache-friendly scans.
 */
export class SpatialGrid {
  /** Edge of one cubic cell, metres (may be larger than asked for, see MAX_CELLS). */
  readonly cellSize: number;
  readonly n: number;
  readonly nx: number;
  readonly ny: number;
  readonly nz: number;
  readonly minX: number;
  readonly minY: number;
  readonly minZ: number;
  readonly cellStart: Uint32Array;
  readonly order: Uint32Array;
  readonly sorted: Float32Array;
  /** Squared distance of the last `nearest` answer. */
  lastDist2 = Infinity;
  readonly #inv: number;

  /** @param cellSize metres; pick about the spacing at which a query's answer usually lies. */
  constructor(points: Float32Array, cellSize: number) {
    if (!(cellSize > 0) || !Number.isFinite(cellSize)) throw new FieldError('cellSize', 'a finite number > 0 (metres)', cellSize);
    if (points.length % 3 !== 0) throw new FieldError('points.length', 'a multiple of 3', points.length);
    const n = points.length / 3;
    this.n = n;
    const b = boundsOf(points);
    let x0 = b[0]!, y0 = b[1]!, z0 = b[2]!, x1 = b[3]!, y1 = b[4]!, z1 = b[5]!;
    if (n === 0) x0 = y0 = z0 = x1 = y1 = z1 = 0;
    if (![x0, y0, z0, x1, y1, z1].every(Number.isFinite)) throw new FieldError('points', 'finite coordinates', 'NaN or Infinity');
    let cs = cellSize;
    let nx = 0, ny = 0, nz = 0;
    for (;;) {
      nx = Math.floor((x1 - x0) / cs) + 1;
      ny = Math.floor((y1 - y0) / cs) + 1;
      nz = Math.floor((z1 - z0) / cs) + 1;
      if (nx * ny * nz <= MAX_CELLS) break;
      cs *= Math.cbrt((nx * ny * nz) / MAX_CELLS) * 1.01;
    }
    this.cellSize = cs;
    this.#inv = 1 / cs;
    this.nx = nx;
    this.ny = ny;
    this.nz = nz;
    this.minX = x0;
    this.minY = y0;
    this.minZ = z0;
    const { start, order, sorted } = bucketByCell(points, x0, y0, z0, this.#inv, nx, ny, nz);
    this.cellStart = start;
    this.order = order;
    this.sorted = sorted;
  }

  /** Number of non-empty cells (for choosing a cell size). */
  occupiedCells(): number {
    let occ = 0;
    const s = this.cellStart;
    for (let c = 0; c + 1 < s.length; c++) if (s[c + 1]! > s[c]!) occ++;
    return occ;
  }

  /**
   * Index of the point nearest to (x, y, z), or -1 for an empty grid; its squared distance is left in
   * `lastDist2`. `exclude` (a point index) is skipped, for nearest-other-point queries.
   */
  nearest(x: number, y: number, z: number, exclude = -1): number {
    const { nx, ny, nz, cellStart, sorted, order } = this;
    const cs = this.cellSize;
    const fx = (x - this.minX) * this.#inv, fy = (y - this.minY) * this.#inv, fz = (z - this.minZ) * this.#inv;
    const qx = Math.floor(fx), qy = Math.floor(fy), qz = Math.floor(fz);
    const slack = Math.min(fx - qx, qx + 1 - fx, fy - qy, qy + 1 - fy, fz - qz, qz + 1 - fz);
    const r0 = Math.max(0, -qx, qx - nx + 1, -qy, qy - ny + 1, -qz, qz - nz + 1);
    const rMax = Math.max(qx, nx - 1 - qx, qy, ny - 1 - qy, qz, nz - 1 - qz);
    let best = Infinity, bestI = -1;
    for (let r = r0; r <= rMax; r++) {
      const z0 = Math.max(0, qz - r), z1 = Math.min(nz - 1, qz + r);
      const y0 = Math.max(0, qy - r), y1 = Math.min(ny - 1, qy + r);
      for (let iz = z0; iz <= z1; iz++) {
        const zEdge = iz === qz - r || iz === qz + r;
        for (let iy = y0; iy <= y1; iy++) {
          const full = zEdge || iy === qy - r || iy === qy + r;
          const xStep = full || r === 0 ? 1 : 2 * r;
          const base = nx * (iy + ny * iz);
          for (let ix = qx - r; ix <= qx + r; ix += xStep) {
            if (ix < 0 || ix >= nx) continue;
            const c = base + ix;
            for (let k = cellStart[c]!, e = cellStart[c + 1]!; k < e; k++) {
              const dx = sorted[3 * k]! - x, dy = sorted[3 * k + 1]! - y, dz = sorted[3 * k + 2]! - z;
              const d = dx * dx + dy * dy + dz * dz;
              if (d < best && order[k] !== exclude) {
                best = d;
                bestI = order[k]!;
              }
            }
          }
        }
      }
      const bound = (r + slack) * cs;
      if (best <= bound * bound) break;
    }
    this.lastDist2 = best;
    return bestI;
  }

  /**
   * The k nearest points to (x, y, z), ascending by distance: indices into `outIndex`, squared
   * distances into `outDist2` (both length ≥ k). Returns how many were found (min(k, n)).
   * A point at the query position itself is included (distance 0), as Open3D's SearchKNN does.
   */
  knn(x: number, y: number, z: number, k: number, outIndex: Int32Array | Uint32Array, outDist2: Float64Array | Float32Array): number {
    const { nx, ny, nz, cellStart, sorted, order } = this;
    const cs = this.cellSize;
    const want = Math.min(k, this.n);
    if (want <= 0) return 0;
    const fx = (x - this.minX) * this.#inv, fy = (y - this.minY) * this.#inv, fz = (z - this.minZ) * this.#inv;
    const qx = Math.floor(fx), qy = Math.floor(fy), qz = Math.floor(fz);
    const slack = Math.min(fx - qx, qx + 1 - fx, fy - qy, qy + 1 - fy, fz - qz, qz + 1 - fz);
    const r0 = Math.max(0, -qx, qx - nx + 1, -qy, qy - ny + 1, -qz, qz - nz + 1);
    const rMax = Math.max(qx, nx - 1 - qx, qy, ny - 1 - qy, qz, nz - 1 - qz);
    let found = 0;
    let worst = Infinity; // distance of the current k-th, Infinity until k are found
    for (let r = r0; r <= rMax; r++) {
      const z0 = Math.max(0, qz - r), z1 = Math.min(nz - 1, qz + r);
      const y0 = Math.max(0, qy - r), y1 = Math.min(ny - 1, qy + r);
      for (let iz = z0; iz <= z1; iz++) {
        const zEdge = iz === qz - r || iz === qz + r;
        for (let iy = y0; iy <= y1; iy++) {
          const full = zEdge || iy === qy - r || iy === qy + r;
          const xStep = full || r === 0 ? 1 : 2 * r;
          const base = nx * (iy + ny * iz);
          for (let ix = qx - r; ix <= qx + r; ix += xStep) {
            if (ix < 0 || ix >= nx) continue;
            const c = base + ix;
            for (let p = cellStart[c]!, e = cellStart[c + 1]!; p < e; p++) {
              const dx = sorted[3 * p]! - x, dy = sorted[3 * p + 1]! - y, dz = sorted[3 * p + 2]! - z;
              const d = dx * dx + dy * dy + dz * dz;
              if (d >= worst) continue;
              // Insertion into the ascending list (k is small: 20 for outlier removal).
              let j = found < want ? found++ : want - 1;
              while (j > 0 && outDist2[j - 1]! > d) {
                outDist2[j] = outDist2[j - 1]!;
                outIndex[j] = outIndex[j - 1]!;
                j--;
              }
              outDist2[j] = d;
              outIndex[j] = order[p]!;
              if (found === want) worst = outDist2[want - 1]!;
            }
          }
        }
      }
      const bound = (r + slack) * cs;
      if (found === want && worst <= bound * bound) break;
    }
    return found;
  }
}

/**
 * [xmin, ymin, zmin, xmax, ymax, zmax] of an [n, 3] cloud (NaN coordinates are skipped; an empty
 * cloud gives ±Infinity). Loops like this sit in small functions of their own so V8 optimizes them
 * whole instead of on-stack-replacing and deoptimizing a longer caller on every call.
 */
export function boundsOf(points: Float32Array): Float64Array {
  let x0 = Infinity, y0 = Infinity, z0 = Infinity, x1 = -Infinity, y1 = -Infinity, z1 = -Infinity;
  for (let i = 0; i < points.length; i += 3) {
    const x = points[i]!, y = points[i + 1]!, z = points[i + 2]!;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
    if (z < z0) z0 = z;
    if (z > z1) z1 = z;
  }
  return Float64Array.of(x0, y0, z0, x1, y1, z1);
}

/** Index of the first point with a NaN or infinite coordinate, or -1. */
export function firstNonFinite(points: Float32Array): number {
  for (let i = 0; i < points.length; i++) {
    const v = points[i]!;
    if (v - v !== 0) return (i / 3) | 0;
  }
  return -1;
}

/** Counting sort of points into cells: cell start offsets, point order and coordinates in that order. */
function bucketByCell(
  points: Float32Array,
  x0: number,
  y0: number,
  z0: number,
  inv: number,
  nx: number,
  ny: number,
  nz: number,
): { start: Uint32Array; order: Uint32Array; sorted: Float32Array } {
  const n = points.length / 3;
  const cells = nx * ny * nz;
  const cellOf = new Uint32Array(n);
  const start = new Uint32Array(cells + 1);
  for (let i = 0, j = 0; i < n; i++, j += 3) {
    // min() guards the top edge against rounding in (x - x0) * inv.
    const ix = Math.min(nx - 1, ((points[j]! - x0) * inv) | 0);
    const iy = Math.min(ny - 1, ((points[j + 1]! - y0) * inv) | 0);
    const iz = Math.min(nz - 1, ((points[j + 2]! - z0) * inv) | 0);
    const c = ix + nx * (iy + ny * iz);
    cellOf[i] = c;
    start[c + 1]!++;
  }
  for (let c = 0; c < cells; c++) start[c + 1]! += start[c]!;
  const fill = start.slice(0, cells);
  const order = new Uint32Array(n);
  const sorted = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const k = fill[cellOf[i]!]!++;
    order[k] = i;
    sorted[3 * k] = points[3 * i]!;
    sorted[3 * k + 1] = points[3 * i + 1]!;
    sorted[3 * k + 2] = points[3 * i + 2]!;
  }
  return { start, order, sorted };
}
