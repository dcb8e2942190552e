// Shape metrics for task goals and evaluation: top-down occupancy IoU, coverage, Chamfer, EMD.
//
// Every cloud is a Float32Array [n, 3] of x,y,z in metres, `table` frame (z up), unless said otherwise.
// Top-down metrics ignore z and rasterize x,y on a square grid anchored at the table origin: a point
// (x, y) falls in cell (floor(x / cellSize), floor(y / cellSize)), so two clouds always share cells.
import { FieldError } from '../core/errors.ts';
import { Rng } from '../core/rng.ts';
import { auctionAssignment, solveAssignment } from './assignment.ts';
import { firstNonFinite, SpatialGrid } from './spatial-grid.ts';

/** Options of every top-down (2D occupancy) metric. */
export interface TopDownOptions {
  /**
   * Edge of one square grid cell, metres.
   * @default 0.01
   */
  cellSize?: number;
  /**
   * Each point also marks the cells whose centres lie within this distance (metres) of its own
   * cell's centre, closing gaps in a sparse cloud. 0 marks only the point's own cell.
   * @default 0
   */
  splatRadius?: number;
}

/** Cells of the largest grid a top-down metric builds (a 1 mm grid over 5 m × 5 m is 25 M). */
const MAX_GRID_CELLS = 50_000_000;

function topDownOptions(o: TopDownOptions | undefined): { cellSize: number; splat: Int32Array } {
  const cellSize = o?.cellSize ?? 0.01;
  const splatRadius = o?.splatRadius ?? 0;
  if (!(cellSize > 0) || !Number.isFinite(cellSize)) throw new FieldError('cellSize', 'a finite number > 0 (metres)', cellSize);
  if (!(splatRadius >= 0) || !Number.isFinite(splatRadius))
    throw new FieldError('splatRadius', 'a finite number >= 0 (metres)', splatRadius);
  // Offsets (dx, dy) in cells of the disc each point marks.
  const r = Math.floor(splatRadius / cellSize + 1e-9);
  const offs: number[] = [];
  for (let dy = -r; dy <= r; dy++)
    for (let dx = -r; dx <= r; dx++) if ((dx * dx + dy * dy) * cellSize * cellSize <= splatRadius * splatRadius + 1e-15) offs.push(dx, dy);
  return { cellSize, splat: Int32Array.from(offs) };
}

function checkCloud(points: Float32Array, name: string): number {
  if (points.length % 3 !== 0) throw new FieldError(`${name}.length`, 'a multiple of 3 ([n, 3] xyz)', points.length);
  const bad = firstNonFinite(points);
  if (bad >= 0) throw new FieldError(`${name}[${bad}]`, 'finite x, y and z', Array.from(points.subarray(3 * bad, 3 * bad + 3)).join(', '));
  return points.length / 3;
}

/** A rectangular block of table-anchored cells: cell (ix, iy) is stored at (ix - x0) + (iy - y0) * nx. */
interface CellWindow {
  x0: number;
  y0: number;
  nx: number;
  ny: number;
}

function windowOver(bounds: [number, number, number, number], cellSize: number, pad: number): CellWindow {
  const x0 = Math.floor(bounds[0] / cellSize) - pad;
  const y0 = Math.floor(bounds[1] / cellSize) - pad;
  const nx = Math.floor(bounds[2] / cellSize) + pad - x0 + 1;
  const ny = Math.floor(bounds[3] / cellSize) + pad - y0 + 1;
  if (nx * ny > MAX_GRID_CELLS)
    throw new FieldError('cellSize', `a cell size giving at most ${MAX_GRID_CELLS} cells over the clouds' extent (${nx}×${ny} here)`, cellSize);
  return { x0, y0, nx, ny };
}

function xyBounds(points: Float32Array, name: string): [number, number, number, number] {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < points.length; i += 3) {
    const x = points[i]!, y = points[i + 1]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new FieldError(`${name}[${i / 3}]`, 'finite x and y', `${x}, ${y}`);
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  return [x0, y0, x1, y1];
}

