// Farthest-point sampling to K points with an incremental min-distance array, pruned by spatial cells.
import { FieldError } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import { boundsOf, firstNonFinite, SpatialGrid } from './spatial-grid.ts';

/** Parameters of `farthestPointSample`. */
export interface FpsParams {
  /** Points to keep (DeformPAM: 3000; DP3: 512 or 1024). */
  k: number;
  /** First point's index; by default drawn from `seed`. */
  start?: number;
  /** @default 0 */
  seed?: number;
  /**
   * `cells`: points bucketed in grid cells with tight boxes; a cell is touched only when the new
   * point can lower some of its distances, and the farthest point is found from per-cell maxima.
   * `exhaustive`: the textbook O(n·K) loop over every point. Both give identical indices.
   * @default 'cells'
   */
  method?: 'cells' | 'exhaustive';
}

/**
 * Greedy farthest-point sampling: starts at `start` and repeatedly adds the point farthest from those
 * chosen. Returns the chosen points ([min(k, n), 3], in choice order) and their input indices. With
 * k ≥ n every point is returned (in FPS order). Ties go to the lowest index, so it is deterministic.
 */
export function farthestPointSample(points: Float32Array, params: FpsParams): { points: Float32Array; indices: Uint32Array } {
  const { k } = params;
  if (points.length % 3 !== 0) throw new FieldError('points.length', 'a multiple of 3 ([n, 3] xyz)', points.length);
  if (!Number.isInteger(k) || k < 1) throw new FieldError('k', 'an integer >= 1', k);
  const method = params.method ?? 'cells';
  if (method !== 'cells' && method !== 'exhaustive') throw new FieldError('method', "'cells' or 'exhaustive'", method);
  const n = points.length / 3;
  const m = Math.min(k, n);
  if (m === 0) return { points: new Float32Array(0), indices: new Uint32Array(0) };
  const start = params.start ?? new Rng(params.seed ?? 0).int(n);
  if (!Number.isInteger(start) || start < 0 || start >= n) throw new FieldError('start', `an integer in [0, ${n - 1}]`, start);
  const bad = firstNonFinite(points);
  if (bad >= 0) throw new FieldError(`points[${bad}]`, 'finite coordinates', Array.from(points.subarray(3 * bad, 3 * bad + 3)).join(', '));
  const indices = method === 'cells' && n > 256 ? fpsCells(points, n, m, start) : fpsExhaustive(points, n, m, start);
  const out = new Float32Array(3 * m);
  for (let s = 0; s < m; s++) {
    const i = indices[s]!;
    out[3 * s] = points[3 * i]!;
    out[3 * s + 1] = points[3 * i + 1]!;
    out[3 * s + 2] = points[3 * i + 2]!;
  }
  return { points: out, indices };
}

function fpsExhaustive(points: Float32Array, n: number, m: number, start: number): Uint32Array {
  const xs = new Float64Array(n), ys = new Float64Array(n), zs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xs[i] = points[3 * i]!;
    ys[i] = points[3 * i + 1]!;
    zs[i] = points[3 * i + 2]!;
  }
  const indices = new Uint32Array(m);
  const minD = new Float64Array(n).fill(Infinity);
  let cur = start;
  for (let s = 0; s < m; s++) {
    indices[s] = cur;
    if (s + 1 === m) break;
    const cx = xs[cur]!, cy = ys[cur]!, cz = zs[cur]!;
    let best = -1, bestI = 0;
    for (let i = 0; i < n; i++) {
      const dx = xs[i]! - cx, dy = ys[i]! - cy, dz = zs[i]! - cz;
      const d = dx * dx + dy * dy + dz * dz;
      let md = minD[i]!;
      if (d < md) {
        md = d;
        minD[i] = d;
      }
      if (md > best) {
        best = md;
        bestI = i;
      }
    }
    cur = bestI;
  }
  return indices;
}

/** Points per occupied cell the bucketed FPS aims for (8-16 measured best on the bench cloud). */
const FPS_CELL_POINTS = 8;

