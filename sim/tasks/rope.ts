// rope-<shape>: a flex rope on the table, moved by pick_place toward a target curve (circle, line, s, u).
import type { MainModule } from 'mujoco-js';
import {
  chamferDistance,
  earthMoverDistance,
  occupancyIoU2DRotationSearch,
} from '../../src/cloud/metrics.ts';
import { Rng, thinXY, type Metrics, type Primitive, type TaskGoal, type TaskName, type Vec3 } from '../../src/core/index.ts';
import type { RenderScene } from '../camera.ts';
import { targetCurve, type RopeShape, type TargetCurve } from '../shapes.ts';
import { MujocoWorld, TABLE_EXTENT, flexVertices, resamplePolyline, type WorldOptions } from '../world-base.ts';

/** Rope geometry and physics; lengths in m, masses in kg. */
export const ROPE = {
  vertices: 32,
  segment: 0.02,
  radius: 0.006,
  mass: 0.05,
  friction: 0.8,
  damping: 0.002,
  timestep: 0.005,
} as const;

/** Gripper motion of pick_place (speeds are peak m/s; heights above the table, m). */
export const PICK_PLACE_MOTION = {
  hover: 0.08,
  travelSpeed: 1.5,
  descendSpeed: 0.3,
  transportSpeed: 0.4,
  /**
   * Lift height = xy distance from pick to place (DeformPAM's rule), clamped to [liftMin, liftMax]:
   * a low lift drags the rope like a planar chain; a high one drops a heap at the place point
   * (on 6 seeded rope-circle episodes the expert succeeded 6/6 with 0.02–0.04 m, 1/6 with 0.05–0.15 m).
   */
  liftMin: 0.02,
  liftMax: 0.04,
  /** The nearest rope vertex within this distance of the gripper is grasped. */
  graspRadius: 0.025,
  /** Lowest gripper height for pick and place (the rope's centre line lies at its radius). */
  minZ: 0.004,
  settleAfterRelease: 0.1,
  settleAtEnd: 0.3,
} as const;

/** Metric settings and the success threshold. */
export const ROPE_METRICS = {
  /** Points sampled along rope and goal curve for the metrics. */
  samples: 200,
  cellSize: 0.01,
  splatRadius: 0.01,
  /** Success: rotation-searched top-down IoU against the goal curve at least this. */
  successIoU: 0.7,
} as const;

export class RopeWorld extends MujocoWorld {
  readonly task: TaskName;
  readonly primitive = 'pick_place' as const;
  readonly shape: RopeShape;
  readonly goal: TargetCurve;
  readonly ropeLength = (ROPE.vertices - 1) * ROPE.segment;
  #gripper: number;
  #welds: number[];
  #qposAdr: Int32Array;
  #bodyPos: Float64Array;
  #goalCloud: Float32Array;