function union(a: [number, number, number, number], b: [number, number, number, number]): [number, number, number, number] {
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}

/** Marks the occupied cells of `points` in `mask` (1 = occupied) and returns how many cells are set. */
function rasterize(points: Float32Array, w: CellWindow, cellSize: number, splat: Int32Array, mask: Uint8Array): number {
  const inv = 1 / cellSize;
  let count = 0;
  for (let i = 0; i < points.length; i += 3) {
    const cx = Math.floor(points[i]! * inv) - w.x0;
    const cy = Math.floor(points[i + 1]! * inv) - w.y0;
    for (let s = 0; s < splat.length; s += 2) {
      const c = cx + splat[s]! + (cy + splat[s + 1]!) * w.nx;
      if (!mask[c]) {
        mask[c] = 1;
        count++;
      }
    }
  }
  return count;
}

/**
 * Top-down occupied area of a cloud, m²: the number of occupied cells × cellSize².
 * An empty cloud has area 0.
 */
export function topDownArea(points: Float32Array, opts?: TopDownOptions): number {
  checkCloud(points, 'points');
  const { cellSize, splat } = topDownOptions(opts);
  if (points.length === 0) return 0;
  const pad = splat.length ? Math.max(...splat.map(Math.abs)) : 0;
  const w = windowOver(xyBounds(points, 'points'), cellSize, pad);
  return rasterize(points, w, cellSize, splat, new Uint8Array(w.nx * w.ny)) * cellSize * cellSize;
}

/**
 * Normalized coverage: top-down occupied area of `points` divided by a reference area (m²), e.g. the
 * area of the fully flattened cloth, or of a reference cloud rasterized with the same options.
 * Clipped to [0, 1] unless `clip: false` (rasterization can overshoot the analytic area by a few %).
 */
export function normalizedCoverage(
  points: Float32Array,
  reference: number | Float32Array,
  opts?: TopDownOptions & {
    /** @default true */
    clip?: boolean;
  },
): number {
  const refArea = typeof reference === 'number' ? reference : topDownArea(reference, opts);
  if (!(refArea > 0) || !Number.isFinite(refArea)) throw new FieldError('reference', 'an area > 0 m² (or a non-empty reference cloud)', refArea);
  const c = topDownArea(points, opts) / refArea;
  return opts?.clip === false ? c : Math.min(1, c);
}

/**
 * Plain top-down occupancy IoU of two clouds, in place (no alignment): |A ∩ B| / |A ∪ B| over
 * occupied cells. Two empty clouds give 1; one empty cloud gives 0.
 */
export function occupancyIoU2D(a: Float32Array, b: Float32Array, opts?: TopDownOptions): number {
  checkCloud(a, 'a');
  checkCloud(b, 'b');
  const { cellSize, splat } = topDownOptions(opts);
  if (a.length === 0 && b.length === 0) return 1;
  if (a.length === 0 || b.length === 0) return 0;
  const pad = Math.max(0, ...splat.map(Math.abs));
  const w = windowOver(union(xyBounds(a, 'a'), xyBounds(b, 'b')), cellSize, pad);
  const ma = new Uint8Array(w.nx * w.ny);
  const mb = new Uint8Array(w.nx * w.ny);
  const na = rasterize(a, w, cellSize, splat, ma);
  const nb = rasterize(b, w, cellSize, splat, mb);
  let inter = 0;
  for (let c = 0; c < ma.length; c++) inter += ma[c]! & mb[c]!;
  return inter / (na + nb - inter);
}

/** Options of the rotation-searched IoU. */
export interface RotationSearchOptions extends TopDownOptions {
  /**
   * Angles tried in the coarse pass, evenly over [0, 2π) (72 → every 5°).
   * @default 72
   */
  angleSteps?: number;
  /**
   * Angles tried in the fine pass, evenly over ± one coarse step around the best coarse angle.
   * 0 skips the fine pass.
   * @default 10
   */
  refineSteps?: number;
  /**
   * Move a's x,y centroid onto b's before rotating (so only shape matters, not placement).
   * @default true
   */
  alignCentroids?: boolean;
}

