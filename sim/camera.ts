// Virtual depth camera: z-buffers spheres, triangles and the table top, then turns the depth image into
// a table-frame cloud the way a real sensor does (occlusion, depth noise, dropout, point budget).
import { Rng, makeCloud, type PointCloud, type Vec3, type WorkspaceBox } from '../src/core/index.ts';

/** Intrinsics and pose of one depth camera; lengths in metres, the pose in the `table` frame. */
export interface DepthCameraSpec {
  name: string;
  /** Image size, pixels. */
  width: number;
  height: number;
  /** Vertical field of view, degrees (square pixels; fx = fy). */
  fovYDeg: number;
  /** Optical centre and the point the optical axis passes through, table frame. */
  position: Vec3;
  target: Vec3;
  /** Which table direction appears up in the image. */
  up: Vec3;
  /** Depth noise std = sigma0 + sigma2·z² (m), like structured-light / ToF sensors. */
  sigma0: number;
  sigma2: number;
  /** Probability a valid pixel returns nothing. */
  dropout: number;
  /** Pixels next to a depth jump larger than edgeJump (m) are dropped with probability edgeDropout. */
  edgeJump: number;
  edgeDropout: number;
  /** Valid range of the sensor, m. */
  minRange: number;
  maxRange: number;
}

/** Defaults: a 320×240 sensor 0.9 m above the table, tilted 20° from vertical, looking at the centre. */
export const DEFAULT_CAMERA: DepthCameraSpec = {
  name: 'camera_0',
  width: 320,
  height: 240,
  fovYDeg: 45,
  position: [0, -0.32, 0.88],
  target: [0, 0, 0],
  up: [0, 1, 0],
  sigma0: 0.0005,
  sigma2: 0.001,
  dropout: 0.01,
  edgeJump: 0.01,
  edgeDropout: 0.5,
  minRange: 0.2,
  maxRange: 3,
};

/** What the camera can see: spheres [x,y,z,r]*, triangles [x0,y0,z0,x1,…,z2]*, the table top rectangle. */
export interface RenderScene {
  spheres: Float32Array;
  sphereCount: number;
  triangles: Float32Array;
  triangleCount: number;
  /** Table top at z = 0: [xmin, ymin, xmax, ymax]. */
  table: [number, number, number, number];
}

/** Options for turning depth into a cloud. */
export interface CloudOptions {
  /** Keep the table plane (raw sensor output). Default false: keep points above `cropZ` inside `crop`. */
  table?: boolean;
  /** Crop box for the object cloud (table frame). */
  crop?: WorkspaceBox;
  /** Points lower than this above the table are cropped as table (m): ≈4σ of the default depth noise. Default 0.005. */
  cropZ?: number;
  /** At most this many points (uniform subset). Default 4096; 0 = no limit. */
  budget?: number;
  /** Noise and dropout seed. */
  seed: number;
  /** Stamp for the cloud, s. */
  stamp?: number;
}

/** One camera with its precomputed rays; renders a depth image and back-projects it. */
export class DepthCamera {
  readonly spec: DepthCameraSpec;
  readonly fx: number;
  readonly cx: number;
  readonly cy: number;
  /** Camera-to-table rotation, row-major 3×3 (columns are the optical x, y, z axes). */
  readonly rotation: Float64Array;
  /** Per pixel, the table-frame ray direction for unit optical depth, [w*h, 3]. */
  readonly #rays: Float32Array;
  /** Depth of the empty table (Infinity where the ray misses it). */
  #tableDepth: Float32Array | null = null;
  #tableKey = '';
  readonly depth: Float32Array;

