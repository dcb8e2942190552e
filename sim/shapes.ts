// Goal geometry: target curves for rope-<shape> and the "T" region for granular-t, in the table frame.

/** Rope goal shapes; each is a curve of the rope's length centred on its own centroid. */
export const ROPE_SHAPES = ['circle', 'line', 's', 'u'] as const;
export type RopeShape = (typeof ROPE_SHAPES)[number];

export function isRopeShape(s: string): s is RopeShape {
  return (ROPE_SHAPES as readonly string[]).includes(s);
}

/** A target curve: `points` [n, 2] xy at equal arc-length steps, `closed` when the ends meet. */
export interface TargetCurve {
  shape: RopeShape;
  points: Float64Array;
  count: number;
  closed: boolean;
  length: number;
}

/**
 * The curve of `shape` with arc length `length` (m), sampled at `count` equally spaced points (for a
 * closed curve the last point does not repeat the first), centred on its centroid.
 */
export function targetCurve(shape: RopeShape, length: number, count = 256): TargetCurve {
  const pts = new Float64Array(count * 2);
  const closed = shape === 'circle';
  for (let k = 0; k < count; k++) {
    const s = closed ? (length * k) / count : (length * k) / (count - 1);
    const [x, y] = curveAt(shape, s, length);
    pts[k * 2] = x;
    pts[k * 2 + 1] = y;
  }
  let cx = 0;
  let cy = 0;
  for (let k = 0; k < count; k++) {
    cx += pts[k * 2]!;
    cy += pts[k * 2 + 1]!;
  }
  cx /= count;
  cy /= count;
  for (let k = 0; k < count; k++) {
    pts[k * 2]! -= cx;
    pts[k * 2 + 1]! -= cy;
  }
  return { shape, points: pts, count, closed, length };
}

/** Point at arc length s along the uncentred curve. */
function curveAt(shape: RopeShape, s: number, L: number): [number, number] {
  switch (shape) {
    case 'circle': {
      const r = L / (2 * Math.PI);
      const a = s / r;
      return [r * Math.cos(a), r * Math.sin(a)];
    }
    case 'line':
      return [s - L / 2, 0];
    case 's': {
      // Two half circles of radius r, joined: total length 2πr.
      const r = L / (2 * Math.PI);
      const half = Math.PI * r;
      if (s <= half) {
        const a = Math.PI / 2 + s / r; // upper half circle, counter-clockwise from the top
        return [r * Math.cos(a), r + r * Math.sin(a)];
      }
      const a = Math.PI / 2 - (s - half) / r; // lower half circle, clockwise
      return [r * Math.cos(a), -r + r * Math.sin(a)];
    }
    case 'u': {
      // Two straight legs of length a and a half circle of radius r: 2a + πr = L, r = 0.13·L.
      const r = 0.13 * L;
      const a = (L - Math.PI * r) / 2;
      if (s <= a) return [-r, a - s];
      if (s <= a + Math.PI * r) {
        const t = (s - a) / r;
        return [-r * Math.cos(t), -r * Math.sin(t)];
      }
      return [r, s - a - Math.PI * r];
    }
  }
}

/** The granular goal: a "T" made of two rectangles [xmin, ymin, xmax, ymax] in the table frame. */
export interface GoalRegion {
  rects: [number, number, number, number][];
}

/** A "T" centred on (cx, cy): top bar `barW`×`barH`, stem `stemW`×`stemH`, opening up +y. */
export function tRegion(cx = 0, cy = 0, barW = 0.24, barH = 0.06, stemW = 0.06, stemH = 0.16): GoalRegion {
  const total = barH + stemH;
  const top = cy + total / 2;
  return {
    rects: [
      [cx - barW / 2, top - barH, cx + barW / 2, top],
      [cx - stemW / 2, top - total, cx + stemW / 2, top - barH],
    ],
  };
}

export function regionContains(r: GoalRegion, x: number, y: number, margin = 0): boolean {
  for (const [x0, y0, x1, y1] of r.rects)
    if (x >= x0 + margin && x <= x1 - margin && y >= y0 + margin && y <= y1 - margin) return true;
  return false;
}

export function regionArea(r: GoalRegion): number {
  return r.rects.reduce((a, [x0, y0, x1, y1]) => a + (x1 - x0) * (y1 - y0), 0);
}

/** Nearest point of the region to (x, y), pushed `inset` (m) inside its rectangle. */
export function regionNearest(r: GoalRegion, x: number, y: number, inset = 0): [number, number] {
  let best: [number, number] = [x, y];
  let bestD = Infinity;
  for (const [x0, y0, x1, y1] of r.rects) {
    const px = Math.min(Math.max(x, x0 + inset), x1 - inset);
    const py = Math.min(Math.max(y, y0 + inset), y1 - inset);
    const d = Math.hypot(px - x, py - y);
    if (d < bestD) {
      bestD = d;
      best = [px, py];
    }
  }
  return best;
}

/** Points filling the region on a square lattice of pitch `step` (m), at height z: a goal cloud. */
export function regionCloud(r: GoalRegion, step = 0.005, z = 0): Float32Array {
  const out: number[] = [];
  for (let i = 0; i < r.rects.length; i++) {
    const [x0, y0, x1, y1] = r.rects[i]!;
    for (let y = y0 + step / 2; y < y1; y += step)
      for (let x = x0 + step / 2; x < x1; x += step) {
        // the rectangles share an edge, not cells, so no point is counted twice
        out.push(x, y, z);
      }
  }
  return Float32Array.from(out);
}
