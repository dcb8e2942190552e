// Synthetic raw camera cloud for the perception bench: a table, a crumpled cloth on it, clutter and noise.
import { Rng } from '../src/core/rng.ts';

/** The workspace box the bench crops to, metres, table frame: [xmin, ymin, zmin, xmax, ymax, zmax]. */
export const BENCH_BOX = [-0.6, -0.45, -0.05, 0.6, 0.45, 0.4] as const;

/**
 * A 100k-point cloud ([n, 3] xyz, metres, `table` frame) as a top-down depth camera sees it:
 * - 55 % table top (1.2 m × 0.9 m, tilted 0.6° about y, 1.5 mm depth noise), hidden under the cloth;
 * - 35 % cloth (0.36 m × 0.36 m height field up to ~6 cm with folds, 1 mm noise);
 * - 8 % outside the workspace (floor 0.75 m below, a wall beyond x = 0.9 m);
 * - 2 % flying pixels in the air inside the workspace.
 * Seeded: the same seed gives the same bytes.
 */
export function makePerceptionCloud(n = 100_000, seed = 0): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(3 * n);
  const tilt = Math.tan((0.6 * Math.PI) / 180);
  const cx = 0.05, cy = 0.02, half = 0.18;
  const cloth = (x: number, y: number): number => {
    const u = (x - cx) / half, v = (y - cy) / half;
    return 0.012 + 0.025 * Math.max(0, Math.cos(2.1 * u + 0.4) * Math.cos(1.7 * v)) + 0.012 * Math.sin(5 * u + 3 * v) ** 2;
  };
  const nTable = Math.round(n * 0.55), nCloth = Math.round(n * 0.35), nOut = Math.round(n * 0.08);
  let i = 0;
  const put = (x: number, y: number, z: number) => {
    out[3 * i] = x;
    out[3 * i + 1] = y;
    out[3 * i + 2] = z;
    i++;
  };
  while (i < nTable) {
    const x = rng.uniform(-0.6, 0.6), y = rng.uniform(-0.45, 0.45);
    if (Math.abs(x - cx) < half && Math.abs(y - cy) < half) continue; // occluded by the cloth
    put(x, y, tilt * x + rng.normal(0, 0.0015));
  }
  while (i < nTable + nCloth) {
    const x = cx + rng.uniform(-half, half), y = cy + rng.uniform(-half, half);
    put(x, y, tilt * x + cloth(x, y) + rng.normal(0, 0.001));
  }
  while (i < nTable + nCloth + nOut) {
    if (rng.next() < 0.6) put(rng.uniform(-1.2, 1.2), rng.uniform(-1, 1), -0.75 + rng.normal(0, 0.003));
    else put(0.9 + rng.uniform(0, 0.05), rng.uniform(-1, 1), rng.uniform(-0.7, 0.8));
  }
  while (i < n) put(rng.uniform(-0.6, 0.6), rng.uniform(-0.45, 0.45), rng.uniform(0.02, 0.4));
  // Interleave like a real sensor's scan order would, not grouped by surface.
  for (let k = n - 1; k > 0; k--) {
    const j = rng.int(k + 1);
    for (let d = 0; d < 3; d++) {
      const t = out[3 * k + d]!;
      out[3 * k + d] = out[3 * j + d]!;
      out[3 * j + d] = t;
    }
  }
  return out;
}