  constructor(spec: Partial<DepthCameraSpec> = {}) {
    this.spec = { ...DEFAULT_CAMERA, ...spec };
    const s = this.spec;
    this.fx = s.height / 2 / Math.tan((s.fovYDeg * Math.PI) / 360);
    this.cx = s.width / 2;
    this.cy = s.height / 2;
    const z = normalize(sub(s.target, s.position));
    const upPerp = sub(s.up, scale(z, dot(s.up, z)));
    if (Math.hypot(...upPerp) < 1e-9) throw new Error(`camera ${s.name}: up must not be parallel to the view direction`);
    const y = scale(normalize(upPerp), -1); // optical y points down in the image
    const x = cross(y, z);
    this.rotation = new Float64Array([x[0], y[0], z[0], x[1], y[1], z[1], x[2], y[2], z[2]]);
    const n = s.width * s.height;
    this.#rays = new Float32Array(n * 3);
    const R = this.rotation;
    for (let v = 0; v < s.height; v++) {
      for (let u = 0; u < s.width; u++) {
        const dx = (u + 0.5 - this.cx) / this.fx;
        const dy = (v + 0.5 - this.cy) / this.fx;
        const i = (v * s.width + u) * 3;
        this.#rays[i] = R[0]! * dx + R[1]! * dy + R[2]!;
        this.#rays[i + 1] = R[3]! * dx + R[4]! * dy + R[5]!;
        this.#rays[i + 2] = R[6]! * dx + R[7]! * dy + R[8]!;
      }
    }
    this.depth = new Float32Array(n);
  }

