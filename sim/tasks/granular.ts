// granular-t: a pile of small particles swept by a flat wiper into a "T" region on the table.
import type { MainModule } from 'mujoco-js';
import { chamferDistance, earthMoverDistance, occupancyIoU2D } from '../../src/cloud/metrics.ts';
import { Rng, type Metrics, type Primitive, type TaskGoal, type Vec3 } from '../../src/core/index.ts';
import type { RenderScene } from '../camera.ts';
import { regionCloud, regionContains, regionNearest, tRegion, type GoalRegion } from '../shapes.ts';
import { MujocoWorld, TABLE_EXTENT, type WorldOptions } from '../world-base.ts';

/** Particles and physics; lengths in m, masses in kg. */
export const GRANULAR = {
  particles: 160,
  radius: 0.007,
  mass: 0.005,
  friction: 0.7,
  damping: 0.02,
  timestep: 0.008,
} as const;

/** The wiper (a flat box, `width` across the sweep) and its motion (peak speeds m/s, heights m). */
export const SWEEP_MOTION = {
  width: 0.1,
  thickness: 0.02,
  height: 0.04,
  /** Gap between the wiper's lower edge and the table while sweeping. */
  clearance: 0.002,
  /** The wiper comes down this far behind the start point (DeformPAM: 0.04 m). */
  backOff: 0.03,
  hover: 0.08,
  travelSpeed: 1.5,
  descendSpeed: 0.4,
  sweepSpeed: 0.35,
  settleAtEnd: 0.15,
  /** Reach limits: sweep length, m. */
  minLength: 0.02,
  maxLength: 0.45,
} as const;

export const GRANULAR_METRICS = {
  cellSize: 0.01,
  /**
   * Success: top-down IoU of the particles against the T at least this. 160 particles cannot tile the
   * T exactly; the scripted expert reached 0.39–0.53 after 15 sweeps on seeds 0–2.
   */
  successIoU: 0.45,
} as const;

export class GranularWorld extends MujocoWorld {
  readonly task = 'granular-t' as const;
  readonly primitive = 'sweep' as const;
  readonly goal: GoalRegion = tRegion(0, 0, 0.2, 0.06, 0.06, 0.14);
  #wiper: number;
  #qposAdr: Int32Array;
  #bodyIds: Int32Array;
  #bodyPos: Float64Array;
  #goalCloud: Float32Array;
  #goalSubset: Float32Array;

  constructor(mj: MainModule, opts: WorldOptions = {}) {
    super(mj, granularXml(), 'granular-t', 15, opts);
    this.#wiper = this.mocapIndex('wiper_target');
    const m = this.model;
    const n = GRANULAR.particles;
    this.#qposAdr = new Int32Array(n);
    this.#bodyPos = new Float64Array(n * 3);
    this.#bodyIds = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const b = this.bodyId(`p${i}`);
      this.#bodyIds[i] = b;
      this.#qposAdr[i] = (m.jnt_qposadr as Int32Array)[(m.body_jntadr as Int32Array)[b]!]!;
      for (let k = 0; k < 3; k++) this.#bodyPos[i * 3 + k] = (m.body_pos as Float64Array)[b * 3 + k]!;
    }
    this.#goalCloud = regionCloud(this.goal, 0.005, 0);
    // A fixed, evenly spread subset of the goal with one point per particle (for Chamfer and exact EMD).
    const sub = new Float32Array(n * 3);
    const total = this.#goalCloud.length / 3;
    for (let i = 0; i < n; i++) {
      const j = Math.floor(((i + 0.5) * total) / n);
      sub.set(this.#goalCloud.subarray(j * 3, j * 3 + 3), i * 3);
    }
    this.#goalSubset = sub;
    this.reset(0);
  }

  /** Particle centres [n, 3], table frame. */
  particles(): Float64Array {
    const n = GRANULAR.particles;
    const out = new Float64Array(n * 3);
    const xpos = this.data.xpos as Float64Array;
    for (let i = 0; i < n; i++) {
      const b = this.#bodyIds[i]!;
      out[i * 3] = xpos[b * 3]!;
      out[i * 3 + 1] = xpos[b * 3 + 1]!;
      out[i * 3 + 2] = xpos[b * 3 + 2]!;
    }
    return out;
  }