  constructor(mj: MainModule, shape: RopeShape, opts: WorldOptions = {}) {
    super(mj, ropeXml(), `rope-${shape}`, 20, opts);
    this.task = `rope-${shape}`;
    this.shape = shape;
    this.goal = targetCurve(shape, this.ropeLength, 256);
    this.#goalCloud = resamplePolyline(
      Float64Array.from({ length: this.goal.count * 3 }, (_, i) =>
        i % 3 === 2 ? 0 : this.goal.points[Math.floor(i / 3) * 2 + (i % 3)]!,
      ),
      this.goal.count,
      ROPE_METRICS.samples,
      0,
      this.goal.closed,
    );
    this.#gripper = this.mocapIndex('gripper');
    this.#welds = Array.from({ length: ROPE.vertices }, (_, i) => this.equalityId(`grasp_${i}`));
    const m = this.model;
    this.#qposAdr = new Int32Array(ROPE.vertices);
    this.#bodyPos = new Float64Array(ROPE.vertices * 3);
    for (let i = 0; i < ROPE.vertices; i++) {
      const b = this.bodyId(`rope_${i}`);
      this.#qposAdr[i] = (m.jnt_qposadr as Int32Array)[(m.body_jntadr as Int32Array)[b]!]!;
      for (let k = 0; k < 3; k++) this.#bodyPos[i * 3 + k] = (m.body_pos as Float64Array)[b * 3 + k]!;
    }
    this.reset(0);
  }

  /** Rope vertex positions [n, 3], table frame. */
  vertices(): Float64Array {
    return flexVertices(this.data, this.model);
  }

  taskGoal(): TaskGoal {
    return {
      kind: 'curve',
      objective: `lay the rope in a ${this.shape} shape (anywhere on the table, any rotation)`,
      points: thinXY(this.goal.points, this.goal.count, 64),
      closed: this.goal.closed,
      placement: 'free',
    };
  }

  /** The goal curve as a cloud at table height, centred on the origin (its placement is free). */
  goalCloud(): Float32Array {
    return this.#goalCloud;
  }

  protected randomize(seed: number): void {
    this.layRope(randomRopeCurve(new Rng(seed ^ 0x0c0ffee), ROPE.vertices, ROPE.segment));
  }

  /**
   * Lays the rope at rest along `pts` ([ROPE.vertices, 2] xy, table frame, about ROPE.segment apart) and
   * lets it settle; the edges pull other spacings to the segment length. Used to start the sim from a
   * rope seen elsewhere (a perceived centre line) as well as from the seeded draws.
   */
  layRope(pts: Float64Array): void {
    if (pts.length !== ROPE.vertices * 2 || !pts.every(Number.isFinite))
      throw new Error(`pts: expected ${ROPE.vertices * 2} finite numbers (${ROPE.vertices} xy pairs, m), received ${pts.length}`);
    (this.data.qvel as Float64Array).fill(0);
    const q = this.data.qpos as Float64Array;
    for (let i = 0; i < ROPE.vertices; i++) {
      const a = this.#qposAdr[i]!;
      q[a] = pts[i * 2]! - this.#bodyPos[i * 3]!;
      q[a + 1] = pts[i * 2 + 1]! - this.#bodyPos[i * 3 + 1]!;
      q[a + 2] = ROPE.radius - this.#bodyPos[i * 3 + 2]!;
    }
    this.mj.mj_forward(this.model, this.data);
    this.settle(0.3);
  }

  protected renderScene(): RenderScene {
    const v = flexVertices(this.data, this.model);
    const r = ROPE.radius;
    const step = r / 2;
    const spheres: number[] = [];
    for (let i = 0; i < ROPE.vertices - 1; i++) {
      const ax = v[i * 3]!, ay = v[i * 3 + 1]!, az = v[i * 3 + 2]!;
      const dx = v[i * 3 + 3]! - ax, dy = v[i * 3 + 4]! - ay, dz = v[i * 3 + 5]! - az;
      const n = Math.max(1, Math.ceil(Math.hypot(dx, dy, dz) / step));
      for (let k = 0; k < n; k++) spheres.push(ax + (dx * k) / n, ay + (dy * k) / n, az + (dz * k) / n, r);
    }
    const e = (ROPE.vertices - 1) * 3;
    spheres.push(v[e]!, v[e + 1]!, v[e + 2]!, r);
    return {
      spheres: Float32Array.from(spheres),
      sphereCount: spheres.length / 4,
      triangles: new Float32Array(0),
      triangleCount: 0,
      table: TABLE_EXTENT,
    };
  }

  protected async runPrimitive(p: Primitive): Promise<void> {
    const M = PICK_PLACE_MOTION;
    const g = this.#gripper;
    const pickZ = Math.max(p.a[2], M.minZ);
    const placeZ = Math.max(p.b[2], M.minZ);
    const lift = Math.min(M.liftMax, Math.max(M.liftMin, Math.hypot(p.b[0] - p.a[0], p.b[1] - p.a[1])));
    await this.move([{ mocap: g, to: [p.a[0], p.a[1], pickZ + M.hover] }], M.travelSpeed);
    await this.move([{ mocap: g, to: [p.a[0], p.a[1], pickZ] }], M.descendSpeed);
    const grasped = this.#nearestVertex([p.a[0], p.a[1], pickZ], M.graspRadius);
    const eq = this.data.eq_active as Uint8Array;
    if (grasped >= 0) eq[this.#welds[grasped]!] = 1;
    await this.move([{ mocap: g, to: [p.a[0], p.a[1], pickZ + lift] }], M.descendSpeed);
    await this.move([{ mocap: g, to: [p.b[0], p.b[1], placeZ + lift] }], M.transportSpeed);
    await this.move([{ mocap: g, to: [p.b[0], p.b[1], placeZ] }], M.descendSpeed);
    if (grasped >= 0) eq[this.#welds[grasped]!] = 0;
    await this.wait(M.settleAfterRelease);
    await this.move([{ mocap: g, to: [p.b[0], p.b[1], placeZ + M.hover] }], M.descendSpeed);
    await this.move([{ mocap: g, to: this.parkPosition() }], M.travelSpeed);
    await this.wait(M.settleAtEnd);
  }

  #nearestVertex(at: Vec3, radius: number): number {
    const v = flexVertices(this.data, this.model);
    let best = -1;
    let bestD = radius;
    for (let i = 0; i < ROPE.vertices; i++) {
      const d = Math.hypot(v[i * 3]! - at[0], v[i * 3 + 1]! - at[1], v[i * 3 + 2]! - at[2]);
      if (d <= bestD) {
        bestD = d;
        best = i;
      }
    }
    return best;
  }

  /** Rope points sampled along its centre line (z = 0), for the top-down metrics. */
  #ropeCloud(): Float32Array {
    return resamplePolyline(flexVertices(this.data, this.model), ROPE.vertices, ROPE_METRICS.samples, 0, false);
  }

  metrics(): Metrics {
    const rope = this.#ropeCloud();
    const goal = this.#goalCloud;
    const { iou, angle } = occupancyIoU2DRotationSearch(rope, goal, {
      cellSize: ROPE_METRICS.cellSize,
      splatRadius: ROPE_METRICS.splatRadius,
    });
    const aligned = alignRopeTo(rope, goal, angle);
    return {
      iou,
      chamfer: chamferDistance(aligned, goal).chamfer,
      emd: earthMoverDistance(aligned, goal).emd,
    };
  }

  success(): boolean {
    return (this.metrics().iou ?? 0) >= ROPE_METRICS.successIoU;
  }

  /**
   * Scripted expert. It fits the goal curve to the rope (rigid fits over the curve's start offsets and
   * both directions), proposes "pick vertex i, place it at its fitted target" for every vertex and the
   * three best fits, predicts each outcome with a planar follow-the-leader drag model of the rope, and
   * returns the k proposals that most reduce the predicted fit error (distinct pick points).
   */
  expertActions(k: number, rng: Rng): Primitive[] {
    const v = flexVertices(this.data, this.model);
    return ropeExpert(v, ROPE.vertices, this.goal, ROPE.segment, k, rng, (p) => !this.checkPrimitive(p));
  }
}

