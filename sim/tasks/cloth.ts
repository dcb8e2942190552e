// cloth-unfold: a square flex cloth crumpled on the table, flattened by two-armed fling.
import type { MainModule } from 'mujoco-js';
import {
  chamferDistance,
  earthMoverDistance,
  normalizedCoverage,
  occupancyIoU2DRotationSearch,
  topDownArea,
} from '../../src/cloud/metrics.ts';
import { Rng, type Metrics, type Primitive, type TaskGoal, type Vec3 } from '../../src/core/index.ts';
import type { RenderScene } from '../camera.ts';
import { MujocoWorld, TABLE_EXTENT, flexVertices, type WorldOptions } from '../world-base.ts';

/** Cloth geometry and physics (a square grid flex); lengths in m, masses in kg. */
export const CLOTH = {
  /** Vertices per side (cost grows fast with this: 10 → ~2 ms per step on one core). */
  side: 10,
  spacing: 0.03,
  radius: 0.004,
  mass: 0.06,
  friction: 0.6,
  damping: 0.002,
  timestep: 0.005,
} as const;

/** Fling motion of both grippers (speeds are peak m/s; heights above the table, m). */
export const FLING_MOTION = {
  hover: 0.08,
  travelSpeed: 1.5,
  descendSpeed: 0.4,
  graspRadius: 0.03,
  minZ: 0.004,
  /** Lift both grasps to this height, stretched apart to at most their rest distance. */
  liftHeight: 0.32,
  liftSpeed: 0.6,
  /** Swing forward by this much, then back by `swingBack` while lowering to `layZ`. */
  swingForward: 0.12,
  swingSpeed: 1.2,
  swingBack: 0.3,
  layZ: 0.02,
  laySpeed: 0.6,
  settleAfterRelease: 0.2,
  settleAtEnd: 0.3,
  /** Reach limits on the two grasp points' separation, m. */
  minSeparation: 0.05,
  maxSeparation: 0.6,
} as const;

export const CLOTH_METRICS = {
  cellSize: 0.01,
  /**
   * Success: normalized coverage (top-down area / flat area) at least this. A rotated flat cloth
   * rasterizes to ≥ 1.0 on the 1 cm grid; one expert fling reached 0.88–1.0 on seeds 0–2.
   */
  successCoverage: 0.9,
} as const;

export class ClothWorld extends MujocoWorld {
  readonly task = 'cloth-unfold' as const;
  readonly primitive = 'fling' as const;
  readonly n = CLOTH.side * CLOTH.side;
  #left: number;
  #right: number;
  #weldsL: number[];
  #weldsR: number[];
  #qposAdr: Int32Array;
  #bodyPos: Float64Array;
  #elems: Int32Array;
  #flatArea: number;
  #flatCloud: Float32Array;
  #flatVerts: Float32Array;

  constructor(mj: MainModule, opts: WorldOptions = {}) {
    super(mj, clothXml(), 'cloth-unfold', 10, opts);
    this.#left = this.mocapIndex('left');
    this.#right = this.mocapIndex('right');
    this.#weldsL = Array.from({ length: this.n }, (_, i) => this.equalityId(`grasp_l_${i}`));
    this.#weldsR = Array.from({ length: this.n }, (_, i) => this.equalityId(`grasp_r_${i}`));
    const m = this.model;
    this.#qposAdr = new Int32Array(this.n);
    this.#bodyPos = new Float64Array(this.n * 3);
    for (let i = 0; i < this.n; i++) {
      const b = this.bodyId(`cloth_${i}`);
      this.#qposAdr[i] = (m.jnt_qposadr as Int32Array)[(m.body_jntadr as Int32Array)[b]!]!;
      for (let k = 0; k < 3; k++) this.#bodyPos[i * 3 + k] = (m.body_pos as Float64Array)[b * 3 + k]!;
    }
    const ne = (m.flex_elemnum as Int32Array)[0]!;
    const adr = (m.flex_elemdataadr as Int32Array)[0]!;
    this.#elems = new Int32Array((m.flex_elem as Int32Array).subarray(adr, adr + ne * 3));
    // The flat cloth (initial pose) is the reference for coverage and the IoU/Chamfer/EMD goal.
    this.mj.mj_forward(m, this.data);
    const flat = flexVertices(this.data, m);
    this.#flatCloud = this.#surfaceSamples(flat);
    this.#flatArea = topDownArea(this.#flatCloud, { cellSize: CLOTH_METRICS.cellSize });
    this.#flatVerts = Float32Array.from(flat, (v, i) => (i % 3 === 2 ? 0 : v));
    this.reset(0);
  }