/**
 * Top-down occupancy IoU of `a` against `b`, maximized over rotations of `a` about the vertical axis
 * through a's x,y centroid (and, by default, with a's centroid moved onto b's). Returns the best IoU and
 * the angle (radians, counter-clockwise seen from above) by which `a` was rotated to get it.
 * Use it for goal shapes whose orientation does not matter (rope circle, letters placed anywhere).
 */
export function occupancyIoU2DRotationSearch(
  a: Float32Array,
  b: Float32Array,
  opts?: RotationSearchOptions,
): { iou: number; angle: number } {
  const na = checkCloud(a, 'a');
  checkCloud(b, 'b');
  const { cellSize, splat } = topDownOptions(opts);
  const steps = opts?.angleSteps ?? 72;
  const refine = opts?.refineSteps ?? 10;
  if (!Number.isInteger(steps) || steps < 1) throw new FieldError('angleSteps', 'an integer >= 1', steps);
  if (!Number.isInteger(refine) || refine < 0) throw new FieldError('refineSteps', 'an integer >= 0', refine);
  if (a.length === 0 && b.length === 0) return { iou: 1, angle: 0 };
  if (a.length === 0 || b.length === 0) return { iou: 0, angle: 0 };
  const bb = xyBounds(b, 'b');
  xyBounds(a, 'a');
  // Pivot (a's centroid) and where it lands (b's centroid, or itself).
  let ax = 0, ay = 0;
  for (let i = 0; i < a.length; i += 3) {
    ax += a[i]!;
    ay += a[i + 1]!;
  }
  ax /= na;
  ay /= na;
  let tx = ax, ty = ay;
  if (opts?.alignCentroids ?? true) {
    let bx = 0, by = 0;
    for (let i = 0; i < b.length; i += 3) {
      bx += b[i]!;
      by += b[i + 1]!;
    }
    tx = bx / (b.length / 3);
    ty = by / (b.length / 3);
  }
  let radius = 0;
  for (let i = 0; i < a.length; i += 3) radius = Math.max(radius, Math.hypot(a[i]! - ax, a[i + 1]! - ay));
  const pad = Math.max(0, ...splat.map(Math.abs)) + 1;
  const w = windowOver(union(bb, [tx - radius, ty - radius, tx + radius, ty + radius]), cellSize, pad);
  const mb = new Uint8Array(w.nx * w.ny);
  const nb = rasterize(b, w, cellSize, splat, mb);
  // Per-angle dedup of a's cells by stamping with the trial number (no clearing between trials).
  const stamp = new Int32Array(w.nx * w.ny);
  let trial = 0;
  const inv = 1 / cellSize;
  const iouAt = (theta: number): number => {
    trial++;
    const c = Math.cos(theta), s = Math.sin(theta);
    let count = 0, inter = 0;
    for (let i = 0; i < a.length; i += 3) {
      const dx = a[i]! - ax, dy = a[i + 1]! - ay;
      const cx = Math.floor((tx + c * dx - s * dy) * inv) - w.x0;
      const cy = Math.floor((ty + s * dx + c * dy) * inv) - w.y0;
      for (let k = 0; k < splat.length; k += 2) {
        const cell = cx + splat[k]! + (cy + splat[k + 1]!) * w.nx;
        if (stamp[cell] !== trial) {
          stamp[cell] = trial;
          count++;
          inter += mb[cell]!;
        }
      }
    }
    return inter / (count + nb - inter);
  };
  let best = -1, bestAngle = 0;
  const step = (2 * Math.PI) / steps;
  for (let k = 0; k < steps; k++) {
    const v = iouAt(k * step);
    if (v > best) {
      best = v;
      bestAngle = k * step;
    }
  }
  if (refine > 0) {
    const centre = bestAngle;
    for (let k = -refine; k <= refine; k++) {
      if (k === 0) continue;
      const theta = centre + (k * step) / refine;
      const v = iouAt(theta);
      if (v > best) {
        best = v;
        bestAngle = theta;
      }
    }
  }
  const twoPi = 2 * Math.PI;
  return { iou: best, angle: ((bestAngle % twoPi) + twoPi) % twoPi };
}