/** The rope expert on vertex positions v [n, 3] (see RopeWorld.expertActions). */
export function ropeExpert(
  v: Float64Array,
  n: number,
  goal: TargetCurve,
  seg: number,
  k: number,
  rng: Rng,
  valid: (p: Primitive) => boolean = () => true,
): Primitive[] {
  const fits = fitGoal(v, n, goal, seg);
  const base = fits[0]!.error;
  const scored: { i: number; score: number; place: [number, number] }[] = [];
  const sim = new Float64Array(n * 3);
  for (let f = 0; f < Math.min(3, fits.length); f++) {
    const fit = fits[f]!;
    for (let i = 0; i < n; i++) {
      if (fit.errors[i]! < 0.005) continue;
      const tx = fit.targets[i * 2]!;
      const ty = fit.targets[i * 2 + 1]!;
      sim.set(v);
      dragVertex(sim, n, i, tx, ty, seg);
      const after = fitGoal(sim, n, goal, seg, 1)[0]!.error;
      // Tiny seeded jitter breaks ties between equal proposals without favouring an index.
      scored.push({ i, score: base - after + rng.uniform(0, 1e-9), place: [tx, ty] });
    }
    // Open curves need the rope taut: also try pulling an end a little past its target, outward.
    if (!goal.closed) {
      for (const [e, nb] of [
        [0, 1],
        [n - 1, n - 2],
      ] as const) {
        const ox = fit.targets[e * 2]! - fit.targets[nb * 2]!;
        const oy = fit.targets[e * 2 + 1]! - fit.targets[nb * 2 + 1]!;
        const on = Math.hypot(ox, oy) || 1;
        for (const over of [0.01, 0.03]) {
          const tx = fit.targets[e * 2]! + (ox / on) * over;
          const ty = fit.targets[e * 2 + 1]! + (oy / on) * over;
          sim.set(v);
          dragVertex(sim, n, e, tx, ty, seg);
          const after = fitGoal(sim, n, goal, seg, 1)[0]!.error;
          scored.push({ i: e, score: base - after + rng.uniform(0, 1e-9), place: [tx, ty] });
        }
      }
    }
  }
  scored.sort((a, b) => b.score - a.score);
  const out: Primitive[] = [];
  for (const c of scored) {
    if (out.length >= k) break;
    const pick: Vec3 = [v[c.i * 3]!, v[c.i * 3 + 1]!, v[c.i * 3 + 2]!];
    if (out.some((o) => Math.hypot(o.a[0] - pick[0], o.a[1] - pick[1]) < 0.03 && Math.hypot(o.b[0] - c.place[0], o.b[1] - c.place[1]) < 0.03))
      continue;
    if (out.length > 0 && c.score < 0.25 * (scored[0]!.score)) break;
    const prim: Primitive = { kind: 'pick_place', a: pick, b: [c.place[0], c.place[1], ROPE.radius] };
    if (valid(prim)) out.push(prim);
  }
  if (out.length === 0) {
    for (const c of scored) {
      const prim: Primitive = { kind: 'pick_place', a: [v[c.i * 3]!, v[c.i * 3 + 1]!, v[c.i * 3 + 2]!], b: [c.place[0], c.place[1], ROPE.radius] };
      if (valid(prim)) {
        out.push(prim);
        break;
      }
    }
  }
  return out;
}