  /** The T region as a cloud of points at table height (5 mm lattice). */
  taskGoal(): TaskGoal {
    return { kind: 'region', objective: 'sweep the particles into the T region (all inside, none outside)', rects: this.goal.rects.map((r) => [...r]) };
  }

  goalCloud(): Float32Array {
    return this.#goalCloud;
  }

  protected randomize(seed: number): void {
    const rng = new Rng(seed ^ 0x6a0);
    const n = GRANULAR.particles;
    const r = GRANULAR.radius;
    // 1–3 Gaussian heaps placed around the T (not on it), particles without overlap, up to two layers.
    const heaps = 1 + rng.int(3);
    const centres: [number, number, number][] = [];
    for (let h = 0; h < heaps; h++) {
      let cx = 0, cy = 0;
      for (let t = 0; t < 50; t++) {
        cx = rng.uniform(-0.25, 0.25);
        cy = rng.uniform(-0.18, 0.18);
        if (!regionContains(this.goal, cx, cy, -0.04)) break;
      }
      centres.push([cx, cy, rng.uniform(0.03, 0.06)]);
    }
    const placed: number[] = [];
    const q = this.data.qpos as Float64Array;
    for (let i = 0; i < n; i++) {
      let x = 0, y = 0, z = r;
      for (let t = 0; t < 200; t++) {
        const [cx, cy, s] = centres[rng.int(heaps)]!;
        x = Math.min(0.33, Math.max(-0.33, cx + rng.normal(0, s)));
        y = Math.min(0.24, Math.max(-0.24, cy + rng.normal(0, s)));
        z = r;
        let clash = false;
        for (let j = 0; j < placed.length && !clash; j += 3) {
          const d = Math.hypot(placed[j]! - x, placed[j + 1]! - y);
          if (d < 2 * r && Math.abs(placed[j + 2]! - z) < 2 * r) {
            if (z === r && t > 100) z = 3 * r; // second layer once the first is crowded
            else clash = true;
          }
        }
        if (!clash) break;
      }
      placed.push(x, y, z);
      const a = this.#qposAdr[i]!;
      q[a] = x - this.#bodyPos[i * 3]!;
      q[a + 1] = y - this.#bodyPos[i * 3 + 1]!;
      q[a + 2] = z - this.#bodyPos[i * 3 + 2]!;
    }
    this.mj.mj_forward(this.model, this.data);
    this.settle(0.4);
  }

  protected renderScene(): RenderScene {
    const p = this.particles();
    const n = GRANULAR.particles;
    const spheres = new Float32Array(n * 4);
    for (let i = 0; i < n; i++) {
      spheres[i * 4] = p[i * 3]!;
      spheres[i * 4 + 1] = p[i * 3 + 1]!;
      spheres[i * 4 + 2] = p[i * 3 + 2]!;
      spheres[i * 4 + 3] = GRANULAR.radius;
    }
    return { spheres, sphereCount: n, triangles: new Float32Array(0), triangleCount: 0, table: TABLE_EXTENT };
  }

  protected reachViolation(p: Primitive): { bound: string; message: string } | null {
    const len = Math.hypot(p.b[0] - p.a[0], p.b[1] - p.a[1]);
    if (len < SWEEP_MOTION.minLength)
      return { bound: 'reach.minLength', message: `sweep length ${len.toFixed(3)} m is below reach.minLength = ${SWEEP_MOTION.minLength} m` };
    if (len > SWEEP_MOTION.maxLength)
      return { bound: 'reach.maxLength', message: `sweep length ${len.toFixed(3)} m is above reach.maxLength = ${SWEEP_MOTION.maxLength} m` };
    return null;
  }

  protected async runPrimitive(p: Primitive): Promise<void> {
    const M = SWEEP_MOTION;
    const w = this.#wiper;
    const dx = p.b[0] - p.a[0];
    const dy = p.b[1] - p.a[1];
    const len = Math.hypot(dx, dy);
    const ux = dx / len;
    const uy = dy / len;
    // The wiper's long side (its local y) lies across the motion: yaw = direction of motion.
    const yaw = Math.atan2(uy, ux);
    const z = M.height / 2 + M.clearance;
    const start: Vec3 = [p.a[0] - ux * M.backOff, p.a[1] - uy * M.backOff, z];
    await this.move([{ mocap: w, to: [start[0], start[1], z + M.hover] }], M.travelSpeed);
    this.setMocapYaw(w, yaw);
    await this.move([{ mocap: w, to: start }], M.descendSpeed);
    await this.move([{ mocap: w, to: [p.b[0], p.b[1], z] }], M.sweepSpeed);
    await this.move([{ mocap: w, to: [p.b[0], p.b[1], z + M.hover] }], M.descendSpeed);
    this.setMocapYaw(w, 0);
    await this.move([{ mocap: w, to: this.parkPosition() }], M.travelSpeed);
    await this.wait(M.settleAtEnd);
  }