function fpsCells(points: Float32Array, n: number, m: number, start: number): Uint32Array {
  const grid = gridWithOccupancy(points, n, FPS_CELL_POINTS);
  const { cellStart, order, sorted, nx, ny, nz } = grid;
  const cells = nx * ny * nz;
  // Occupied cells, each with its range in grid order and the tight box of its points.
  const cellOcc = new Int32Array(cells).fill(-1);
  let occ = 0;
  for (let c = 0; c < cells; c++) if (cellStart[c + 1]! > cellStart[c]!) cellOcc[c] = occ++;
  const lo = new Int32Array(occ), hi = new Int32Array(occ);
  const box = new Float64Array(6 * occ);
  for (let c = 0; c < cells; c++) {
    const o = cellOcc[c]!;
    if (o < 0) continue;
    const a = cellStart[c]!, b = cellStart[c + 1]!;
    lo[o] = a;
    hi[o] = b;
    let x0 = Infinity, y0 = Infinity, z0 = Infinity, x1 = -Infinity, y1 = -Infinity, z1 = -Infinity;
    for (let p = a; p < b; p++) {
      const x = sorted[3 * p]!, y = sorted[3 * p + 1]!, z = sorted[3 * p + 2]!;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (z < z0) z0 = z;
      if (z > z1) z1 = z;
    }
    box[6 * o] = x0;
    box[6 * o + 1] = y0;
    box[6 * o + 2] = z0;
    box[6 * o + 3] = x1;
    box[6 * o + 4] = y1;
    box[6 * o + 5] = z1;
  }
  // Grid-order columns (counting sort keeps input order inside a cell, so ties resolve by index).
  const xs = new Float64Array(n), ys = new Float64Array(n), zs = new Float64Array(n);
  const pos = new Uint32Array(n); // input index → grid position
  for (let p = 0; p < n; p++) {
    xs[p] = sorted[3 * p]!;
    ys[p] = sorted[3 * p + 1]!;
    zs[p] = sorted[3 * p + 2]!;
    pos[order[p]!] = p;
  }
  return fpsCellsLoop({ grid, occ, lo, hi, box, cellOcc, xs, ys, zs, pos, m, start });
}

/** Everything the bucketed FPS loop reads; built once by `fpsCells`. */
interface FpsCellsState {
  grid: SpatialGrid;
  occ: number;
  lo: Int32Array;
  hi: Int32Array;
  box: Float64Array;
  cellOcc: Int32Array;
  xs: Float64Array;
  ys: Float64Array;
  zs: Float64Array;
  pos: Uint32Array;
  m: number;
  start: number;
}