/**
 * Planar follow-the-leader model of dragging vertex i of a rope to (tx, ty): the vertex moves in
 * small steps and every other vertex is pulled along once its segment would exceed `seg`.
 */
export function dragVertex(p: Float64Array, n: number, i: number, tx: number, ty: number, seg: number): void {
  const sx = p[i * 3]!;
  const sy = p[i * 3 + 1]!;
  const steps = Math.max(1, Math.ceil(Math.hypot(tx - sx, ty - sy) / (seg / 2)));
  for (let k = 1; k <= steps; k++) {
    p[i * 3] = sx + ((tx - sx) * k) / steps;
    p[i * 3 + 1] = sy + ((ty - sy) * k) / steps;
    for (let j = i + 1; j < n; j++) if (!follow(p, j, j - 1, seg)) break;
    for (let j = i - 1; j >= 0; j--) if (!follow(p, j, j + 1, seg)) break;
  }
}

/** Pulls vertex j toward vertex l until they are `seg` apart; false when it was already within. */
function follow(p: Float64Array, j: number, l: number, seg: number): boolean {
  const dx = p[j * 3]! - p[l * 3]!;
  const dy = p[j * 3 + 1]! - p[l * 3 + 1]!;
  const d = Math.hypot(dx, dy);
  if (d <= seg) return false;
  p[j * 3] = p[l * 3]! + (dx * seg) / d;
  p[j * 3 + 1] = p[l * 3 + 1]! + (dy * seg) / d;
  return true;
}