  /** Cloth vertex positions [n, 3], table frame; vertex (ix, iy) is index ix·side + iy. */
  vertices(): Float64Array {
    return flexVertices(this.data, this.model);
  }

  taskGoal(): TaskGoal {
    // The flat cloth's corners (vertex (ix, iy) is index ix·side + iy), in order around the square.
    const s = CLOTH.side;
    const v = this.#flatVerts;
    const outline = [0, s - 1, s * s - 1, s * (s - 1)].flatMap((i) => [Math.round(v[i * 3]! * 1e4) / 1e4, Math.round(v[i * 3 + 1]! * 1e4) / 1e4]);
    return { kind: 'area', objective: 'spread the cloth flat over the marked area (largest coverage)', outline };
  }

  /** The flat cloth's top-down samples (the coverage reference), table frame at its initial pose. */
  goalCloud(): Float32Array {
    return this.#flatCloud;
  }

  protected randomize(seed: number): void {
    const rng = new Rng(seed ^ 0xc107);
    // Flat at a random yaw and offset, then 2–3 random drops (grasp a vertex, lift, move, let go).
    const yaw = rng.uniform(0, 2 * Math.PI);
    const ox = rng.uniform(-0.08, 0.08);
    const oy = rng.uniform(-0.06, 0.06);
    const c = Math.cos(yaw), s = Math.sin(yaw);
    const q = this.data.qpos as Float64Array;
    for (let i = 0; i < this.n; i++) {
      const bx = this.#bodyPos[i * 3]!, by = this.#bodyPos[i * 3 + 1]!;
      const a = this.#qposAdr[i]!;
      q[a] = ox + c * bx - s * by - bx;
      q[a + 1] = oy + s * bx + c * by - by;
    }
    this.mj.mj_forward(this.model, this.data);
    const drops = 2 + rng.int(2);
    const g = this.#left;
    const eq = this.data.eq_active as Uint8Array;
    for (let d = 0; d < drops; d++) {
      const v = this.vertices();
      const i = rng.int(this.n);
      const p: Vec3 = [v[i * 3]!, v[i * 3 + 1]!, v[i * 3 + 2]!];
      this.setMocapPos(g, p);
      eq[this.#weldsL[i]!] = 1;
      const h = rng.uniform(0.12, 0.25);
      const ang = rng.uniform(0, 2 * Math.PI);
      const dist = rng.uniform(0.04, 0.15);
      const tx = Math.min(0.25, Math.max(-0.25, p[0] + dist * Math.cos(ang)));
      const ty = Math.min(0.18, Math.max(-0.18, p[1] + dist * Math.sin(ang)));
      this.moveMocaps([{ mocap: g, to: [p[0], p[1], h] }], 1.2);
      this.moveMocaps([{ mocap: g, to: [tx, ty, h] }], 1.2);
      eq[this.#weldsL[i]!] = 0;
      this.settle(0.35);
    }
    this.setMocapPos(g, this.parkPosition(-0.1));
    this.settle(0.3);
  }

  protected renderScene(): RenderScene {
    const v = this.vertices();
    const e = this.#elems;
    const nt = e.length / 3;
    const tris = new Float32Array(nt * 9);
    for (let t = 0; t < nt; t++)
      for (let k = 0; k < 3; k++) {
        const i = e[t * 3 + k]!;
        // the visible surface lies one radius above the mid-surface (the flex is a thin slab)
        tris[t * 9 + k * 3] = v[i * 3]!;
        tris[t * 9 + k * 3 + 1] = v[i * 3 + 1]!;
        tris[t * 9 + k * 3 + 2] = v[i * 3 + 2]! + CLOTH.radius;
      }
    return { spheres: new Float32Array(0), sphereCount: 0, triangles: tris, triangleCount: nt, table: TABLE_EXTENT };
  }

  protected reachViolation(p: Primitive): { bound: string; message: string } | null {
    const sep = Math.hypot(p.b[0] - p.a[0], p.b[1] - p.a[1]);
    const M = FLING_MOTION;
    if (sep < M.minSeparation)
      return { bound: 'reach.minSeparation', message: `grasp separation ${sep.toFixed(3)} m is below reach.minSeparation = ${M.minSeparation} m` };
    if (sep > M.maxSeparation)
      return { bound: 'reach.maxSeparation', message: `grasp separation ${sep.toFixed(3)} m is above reach.maxSeparation = ${M.maxSeparation} m` };
    return null;
  }

  protected async runPrimitive(p: Primitive): Promise<void> {
    const M = FLING_MOTION;
    const L = this.#left;
    const R = this.#right;
    const az = Math.max(p.a[2], M.minZ);
    const bz = Math.max(p.b[2], M.minZ);
    await this.move(
      [
        { mocap: L, to: [p.a[0], p.a[1], az + M.hover] },
        { mocap: R, to: [p.b[0], p.b[1], bz + M.hover] },
      ],
      M.travelSpeed,
    );
    await this.move(
      [
        { mocap: L, to: [p.a[0], p.a[1], az] },
        { mocap: R, to: [p.b[0], p.b[1], bz] },
      ],
      M.descendSpeed,
    );
    const v = this.vertices();
    const gl = nearestVertex(v, this.n, [p.a[0], p.a[1], az], M.graspRadius, -1);
    const gr = nearestVertex(v, this.n, [p.b[0], p.b[1], bz], M.graspRadius, gl);
    const eq = this.data.eq_active as Uint8Array;
    if (gl >= 0) eq[this.#weldsL[gl]!] = 1;
    if (gr >= 0) eq[this.#weldsR[gr]!] = 1;
    // Stretch to the grasped vertices' rest distance (at most the primitive's separation + 20 %).
    const sep = Math.hypot(p.b[0] - p.a[0], p.b[1] - p.a[1]);
    const rest = gl >= 0 && gr >= 0 ? this.#restDistance(gl, gr) : sep;
    const width = Math.min(rest, M.maxSeparation);
    const ex = (p.b[0] - p.a[0]) / sep;
    const ey = (p.b[1] - p.a[1]) / sep;
    const cx = (p.a[0] + p.b[0]) / 2;
    const cy = (p.a[1] + p.b[1]) / 2;
    // Swing direction: perpendicular to the grasp line, toward the table centre.
    let nx = -ey, ny = ex;
    if (nx * -cx + ny * -cy < 0) {
      nx = -nx;
      ny = -ny;
    }
    const at = (along: number, fwd: number, z: number, side: number): Vec3 => [
      cx + side * ex * (width / 2) + nx * along * fwd,
      cy + side * ey * (width / 2) + ny * along * fwd,
      z,
    ];
    // Lift centred on the grasp midpoint, pulled back so the swing ends over the middle.
    const back = -M.swingForward;
    await this.move([{ mocap: L, to: at(1, back, M.liftHeight, -1) }, { mocap: R, to: at(1, back, M.liftHeight, 1) }], M.liftSpeed);
    await this.move([{ mocap: L, to: at(1, M.swingForward, M.liftHeight, -1) }, { mocap: R, to: at(1, M.swingForward, M.liftHeight, 1) }], M.swingSpeed);
    const layAt = M.swingForward - M.swingBack;
    await this.move([{ mocap: L, to: at(1, layAt, M.layZ, -1) }, { mocap: R, to: at(1, layAt, M.layZ, 1) }], M.laySpeed);
    if (gl >= 0) eq[this.#weldsL[gl]!] = 0;
    if (gr >= 0) eq[this.#weldsR[gr]!] = 0;
    await this.wait(M.settleAfterRelease);
    await this.move(
      [
        { mocap: L, to: this.parkPosition(-0.1) },
        { mocap: R, to: this.parkPosition(0.1) },
      ],
      M.travelSpeed,
    );
    await this.wait(M.settleAtEnd);
  }

  #restDistance(i: number, j: number): number {
    const s = CLOTH.side;
    return CLOTH.spacing * Math.hypot(Math.floor(i / s) - Math.floor(j / s), (i % s) - (j % s));
  }

  /**
   * Top-down samples of the cloth surface, z = 0: a barycentric lattice of pitch spacing/6 (5 mm) on
   * every triangle, dense enough for the 1 cm occupancy grid at any rotation.
   */
  #surfaceSamples(v: Float64Array): Float32Array {
    const e = this.#elems;
    const nt = e.length / 3;
    const m = 6;
    const per = ((m + 1) * (m + 2)) / 2;
    const out = new Float32Array(nt * per * 3);
    let o = 0;
    for (let t = 0; t < nt; t++) {
      const a = e[t * 3]!, b = e[t * 3 + 1]!, c = e[t * 3 + 2]!;
      for (let i = 0; i <= m; i++)
        for (let j = 0; j <= m - i; j++) {
          const wa = i / m, wb = j / m, wc = 1 - wa - wb;
          out[o++] = wa * v[a * 3]! + wb * v[b * 3]! + wc * v[c * 3]!;
          out[o++] = wa * v[a * 3 + 1]! + wb * v[b * 3 + 1]! + wc * v[c * 3 + 1]!;
          out[o++] = 0;
        }
    }
    return out;
  }

  metrics(): Metrics {
    const v = this.vertices();
    const samples = this.#surfaceSamples(v);
    const opts = { cellSize: CLOTH_METRICS.cellSize };
    const coverage = normalizedCoverage(samples, this.#flatArea, opts);
    const { iou, angle } = occupancyIoU2DRotationSearch(samples, this.#flatCloud, { ...opts, angleSteps: 36, refineSteps: 4 });
    const verts = Float32Array.from(v, (x, i) => (i % 3 === 2 ? 0 : x));
    const aligned = rotateAboutCentroidOnto(verts, this.#flatVerts, angle);
    return {
      coverage,
      iou,
      chamfer: chamferDistance(aligned, this.#flatVerts).chamfer,
      emd: earthMoverDistance(aligned, this.#flatVerts).emd,
    };
  }

  success(): boolean {
    return (this.metrics().coverage ?? 0) >= CLOTH_METRICS.successCoverage;
  }

  /**
   * Scripted expert: grasp pairs along the cloth's four edges (the two corners, or two edge vertices
   * 1–2 cells in from them), each fling stretched to the pair's rest distance. Pairs are ranked by how
   * exposed both grasp points are (no cloth above them) and how far apart they lie now relative to
   * their rest distance (a pair already spread out flings cleanly).
   */
  expertActions(k: number, rng: Rng): Primitive[] {
    const v = this.vertices();
    const s = CLOTH.side;
    const idx = (ix: number, iy: number) => ix * s + iy;
    const pairs: [number, number][] = [];
    for (const inset of [0, 1, 2]) {
      const lo = inset;
      const hi = s - 1 - inset;
      pairs.push([idx(lo, 0), idx(hi, 0)], [idx(lo, s - 1), idx(hi, s - 1)], [idx(0, lo), idx(0, hi)], [idx(s - 1, lo), idx(s - 1, hi)]);
    }
    const scored = pairs.map(([i, j]) => {
      const d = Math.hypot(v[i * 3]! - v[j * 3]!, v[i * 3 + 1]! - v[j * 3 + 1]!);
      const spread = Math.min(1, d / this.#restDistance(i, j));
      const exposed = (exposure(v, this.n, i) + exposure(v, this.n, j)) / 2;
      return { i, j, score: spread + exposed + rng.uniform(0, 1e-6) };
    });
    scored.sort((a, b) => b.score - a.score);
    const out: Primitive[] = [];
    for (const { i, j } of scored) {
      if (out.length >= k) break;
      const prim: Primitive = {
        kind: 'fling',
        a: [v[i * 3]!, v[i * 3 + 1]!, v[i * 3 + 2]!],
        b: [v[j * 3]!, v[j * 3 + 1]!, v[j * 3 + 2]!],
      };
      if (!this.checkPrimitive(prim)) out.push(prim);
    }
    return out;
  }
}

/** 1 when no other vertex lies above vertex i (within 1.5 cm horizontally), else 0. */
function exposure(v: Float64Array, n: number, i: number): number {
  for (let j = 0; j < n; j++) {
    if (j === i) continue;
    if (v[j * 3 + 2]! > v[i * 3 + 2]! + 0.004 && Math.hypot(v[j * 3]! - v[i * 3]!, v[j * 3 + 1]! - v[i * 3 + 1]!) < 0.015) return 0;
  }
  return 1;
}

function nearestVertex(v: Float64Array, n: number, at: Vec3, radius: number, exclude: number): number {
  let best = -1;
  let bestD = radius;
  for (let i = 0; i < n; i++) {
    if (i === exclude) continue;
    const d = Math.hypot(v[i * 3]! - at[0], v[i * 3 + 1]! - at[1], v[i * 3 + 2]! - at[2]);
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/** Rotates `pts` by `angle` about their xy centroid and moves the centroid onto `ref`'s. */
function rotateAboutCentroidOnto(pts: Float32Array, ref: Float32Array, angle: number): Float32Array {
  const n = pts.length / 3;
  const m = ref.length / 3;
  let ax = 0, ay = 0, bx = 0, by = 0;
  for (let i = 0; i < n; i++) {
    ax += pts[i * 3]!;
    ay += pts[i * 3 + 1]!;
  }
  for (let i = 0; i < m; i++) {
    bx += ref[i * 3]!;
    by += ref[i * 3 + 1]!;
  }
  ax /= n;
  ay /= n;
  bx /= m;
  by /= m;
  const c = Math.cos(angle), s = Math.sin(angle);
  const out = new Float32Array(pts.length);
  for (let i = 0; i < n; i++) {
    const dx = pts[i * 3]! - ax, dy = pts[i * 3 + 1]! - ay;
    out[i * 3] = bx + c * dx - s * dy;
    out[i * 3 + 1] = by + s * dx + c * dy;
  }
  return out;
}

function clothXml(): string {
  const n = CLOTH.side * CLOTH.side;
  const welds: string[] = [];
  for (let i = 0; i < n; i++) {
    welds.push(`    <weld name="grasp_l_${i}" body1="left" body2="cloth_${i}" active="false" relpose="0 0 0 1 0 0 0" solref="0.01 1"/>`);
    welds.push(`    <weld name="grasp_r_${i}" body1="right" body2="cloth_${i}" active="false" relpose="0 0 0 1 0 0 0" solref="0.01 1"/>`);
  }
  return `<mujoco model="cloth">
  <option timestep="${CLOTH.timestep}" integrator="implicitfast"/>
  <default><joint damping="${CLOTH.damping}"/></default>
  <worldbody>
    <geom name="table" type="plane" size="${TABLE_EXTENT[2]} ${TABLE_EXTENT[3]} 0.01" friction="${CLOTH.friction} 0.005 0.0001"/>
    <body name="left" mocap="true" pos="-0.1 -0.45 0.3"><geom type="box" size="0.01 0.02 0.03" contype="0" conaffinity="0" rgba="0.3 0.3 0.3 1"/></body>
    <body name="right" mocap="true" pos="0.1 -0.45 0.3"><geom type="box" size="0.01 0.02 0.03" contype="0" conaffinity="0" rgba="0.3 0.3 0.3 1"/></body>
    <flexcomp name="cloth" type="grid" count="${CLOTH.side} ${CLOTH.side} 1" spacing="${CLOTH.spacing} ${CLOTH.spacing} ${CLOTH.spacing}"
              pos="0 0 ${CLOTH.radius}" radius="${CLOTH.radius}" dim="2" mass="${CLOTH.mass}" rgba="0.8 0.3 0.3 1">
      <edge equality="true"/>
      <contact condim="3" friction="${CLOTH.friction} 0.005 0.0001" selfcollide="none"/>
    </flexcomp>
  </worldbody>
  <equality>
${welds.join('\n')}
  </equality>
</mujoco>`;
}