/** Chamfer distance with both directed terms, metres (or m² when `squared`). */
export interface ChamferResult {
  /** mean over a of the distance to the nearest point of b. */
  aToB: number;
  /** mean over b of the distance to the nearest point of a. */
  bToA: number;
  /** aToB + bToA. */
  chamfer: number;
}

/**
 * Symmetric Chamfer distance: mean nearest-neighbour distance from a to b plus from b to a, metres.
 * With `squared: true` the distances are squared before averaging (m²; the PyTorch3D / DP3 form).
 * Exact (grid nearest-neighbour search), O((n + m) · cells visited). Both clouds must be non-empty.
 */
export function chamferDistance(a: Float32Array, b: Float32Array, opts?: { squared?: boolean }): ChamferResult {
  const na = checkCloud(a, 'a');
  const nb = checkCloud(b, 'b');
  if (na === 0) throw new FieldError('a', 'a non-empty cloud', 0);
  if (nb === 0) throw new FieldError('b', 'a non-empty cloud', 0);
  const squared = opts?.squared ?? false;
  const directed = (from: Float32Array, to: Float32Array, nTo: number): number => {
    const g = new SpatialGrid(to, gridCellFor(to, nTo));
    let sum = 0;
    for (let i = 0; i < from.length; i += 3) {
      g.nearest(from[i]!, from[i + 1]!, from[i + 2]!);
      sum += squared ? g.lastDist2 : Math.sqrt(g.lastDist2);
    }
    return sum / (from.length / 3);
  };
  const aToB = directed(a, b, nb);
  const bToA = directed(b, a, na);
  return { aToB, bToA, chamfer: aToB + bToA };
}

/** A cell size giving about 2 points per cell for a surface-like cloud (queries then scan few cells). */
function gridCellFor(points: Float32Array, n: number): number {
  let x0 = Infinity, y0 = Infinity, z0 = Infinity, x1 = -Infinity, y1 = -Infinity, z1 = -Infinity;
  for (let i = 0; i < points.length; i += 3) {
    x0 = Math.min(x0, points[i]!);
    x1 = Math.max(x1, points[i]!);
    y0 = Math.min(y0, points[i + 1]!);
    y1 = Math.max(y1, points[i + 1]!);
    z0 = Math.min(z0, points[i + 2]!);
    z1 = Math.max(z1, points[i + 2]!);
  }
  // Treat the cloud as a surface spanning its two largest extents.
  const e = [x1 - x0, y1 - y0, z1 - z0].sort((p, q) => q - p);
  const area = Math.max(e[0]! * e[1]!, e[0]! * e[0]! * 1e-3, 1e-12);
  return Math.max(Math.sqrt((2 * area) / Math.max(1, n)), 1e-6);
}

/** Options of the Earth Mover's Distance. */
export interface EmdOptions {
  /**
   * Largest cloud solved exactly by the Hungarian method (O(n³): 500 points ≈ 0.2 s, 1000 ≈ 1 s).
   * Equal-size clouds above it are solved by the auction algorithm to within `epsilon`.
   * @default 500
   */
  maxExactPoints?: number;
  /**
   * Guaranteed bound on the auction's error, metres: the returned EMD is within `epsilon` above the
   * exact value (ε-complementary slackness). 2000 points: ≈ 1 s at 1e-5.
   * @default 1e-5
   */
  epsilon?: number;
  /**
   * Largest cloud matched at all; larger clouds are first reduced to this many points by a seeded
   * uniform random subset (then `subsampled` is true and no bound holds).
   * @default 4000
   */
  maxPoints?: number;
  /**
   * Seed of the random subsets (clouds above `maxPoints`, or the larger cloud of an unequal pair).
   * @default 0
   */
  seed?: number;
}