  /** Each particle as 5 top-down samples of its disc (centre and 4 at 0.6 r), at z = 0. */
  #particleDiscs(): Float32Array {
    const p = this.particles();
    const n = GRANULAR.particles;
    const d = 0.6 * GRANULAR.radius;
    const out = new Float32Array(n * 15);
    const offs = [0, 0, d, 0, -d, 0, 0, d, 0, -d];
    for (let i = 0; i < n; i++)
      for (let k = 0; k < 5; k++) {
        out[(i * 5 + k) * 3] = p[i * 3]! + offs[k * 2]!;
        out[(i * 5 + k) * 3 + 1] = p[i * 3 + 1]! + offs[k * 2 + 1]!;
      }
    return out;
  }

  metrics(): Metrics {
    const p = this.particles();
    const centres = new Float32Array(p.length);
    for (let i = 0; i < p.length; i += 3) {
      centres[i] = p[i]!;
      centres[i + 1] = p[i + 1]!;
    }
    return {
      iou: occupancyIoU2D(this.#particleDiscs(), this.#goalCloud, { cellSize: GRANULAR_METRICS.cellSize }),
      chamfer: chamferDistance(centres, this.#goalSubset).chamfer,
      emd: earthMoverDistance(centres, this.#goalSubset).emd,
    };
  }

  success(): boolean {
    return (this.metrics().iou ?? 0) >= GRANULAR_METRICS.successIoU;
  }

  /**
   * Scripted expert: for particles outside the T, sweeps from just behind them toward the nearest
   * point inside the T; each sweep is scored with a kinematic push model (particles in the swept band
   * end up in front of the wiper at the end point) by how many particles end inside the T minus how
   * many were inside before, and the k best sweeps with distinct starts are returned.
   */
  expertActions(k: number, rng: Rng): Primitive[] {
    const p = this.particles();
    return granularExpert(p, GRANULAR.particles, this.goal, k, rng).filter((x) => !this.checkPrimitive(x));
  }
}

/** The granular expert on particle centres p [n, 3] (see GranularWorld.expertActions). */
export function granularExpert(p: Float64Array, n: number, goal: GoalRegion, k: number, rng: Rng): Primitive[] {
  const M = SWEEP_MOTION;
  const r = GRANULAR.radius;
  const outside: number[] = [];
  for (let i = 0; i < n; i++) if (!regionContains(goal, p[i * 3]!, p[i * 3 + 1]!, 0.003)) outside.push(i);
  const cands: { prim: Primitive; score: number }[] = [];
  const tries = Math.min(outside.length, 60);
  const order = rng.shuffle(outside.slice());
  for (let t = 0; t < tries; t++) {
    const i = order[t]!;
    const px = p[i * 3]!;
    const py = p[i * 3 + 1]!;
    const targets: [number, number][] = [regionNearest(goal, px, py, 0.015), regionNearest(goal, px, py, 0.03)];
    for (const [x0, y0, x1, y1] of goal.rects) targets.push([(x0 + x1) / 2, (y0 + y1) / 2]);
    for (const [qx, qy] of targets) {
      let dx = qx - px;
      let dy = qy - py;
      const d = Math.hypot(dx, dy);
      if (d < 0.005) continue;
      dx /= d;
      dy /= d;
      const sx = px - dx * (r + 0.012);
      const sy = py - dy * (r + 0.012);
      // the wiper's front stops at q: the pushed particles pile up from q on
      const ex = qx - dx * (r + M.thickness / 2);
      const ey = qy - dy * (r + M.thickness / 2);
      const prim: Primitive = { kind: 'sweep', a: [sx, sy, 0.02], b: [ex, ey, 0.02] };
      cands.push({ prim, score: predictSweepGain(p, n, goal, prim) });
    }
  }
  cands.sort((a, b) => b.score - a.score);
  const out: Primitive[] = [];
  for (const c of cands) {
    if (out.length >= k) break;
    if (c.score <= 0 && out.length > 0) break;
    if (out.some((o) => Math.hypot(o.a[0] - c.prim.a[0], o.a[1] - c.prim.a[1]) < 0.03)) continue;
    const len = Math.hypot(c.prim.b[0] - c.prim.a[0], c.prim.b[1] - c.prim.a[1]);
    if (len < M.minLength || len > M.maxLength) continue;
    out.push(c.prim);
  }
  if (out.length === 0) {
    // Everything is inside: spread the densest spot of the T along its bar.
    out.push({ kind: 'sweep', a: [-0.1, goal.rects[0]![1] - 0.03, 0.02], b: [-0.1, goal.rects[0]![1] + 0.02, 0.02] });
  }
  return out;
}

/** Particles ending inside the goal minus those inside before, under a kinematic push of the sweep. */
export function predictSweepGain(p: Float64Array, n: number, goal: GoalRegion, s: Primitive): number {
  const M = SWEEP_MOTION;
  const r = GRANULAR.radius;
  const dx = s.b[0] - s.a[0];
  const dy = s.b[1] - s.a[1];
  const len = Math.hypot(dx, dy);
  const ux = dx / len;
  const uy = dy / len;
  const sx = s.a[0] - ux * M.backOff;
  const sy = s.a[1] - uy * M.backOff;
  const reach = len + M.backOff;
  let gain = 0;
  let pushed = 0;
  for (let i = 0; i < n; i++) {
    const rx = p[i * 3]! - sx;
    const ry = p[i * 3 + 1]! - sy;
    const along = rx * ux + ry * uy;
    const across = -rx * uy + ry * ux;
    if (along < 0 || along > reach + r || Math.abs(across) > M.width / 2) continue;
    // pushed particles pile up in rows in front of the wiper, one row per width / diameter particles
    const front = reach + M.thickness / 2 + r + 2 * r * Math.floor(pushed / Math.floor(M.width / (2 * r)));
    pushed++;
    const fx = sx + ux * front - uy * across;
    const fy = sy + uy * front + ux * across;
    const before = regionContains(goal, p[i * 3]!, p[i * 3 + 1]!) ? 1 : 0;
    const after = regionContains(goal, fx, fy) ? 1 : 0;
    gain += after - before;
  }
  return gain;
}

function granularXml(): string {
  const n = GRANULAR.particles;
  const r = GRANULAR.radius;
  const M = SWEEP_MOTION;
  const bodies: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = ((i % 16) - 7.5) * 3 * r;
    const y = (Math.floor(i / 16) - 5) * 3 * r;
    bodies.push(
      `    <body name="p${i}" pos="${x.toFixed(4)} ${y.toFixed(4)} ${r}"><joint type="slide" axis="1 0 0"/><joint type="slide" axis="0 1 0"/><joint type="slide" axis="0 0 1"/><geom type="sphere" size="${r}" mass="${GRANULAR.mass}" contype="1" conaffinity="3" rgba="0.8 0.6 0.2 1"/></body>`,
    );
  }
  return `<mujoco model="granular">
  <option timestep="${GRANULAR.timestep}" integrator="implicitfast" cone="pyramidal"/>
  <default><joint damping="${GRANULAR.damping}"/><geom friction="${GRANULAR.friction} 0.005 0.0001" condim="3"/></default>
  <worldbody>
    <geom name="table" type="plane" size="${TABLE_EXTENT[2]} ${TABLE_EXTENT[3]} 0.01"/>
    <body name="wiper_target" mocap="true" pos="0 -0.45 0.3"/>
    <body name="wiper" pos="0 -0.45 0.3">
      <joint type="slide" axis="1 0 0" damping="0"/><joint type="slide" axis="0 1 0" damping="0"/><joint type="slide" axis="0 0 1" damping="0"/><joint type="hinge" axis="0 0 1" damping="0"/>
      <geom type="box" size="${M.thickness / 2} ${M.width / 2} ${M.height / 2}" mass="0.5" contype="2" conaffinity="2" rgba="0.3 0.3 0.8 1"/>
    </body>
${bodies.join('\n')}
  </worldbody>
  <equality>
    <weld name="wiper_hold" body1="wiper_target" body2="wiper" relpose="0 0 0 1 0 0 0" solref="0.005 1"/>
  </equality>
</mujoco>`;
}