// The selection loop is a function of its own so V8 optimizes it with full type feedback rather than
// deoptimizing a long set-up-then-loop function on the way (which boxes doubles meanwhile).
function fpsCellsLoop(st: FpsCellsState): Uint32Array {
  const { grid, occ, lo, hi, box, cellOcc, xs, ys, zs, pos, m, start } = st;
  const { order, nx, ny, nz, cellSize } = grid;
  const n = xs.length;
  const minD = new Float64Array(n).fill(Infinity);
  const cellMax = new Float64Array(occ).fill(Infinity);
  const cellArg = new Int32Array(occ); // grid position of the cell's farthest point
  for (let o = 0; o < occ; o++) cellArg[o] = lo[o]!;
  // Tournament tree over cells: node t holds the better of its children (larger max, then lower
  // input index), so the farthest point is at the root and a cell change costs log2(cells).
  let size = 1;
  while (size < occ) size <<= 1;
  const tour = new Int32Array(2 * size).fill(-1);
  for (let o = 0; o < occ; o++) tour[size + o] = o;
  for (let t = size - 1; t >= 1; t--) tour[t] = betterCell(tour[2 * t]!, tour[2 * t + 1]!, cellMax, cellArg, order);
  const indices = new Uint32Array(m);
  const inv = 1 / cellSize;
  let cur = pos[start]!;
  let radius2 = Infinity; // the chosen point's distance to the set before it: no update reaches farther
  const touched = new Int32Array(occ);
  for (let s = 0; s < m; s++) {
    indices[s] = order[cur]!;
    if (s + 1 === m) break;
    const cx = xs[cur]!, cy = ys[cur]!, cz = zs[cur]!;
    // Cells that can hold a point closer to the new one than to the set so far: scan the cube of
    // cells around it when that is smaller than the occupied list, else the whole list.
    let nTouched = 0;
    const r = Math.sqrt(radius2);
    const ix0 = Math.max(0, Math.floor((cx - r - grid.minX) * inv)), ix1 = Math.min(nx - 1, Math.floor((cx + r - grid.minX) * inv));
    const iy0 = Math.max(0, Math.floor((cy - r - grid.minY) * inv)), iy1 = Math.min(ny - 1, Math.floor((cy + r - grid.minY) * inv));
    const iz0 = Math.max(0, Math.floor((cz - r - grid.minZ) * inv)), iz1 = Math.min(nz - 1, Math.floor((cz + r - grid.minZ) * inv));
    if (r < Infinity && (ix1 - ix0 + 1) * (iy1 - iy0 + 1) * (iz1 - iz0 + 1) < occ) {
      for (let iz = iz0; iz <= iz1; iz++)
        for (let iy = iy0; iy <= iy1; iy++) {
          const base = nx * (iy + ny * iz);
          for (let ix = ix0; ix <= ix1; ix++) {
            const o = cellOcc[base + ix]!;
            if (o >= 0) touched[nTouched++] = o;
          }
        }
    } else {
      for (let o = 0; o < occ; o++) touched[nTouched++] = o;
    }
    for (let t = 0; t < nTouched; t++) {
      const o = touched[t]!;
      const cm = cellMax[o]!;
      // Squared distance from the new point to the cell's box: no point inside is closer.
      const b6 = 6 * o;
      const ex = Math.max(box[b6]! - cx, 0, cx - box[b6 + 3]!);
      const ey = Math.max(box[b6 + 1]! - cy, 0, cy - box[b6 + 4]!);
      const ez = Math.max(box[b6 + 2]! - cz, 0, cz - box[b6 + 5]!);
      if (ex * ex + ey * ey + ez * ez >= cm) continue;
      let nm = -1;
      let arg = lo[o]!;
      for (let p = lo[o]!, e = hi[o]!; p < e; p++) {
        const dx = xs[p]! - cx, dy = ys[p]! - cy, dz = zs[p]! - cz;
        const d = dx * dx + dy * dy + dz * dz;
        let md = minD[p]!;
        if (d < md) {
          md = d;
          minD[p] = d;
        }
        if (md > nm) {
          nm = md;
          arg = p;
        }
      }
      cellMax[o] = nm;
      cellArg[o] = arg;
      for (let node = (size + o) >> 1; node >= 1; node >>= 1) tour[node] = betterCell(tour[2 * node]!, tour[2 * node + 1]!, cellMax, cellArg, order);
    }
    const win = tour[1]!;
    radius2 = cellMax[win]!;
    cur = cellArg[win]!;
  }
  return indices;
}

/** The better of two cells for the tournament (-1 = none): larger max distance, then lower input index. */
function betterCell(a: number, b: number, cellMax: Float64Array, cellArg: Int32Array, order: Uint32Array): number {
  if (a < 0) return b;
  if (b < 0) return a;
  const va = cellMax[a]!, vb = cellMax[b]!;
  return va > vb || (va === vb && order[cellArg[a]!]! < order[cellArg[b]!]!) ? a : b;
}

/** A grid with about `perCell` points per occupied cell: built coarse, rescaled as for a surface. */
function gridWithOccupancy(points: Float32Array, n: number, perCell: number): SpatialGrid {
  const b = boundsOf(points);
  const ext = Math.max(b[3]! - b[0]!, b[4]! - b[1]!, b[5]! - b[2]!, 1e-9);
  const coarse = new SpatialGrid(points, ext / 16);
  const have = n / Math.max(1, coarse.occupiedCells());
  const cs = coarse.cellSize * Math.min(1, Math.max(1 / 64, Math.sqrt(perCell / have)));
  return new SpatialGrid(points, cs);
}