function ropeXml(): string {
  const welds = Array.from(
    { length: ROPE.vertices },
    (_, i) => `    <weld name="grasp_${i}" body1="gripper" body2="rope_${i}" active="false" relpose="0 0 0 1 0 0 0" solref="0.01 1"/>`,
  ).join('\n');
  return `<mujoco model="rope">
  <option timestep="${ROPE.timestep}" integrator="implicitfast"/>
  <default><joint damping="${ROPE.damping}"/></default>
  <worldbody>
    <geom name="table" type="plane" size="${TABLE_EXTENT[2]} ${TABLE_EXTENT[3]} 0.01" friction="${ROPE.friction} 0.005 0.0001"/>
    <body name="gripper" mocap="true" pos="0 -0.45 0.3">
      <geom type="box" size="0.01 0.02 0.03" contype="0" conaffinity="0" rgba="0.3 0.3 0.3 1"/>
    </body>
    <flexcomp name="rope" type="grid" count="${ROPE.vertices} 1 1" spacing="${ROPE.segment} ${ROPE.segment} ${ROPE.segment}"
              pos="0 0 ${ROPE.radius}" radius="${ROPE.radius}" dim="1" mass="${ROPE.mass}" rgba="0.2 0.7 0.3 1">
      <edge equality="true"/>
      <contact condim="3" friction="${ROPE.friction} 0.005 0.0001" selfcollide="none"/>
    </flexcomp>
  </worldbody>
  <equality>
${welds}
  </equality>
</mujoco>`;
}

/** A smooth random rope curve [n, 2] with fixed segment length, inside the table's middle, not crossing itself. */
export function randomRopeCurve(rng: Rng, n: number, seg: number): Float64Array {
  for (let attempt = 0; attempt < 200; attempt++) {
    const pts = new Float64Array(n * 2);
    let th = rng.uniform(0, 2 * Math.PI);
    let turn = rng.normal(0, 0.1);
    for (let i = 1; i < n; i++) {
      turn = 0.7 * turn + rng.normal(0, 0.12);
      th += turn;
      pts[i * 2] = pts[(i - 1) * 2]! + seg * Math.cos(th);
      pts[i * 2 + 1] = pts[(i - 1) * 2 + 1]! + seg * Math.sin(th);
    }
    let cx = 0, cy = 0;
    for (let i = 0; i < n; i++) {
      cx += pts[i * 2]!;
      cy += pts[i * 2 + 1]!;
    }
    const ox = rng.uniform(-0.08, 0.08) - cx / n;
    const oy = rng.uniform(-0.06, 0.06) - cy / n;
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      pts[i * 2]! += ox;
      pts[i * 2 + 1]! += oy;
      if (Math.abs(pts[i * 2]!) > 0.34 || Math.abs(pts[i * 2 + 1]!) > 0.25) ok = false;
    }
    for (let i = 0; i < n && ok; i++)
      for (let j = i + 3; j < n && ok; j++)
        if (Math.hypot(pts[i * 2]! - pts[j * 2]!, pts[i * 2 + 1]! - pts[j * 2 + 1]!) < 0.02) ok = false;
    if (ok) return pts;
  }
  // A straight rope is always valid.
  const pts = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) pts[i * 2] = (i - (n - 1) / 2) * seg;
  return pts;
}

/** One rigid fit of the goal curve to the rope: per-vertex targets [n, 2] and errors (m). */
interface GoalFit {
  targets: Float64Array;
  errors: Float64Array;
  error: number;
}

/**
 * Fits the goal curve to the rope: vertex i corresponds to the curve point at arc length
 * offset ± i·seg; for each offset (closed curves) and direction, the best rotation and translation
 * (2D Procrustes, no reflection). Returns fits sorted by total squared error.
 */