  /** Renders optical-axis depth (m) of the scene into `this.depth`; Infinity where nothing is hit. */
  render(scene: RenderScene): Float32Array {
    const s = this.spec;
    const W = s.width;
    const H = s.height;
    const depth = this.depth;
    depth.set(this.#tableDepthFor(scene.table));
    const R = this.rotation;
    const [px, py, pz] = s.position;
    const f = this.fx;
    const toCam = (x: number, y: number, zz: number, out: number[]): void => {
      const ax = x - px;
      const ay = y - py;
      const az = zz - pz;
      out[0] = R[0]! * ax + R[3]! * ay + R[6]! * az;
      out[1] = R[1]! * ax + R[4]! * ay + R[7]! * az;
      out[2] = R[2]! * ax + R[5]! * ay + R[8]! * az;
    };
    const c = [0, 0, 0];
    // Spheres: exact ray–sphere intersection inside each projected bounding box.
    const sp = scene.spheres;
    for (let k = 0; k < scene.sphereCount; k++) {
      const r = sp[k * 4 + 3]!;
      toCam(sp[k * 4]!, sp[k * 4 + 1]!, sp[k * 4 + 2]!, c);
      const cz = c[2]!;
      if (cz - r < s.minRange) continue;
      const uc = (f * c[0]!) / cz + this.cx;
      const vc = (f * c[1]!) / cz + this.cy;
      const rp = (f * r) / (cz - r) + 1;
      const u0 = Math.max(0, Math.floor(uc - rp));
      const u1 = Math.min(W - 1, Math.ceil(uc + rp));
      const v0 = Math.max(0, Math.floor(vc - rp));
      const v1 = Math.min(H - 1, Math.ceil(vc + rp));
      const cc = c[0]! * c[0]! + c[1]! * c[1]! + cz * cz - r * r;
      for (let v = v0; v <= v1; v++) {
        const dy = (v + 0.5 - this.cy) / f;
        for (let u = u0; u <= u1; u++) {
          const dx = (u + 0.5 - this.cx) / f;
          const a = dx * dx + dy * dy + 1;
          const b = dx * c[0]! + dy * c[1]! + cz;
          const disc = b * b - a * cc;
          if (disc < 0) continue;
          const t = (b - Math.sqrt(disc)) / a;
          const i = v * W + u;
          if (t > 0 && t < depth[i]!) depth[i] = t;
        }
      }
    }
    // Triangles: ray–plane depth inside the projected triangle.
    const tr = scene.triangles;
    const p0 = [0, 0, 0];
    const p1 = [0, 0, 0];
    const p2 = [0, 0, 0];
    for (let k = 0; k < scene.triangleCount; k++) {
      const o = k * 9;
      toCam(tr[o]!, tr[o + 1]!, tr[o + 2]!, p0);
      toCam(tr[o + 3]!, tr[o + 4]!, tr[o + 5]!, p1);
      toCam(tr[o + 6]!, tr[o + 7]!, tr[o + 8]!, p2);
      if (p0[2]! < s.minRange || p1[2]! < s.minRange || p2[2]! < s.minRange) continue;
      const ua = (f * p0[0]!) / p0[2]! + this.cx;
      const va = (f * p0[1]!) / p0[2]! + this.cy;
      const ub = (f * p1[0]!) / p1[2]! + this.cx;
      const vb = (f * p1[1]!) / p1[2]! + this.cy;
      const uc = (f * p2[0]!) / p2[2]! + this.cx;
      const vc = (f * p2[1]!) / p2[2]! + this.cy;
      const area = (ub - ua) * (vc - va) - (vb - va) * (uc - ua);
      if (Math.abs(area) < 1e-12) continue;
      const u0 = Math.max(0, Math.floor(Math.min(ua, ub, uc)));
      const u1 = Math.min(W - 1, Math.ceil(Math.max(ua, ub, uc)));
      const v0 = Math.max(0, Math.floor(Math.min(va, vb, vc)));
      const v1 = Math.min(H - 1, Math.ceil(Math.max(va, vb, vc)));
      // plane normal n = (p1-p0)×(p2-p0); depth t = n·p0 / n·d with d = (dx, dy, 1)
      const e1x = p1[0]! - p0[0]!, e1y = p1[1]! - p0[1]!, e1z = p1[2]! - p0[2]!;
      const e2x = p2[0]! - p0[0]!, e2y = p2[1]! - p0[1]!, e2z = p2[2]! - p0[2]!;
      const nx = e1y * e2z - e1z * e2y;
      const ny = e1z * e2x - e1x * e2z;
      const nz = e1x * e2y - e1y * e2x;
      const np = nx * p0[0]! + ny * p0[1]! + nz * p0[2]!;
      const sgn = area > 0 ? 1 : -1;
      for (let v = v0; v <= v1; v++) {
        const pv = v + 0.5;
        for (let u = u0; u <= u1; u++) {
          const pu = u + 0.5;
          const w0 = ((ub - pu) * (vc - pv) - (vb - pv) * (uc - pu)) * sgn;
          const w1 = ((uc - pu) * (va - pv) - (vc - pv) * (ua - pu)) * sgn;
          const w2 = ((ua - pu) * (vb - pv) - (va - pv) * (ub - pu)) * sgn;
          if (w0 < 0 || w1 < 0 || w2 < 0) continue;
          const dx = (pu - this.cx) / f;
          const dy = (pv - this.cy) / f;
          const nd = nx * dx + ny * dy + nz;
          if (Math.abs(nd) < 1e-12) continue;
          const t = np / nd;
          const i = v * W + u;
          if (t > 0 && t < depth[i]!) depth[i] = t;
        }
      }
    }
    return depth;
  }

  /** Back-projects the last rendered depth into table-frame xyz with sensor noise and dropout. */
  toCloud(opts: CloudOptions): Float32Array {
    const s = this.spec;
    const W = s.width;
    const H = s.height;
    const depth = this.depth;
    const rng = new Rng(opts.seed);
    const rays = this.#rays;
    const [px, py, pz] = s.position;
    const keepTable = opts.table ?? false;
    const cropZ = opts.cropZ ?? 0.005;
    const box = opts.crop;
    const out = new Float32Array(W * H * 3);
    let n = 0;
    for (let v = 0; v < H; v++) {
      for (let u = 0; u < W; u++) {
        const i = v * W + u;
        const z = depth[i]!;
        if (!(z >= s.minRange && z <= s.maxRange)) continue;
        if (rng.next() < s.dropout) continue;
        if (s.edgeDropout > 0) {
          const jump =
            (u > 0 && Math.abs(depth[i - 1]! - z) > s.edgeJump) ||
            (u < W - 1 && Math.abs(depth[i + 1]! - z) > s.edgeJump) ||
            (v > 0 && Math.abs(depth[i - W]! - z) > s.edgeJump) ||
            (v < H - 1 && Math.abs(depth[i + W]! - z) > s.edgeJump);
          if (jump && rng.next() < s.edgeDropout) continue;
        }
        const zn = z + rng.normal(0, s.sigma0 + s.sigma2 * z * z);
        const x = px + zn * rays[i * 3]!;
        const y = py + zn * rays[i * 3 + 1]!;
        const h = pz + zn * rays[i * 3 + 2]!;
        if (!keepTable) {
          if (h < cropZ) continue;
          if (box && (x < box.min[0] || x > box.max[0] || y < box.min[1] || y > box.max[1] || h > box.max[2])) continue;
        }
        out[n * 3] = x;
        out[n * 3 + 1] = y;
        out[n * 3 + 2] = h;
        n++;
      }
    }
    return out.subarray(0, n * 3);
  }

  #tableDepthFor(table: [number, number, number, number]): Float32Array {
    const key = table.join(',');
    if (this.#tableDepth && this.#tableKey === key) return this.#tableDepth;
    const s = this.spec;
    const n = s.width * s.height;
    const d = new Float32Array(n).fill(Infinity);
    const [px, py, pz] = s.position;
    for (let i = 0; i < n; i++) {
      const rz = this.#rays[i * 3 + 2]!;
      if (rz >= 0) continue;
      const t = -pz / rz;
      const x = px + t * this.#rays[i * 3]!;
      const y = py + t * this.#rays[i * 3 + 1]!;
      if (x >= table[0] && x <= table[2] && y >= table[1] && y <= table[3]) d[i] = t;
    }
    this.#tableDepth = d;
    this.#tableKey = key;
    return d;
  }
}

/** Renders with every camera and merges their clouds, then keeps at most `budget` points (uniform subset). */
export function captureCloud(cameras: DepthCamera[], scene: RenderScene, opts: CloudOptions): PointCloud {
  const parts: Float32Array[] = [];
  let total = 0;
  cameras.forEach((cam, k) => {
    cam.render(scene);
    const pts = cam.toCloud({ ...opts, seed: (opts.seed + k * 7919) >>> 0 });
    parts.push(pts);
    total += pts.length / 3;
  });
  const all = new Float32Array(total * 3);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const budget = opts.budget ?? 4096;
  const points = budget > 0 && total > budget ? subsetInOrder(all, total, budget, new Rng((opts.seed ^ 0x5bd1e995) >>> 0)) : all;
  return makeCloud(points, 'table', opts.stamp ?? 0);
}

/** Exactly k of n points, chosen uniformly, kept in their original order (selection sampling). */
function subsetInOrder(pts: Float32Array, n: number, k: number, rng: Rng): Float32Array {
  const out = new Float32Array(k * 3);
  let chosen = 0;
  for (let i = 0; i < n && chosen < k; i++) {
    if ((n - i) * rng.next() < k - chosen) {
      out[chosen * 3] = pts[i * 3]!;
      out[chosen * 3 + 1] = pts[i * 3 + 1]!;
      out[chosen * 3 + 2] = pts[i * 3 + 2]!;
      chosen++;
    }
  }
  return out;
}

function sub(a: Vec3, b: Vec3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}
function scale(a: Vec3, k: number): Vec3 {
  return [a[0] * k, a[1] * k, a[2] * k];
}
function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
function normalize(a: Vec3): Vec3 {
  const n = Math.hypot(a[0], a[1], a[2]);
  return [a[0] / n, a[1] / n, a[2] / n];
}