/** EMD value and how it was obtained. */
export interface EmdResult {
  /** Mean Euclidean distance over the (ε-)optimal one-to-one matching, metres. */
  emd: number;
  /** `hungarian`: exact; `auction`: within `errorBound` of exact on the matched points. */
  method: 'hungarian' | 'auction';
  /** Upper bound on emd − exact EMD of the matched points, metres (0 for the Hungarian method). */
  errorBound: number;
  /** True when a cloud was reduced to a random subset (unequal sizes or above `maxPoints`). */
  subsampled: boolean;
  /** Points per cloud actually matched. */
  pointsMatched: number;
}

/**
 * Earth Mover's Distance between two clouds with uniform weights: the minimum over one-to-one
 * matchings of the mean Euclidean distance between matched points, metres.
 *
 * - Equal sizes n ≤ `maxExactPoints`: exact (Hungarian method).
 * - Equal sizes up to `maxPoints`: auction algorithm with ε-scaling; the value is at most `epsilon`
 *   above the exact EMD (a proven bound; measured on 2000-point rope clouds: 1e-7 to 7e-7 m above
 *   exact at ε = 1e-5 m, test/cloud/metrics.test.ts checks the bound against the Hungarian solve).
 * - Unequal sizes, or more than `maxPoints`: each cloud is reduced to m = min(na, nb, maxPoints)
 *   points by a seeded uniform random subset first, then matched as above. This is an estimate with
 *   no bound: subsampling adds a positive bias about the subset's point spacing, large relative to
 *   the EMD of near-identical clouds (72 % at 2000→1000 rope points 2 mm apart), small for clouds far
 *   apart. Resample both clouds to one size (e.g. farthest-point sampling) to avoid it.
 */
export function earthMoverDistance(a: Float32Array, b: Float32Array, opts?: EmdOptions): EmdResult {
  const na = checkCloud(a, 'a');
  const nb = checkCloud(b, 'b');
  const maxExact = opts?.maxExactPoints ?? 500;
  const epsilon = opts?.epsilon ?? 1e-5;
  const maxPoints = opts?.maxPoints ?? 4000;
  if (!Number.isInteger(maxExact) || maxExact < 0) throw new FieldError('maxExactPoints', 'an integer >= 0', maxExact);
  if (!Number.isInteger(maxPoints) || maxPoints < 1) throw new FieldError('maxPoints', 'an integer >= 1', maxPoints);
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new FieldError('epsilon', 'a finite number > 0 (metres)', epsilon);
  if (na === 0) throw new FieldError('a', 'a non-empty cloud', 0);
  if (nb === 0) throw new FieldError('b', 'a non-empty cloud', 0);
  const m = Math.min(na, nb, maxPoints);
  const subsampled = m !== na || m !== nb;
  let pa = a, pb = b;
  if (subsampled) {
    const rng = new Rng(opts?.seed ?? 0);
    pa = randomSubset(a, na, m, rng);
    pb = randomSubset(b, nb, m, rng);
  }
  if (m <= maxExact) return { emd: exactEmd(pa, pb, m), method: 'hungarian', errorBound: 0, subsampled, pointsMatched: m };
  const { total } = auctionAssignment(pa, pb, m, epsilon);
  return { emd: total / m, method: 'auction', errorBound: epsilon, subsampled, pointsMatched: m };
}

function exactEmd(a: Float32Array, b: Float32Array, n: number): number {
  const cost = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const x = a[3 * i]!, y = a[3 * i + 1]!, z = a[3 * i + 2]!;
    const row = i * n;
    for (let j = 0; j < n; j++) {
      const dx = b[3 * j]! - x, dy = b[3 * j + 1]! - y, dz = b[3 * j + 2]! - z;
      cost[row + j] = Math.sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return solveAssignment(cost, n).total / n;
}

/** m points of an n-point cloud chosen uniformly without replacement (partial Fisher–Yates). */
function randomSubset(points: Float32Array, n: number, m: number, rng: Rng): Float32Array {
  if (m === n) return points;
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const out = new Float32Array(3 * m);
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
    const s = idx[i]!;
    out[3 * i] = points[3 * s]!;
    out[3 * i + 1] = points[3 * s + 1]!;
    out[3 * i + 2] = points[3 * s + 2]!;
  }
  return out;
}