export function fitGoal(v: Float64Array, n: number, goal: TargetCurve, seg: number, keep = Infinity): GoalFit[] {
  const L = goal.length;
  const offsets = goal.closed ? 32 : 1;
  const fits: GoalFit[] = [];
  const g = new Float64Array(n * 2);
  for (let o = 0; o < offsets; o++) {
    for (const dir of [1, -1]) {
      for (let i = 0; i < n; i++) {
        let s = goal.closed ? (o * L) / offsets + dir * i * seg : dir > 0 ? i * seg : L - i * seg;
        s = goal.closed ? ((s % L) + L) % L : Math.min(L, Math.max(0, s));
        const [x, y] = curvePoint(goal, s);
        g[i * 2] = x;
        g[i * 2 + 1] = y;
      }
      fits.push(procrustes(v, g, n));
    }
  }
  fits.sort((a, b) => a.error - b.error);
  return keep < fits.length ? fits.slice(0, keep) : fits;
}

function curvePoint(goal: TargetCurve, s: number): [number, number] {
  const n = goal.count;
  const step = goal.closed ? goal.length / n : goal.length / (n - 1);
  const f = s / step;
  const i = Math.min(Math.floor(f), goal.closed ? n - 1 : n - 2);
  const t = f - i;
  const j = (i + 1) % n;
  const p = goal.points;
  return [p[i * 2]! + (p[j * 2]! - p[i * 2]!) * t, p[i * 2 + 1]! + (p[j * 2 + 1]! - p[i * 2 + 1]!) * t];
}

/** Rotation + translation of g onto the rope vertices v (xy) minimising squared error. */
function procrustes(v: Float64Array, g: Float64Array, n: number): GoalFit {
  let vx = 0, vy = 0, gx = 0, gy = 0;
  for (let i = 0; i < n; i++) {
    vx += v[i * 3]!;
    vy += v[i * 3 + 1]!;
    gx += g[i * 2]!;
    gy += g[i * 2 + 1]!;
  }
  vx /= n;
  vy /= n;
  gx /= n;
  gy /= n;
  let sc = 0, ss = 0;
  for (let i = 0; i < n; i++) {
    const ax = g[i * 2]! - gx, ay = g[i * 2 + 1]! - gy;
    const bx = v[i * 3]! - vx, by = v[i * 3 + 1]! - vy;
    sc += ax * bx + ay * by;
    ss += ax * by - ay * bx;
  }
  const th = Math.atan2(ss, sc);
  const c = Math.cos(th), s = Math.sin(th);
  const targets = new Float64Array(n * 2);
  const errors = new Float64Array(n);
  let error = 0;
  for (let i = 0; i < n; i++) {
    const ax = g[i * 2]! - gx, ay = g[i * 2 + 1]! - gy;
    const tx = vx + c * ax - s * ay;
    const ty = vy + s * ax + c * ay;
    targets[i * 2] = tx;
    targets[i * 2 + 1] = ty;
    const e = Math.hypot(tx - v[i * 3]!, ty - v[i * 3 + 1]!);
    errors[i] = e;
    error += e * e;
  }
  return { targets, errors, error };
}

/** Rotates `rope` by `angle` about its xy centroid and moves the centroid onto `goal`'s. */
function alignRopeTo(rope: Float32Array, goal: Float32Array, angle: number): Float32Array {
  const n = rope.length / 3;
  let ax = 0, ay = 0, bx = 0, by = 0;
  for (let i = 0; i < n; i++) {
    ax += rope[i * 3]!;
    ay += rope[i * 3 + 1]!;
  }
  const m = goal.length / 3;
  for (let i = 0; i < m; i++) {
    bx += goal[i * 3]!;
    by += goal[i * 3 + 1]!;
  }
  ax /= n;
  ay /= n;
  bx /= m;
  by /= m;
  const c = Math.cos(angle), s = Math.sin(angle);
  const out = new Float32Array(rope.length);
  for (let i = 0; i < n; i++) {
    const dx = rope[i * 3]! - ax, dy = rope[i * 3 + 1]! - ay;
    out[i * 3] = bx + c * dx - s * dy;
    out[i * 3 + 1] = by + s * dx + c * dy;
    out[i * 3 + 2] = rope[i * 3 + 2]!;
  }
  return out;
}
