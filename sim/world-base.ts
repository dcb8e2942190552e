// The shared body of every simulated task: MuJoCo model and data, mocap motion, grasps, the depth
// camera, save/restore and the workspace check. Task classes add the scene, reset, primitive and metrics.
import type { MainModule, MjData, MjModel } from 'mujoco-js';
import {
  PRIMITIVE_POINT_NAMES,
  PrimitiveRefusedError,
  workspaceViolation,
  type ExecuteOptions,
  type ExecuteResult,
  type Metrics,
  type PointCloud,
  type Primitive,
  type PrimitiveKind,
  type Rng,
  type TaskName,
  type Vec3,
  type World,
  type WorkspaceBox,
  type WorldState,
} from '../src/core/index.ts';
import { DepthCamera, captureCloud, type DepthCameraSpec, type RenderScene } from './camera.ts';
import { getState, loadModel, nameId, setState } from './mujoco.ts';

/** Redraws allowed when a seeded start already meets the goal (then the last draw stands). */
const RESET_REDRAWS = 16;

/** Options every task accepts. */
export interface WorldOptions {
  /** Camera overrides (one entry per camera); default one overhead camera (see camera.ts). */
  cameras?: Partial<DepthCameraSpec>[];
  /** Default point budget of observe(). @default 4096 */
  pointBudget?: number;
  /** Episode step limit override (defaults: 20 rope, 15 granular, 10 cloth). */
  stepLimit?: number;
}

/** Observation options; additive to the World seam's `{ seed }`. */
export interface ObserveOptions {
  /** Noise/dropout seed; default derived from the episode seed and step, so a state always looks the same. */
  seed?: number;
  /** Keep the table plane (raw sensor). @default false (object points only, cropped to the workspace). */
  table?: boolean;
  /** Point budget (0 = all). @default the world's pointBudget */
  budget?: number;
}

/** Table top extent, table frame [xmin, ymin, xmax, ymax] (m). */
export const TABLE_EXTENT: [number, number, number, number] = [-0.5, -0.4, 0.5, 0.4];

/** The reach box of the arm(s) in the table frame, m. */
export const DEFAULT_WORKSPACE: WorkspaceBox = { min: [-0.4, -0.3, 0], max: [0.4, 0.3, 0.5] };

/** Where a parked tool waits: in front of the table, below the camera, out of its view. */
const PARK: Vec3 = [0, -0.45, 0.3];

/**
 * One sample of the motion during a primitive (see `MujocoWorld.setMotionObserver`). The arrays are
 * views into buffers the next frame overwrites: copy what you keep.
 */
export interface MotionFrame {
  /** Sim time, s. */
  t: number;
  /** Index of the running primitive in the episode (steps taken before it). */
  step: number;
  /** 'start' before the first physics step, 'move' during the motion, 'end' after the last step. */
  phase: 'start' | 'move' | 'end';
  /** Object points [n, 3], table frame, m: the sphere centres and triangle centroids the camera renders. */
  points: Float32Array;
  /** Tool (mocap body) positions [k, 3], table frame, m. */
  tools: Float32Array;
  /** Per tool: 1 while it holds something (a grasp: a weld/connect to it that the model starts inactive), else 0. */
  holding: Uint8Array;
}

export interface MotionObserverOptions {
  /** Sim seconds between 'move' frames (at most one per physics step). @default 1/15 */
  period?: number;
}

/** Thrown inside a primitive's motion when its abort signal fires; execute() turns it into `aborted: true`. */
class MotionAborted extends Error {}

/** With an abort signal, the motion yields to the event loop at least this often (wall ms) so an e-stop can arrive. */
const YIELD_EVERY_MS = 8;

/** MuJoCo's mjEQ_CONNECT and mjEQ_WELD: the equality types a grasp uses. */
const EQ_CONNECT = 0;
const EQ_WELD = 1;

export abstract class MujocoWorld implements World {
  abstract readonly task: TaskName;
  abstract readonly primitive: PrimitiveKind;
  readonly workspace: WorkspaceBox = DEFAULT_WORKSPACE;
  readonly stepLimit: number;
  protected readonly mj: MainModule;
  protected readonly model: MjModel;
  protected readonly data: MjData;
  protected readonly cameras: DepthCamera[];
  protected readonly pointBudget: number;
  protected episodeSeed = 0;
  protected steps = 0;
  /** Extra state a task keeps outside MuJoCo (e.g. nothing for now); saved with the MuJoCo state. */
  #initialState: Float64Array;
  #disposed = false;
  /** Frame callback period (sim seconds). */
  protected framePeriod = 1 / 30;
  #motion: ((f: MotionFrame) => void) | null = null;
  #motionPeriod = 1 / 15;
  /** The observer while a primitive runs, else null: the one check stepPhysics makes. */
  #motionLive: ((f: MotionFrame) => void) | null = null;
  #nextMotion = 0;
  #motionError: unknown = null;
  #motionPoints = new Float32Array(0);
  #motionTools = new Float32Array(0);
  #motionHolding = new Uint8Array(0);
  /** [equality id, tool index] of every grasp equality (see MotionFrame.holding). */
  #graspEqualities: Int32Array | null = null;
  #last: ExecuteResult | null = null;
  /** Execute options used when a call gives none (the demo arms them around a shared loop). */
  #defaults: Pick<ExecuteOptions, 'signal' | 'pace'> = {};
  /** While a primitive runs: its abort signal, pace and the sim/wall times it started at. */
  #run: { signal: AbortSignal | null; pace: number; t0: number; w0: number; yieldedAt: number } | null = null;

  protected constructor(mj: MainModule, xml: string, name: string, stepLimit: number, opts: WorldOptions) {
    this.mj = mj;
    const { model, data } = loadModel(mj, xml, name);
    this.model = model;
    this.data = data;
    this.stepLimit = opts.stepLimit ?? stepLimit;
    this.pointBudget = opts.pointBudget ?? 4096;
    this.cameras = (opts.cameras ?? [{}]).map((c, i) => new DepthCamera({ name: `camera_${i}`, ...c }));
    mj.mj_forward(model, data);
    this.#initialState = getState(mj, model, data);
  }

  // ---- World seam ----

  reset(seed: number): void {
    this.#checkAlive();
    setState(this.mj, this.model, this.data, this.#initialState);
    this.episodeSeed = seed >>> 0;
    this.steps = 0;
    this.#last = null;
    // A start that already meets the goal is no episode: draw again from seeds derived from this one
    // (deterministic, and every seed whose first draw is unsolved keeps exactly its old start).
    for (let attempt = 0; ; attempt++) {
      this.randomize(attempt === 0 ? seed >>> 0 : (Math.imul((seed >>> 0) ^ 0x5bd1e995, 2654435761) + attempt * 40503) >>> 0);
      if (attempt >= RESET_REDRAWS || !this.success()) break;
      setState(this.mj, this.model, this.data, this.#initialState);
    }
  }

  observe(opts: ObserveOptions = {}): PointCloud {
    this.#checkAlive();
    const seed = opts.seed ?? (Math.imul(this.episodeSeed ^ 0x9e3779b9, 31) + this.steps * 1013 + 17) >>> 0;
    return captureCloud(this.cameras, this.renderScene(), {
      seed,
      table: opts.table ?? false,
      crop: this.workspace,
      budget: opts.budget ?? this.pointBudget,
      stamp: this.data.time,
    });
  }

  checkPrimitive(p: Primitive): string | null {
    return this.violation(p)?.message ?? null;
  }

  /** The first limit `p` violates: `bound` names it (e.g. "workspace max.x", "kind", "reach.separation"). */
  violation(p: Primitive): { bound: string; message: string } | null {
    if (p.kind !== this.primitive)
      return { bound: 'kind', message: `primitive kind: expected ${this.primitive} for ${this.task}, received ${p.kind}` };
    const [na, nb] = PRIMITIVE_POINT_NAMES[p.kind];
    const ws = workspaceViolation(p.a, this.workspace, na) ?? workspaceViolation(p.b, this.workspace, nb);
    if (ws) {
      const m = /workspace (min|max)\.[xyz]/.exec(ws);
      return { bound: m ? m[0] : 'workspace', message: ws };
    }
    return this.reachViolation(p);
  }

  async execute(p: Primitive, opts: ExecuteOptions = {}): Promise<ExecuteResult> {
    this.#checkAlive();
    const why = this.violation(p);
    if (why) throw new PrimitiveRefusedError(why.bound, `primitive refused: ${why.message}`);
    const signal = opts.signal ?? this.#defaults.signal ?? null;
    const pace = opts.pace ?? this.#defaults.pace ?? 0;
    if (!(pace >= 0) || !Number.isFinite(pace)) throw new Error(`pace: expected a finite number ≥ 0 (sim s per wall s), received ${pace}`);
    const t0 = this.data.time;
    const w0 = performance.now();
    this.onFrame = opts.onFrame;
    this.nextFrame = t0;
    this.#motionError = null;
    this.#motionLive = this.#motion;
    this.#nextMotion = t0 + this.#motionPeriod;
    this.#run = { signal, pace, t0, w0, yieldedAt: w0 };
    // A primitive starts with open grippers: an aborted one may have left a grasp closed.
    this.#releaseGrasps();
    this.#emitMotion('start');
    let aborted = false;
    try {
      await this.runPrimitive(p);
    } catch (e) {
      if (!(e instanceof MotionAborted)) throw e;
      aborted = true;
    } finally {
      this.#emitMotion('end');
      this.onFrame = undefined;
      this.#motionLive = null;
      this.#run = null;
    }
    this.steps++;
    if (this.#motionError !== null)
      throw new Error(`motion observer failed (the primitive ran to its end; the observer was removed): ${String(this.#motionError)}`, {
        cause: this.#motionError,
      });
    const r: ExecuteResult = { duration: this.data.time - t0, wall: (performance.now() - w0) / 1000 };
    if (aborted) r.aborted = true;
    this.#last = r;
    return r;
  }

  /** The result of the last primitive that ran (null before the first; a loop that drops it reads it here). */
  get lastExecute(): ExecuteResult | null {
    return this.#last;
  }

  /**
   * Execute options for calls that pass none (a loop shared with other callers cannot pass them):
   * `signal` aborts the running primitive at the next control tick, `pace` caps sim s per wall s.
   * `{}` clears them.
   */
  setExecuteDefaults(d: Pick<ExecuteOptions, 'signal' | 'pace'>): void {
    if (d.pace !== undefined && (!(d.pace >= 0) || !Number.isFinite(d.pace)))
      throw new Error(`pace: expected a finite number ≥ 0 (sim s per wall s), received ${d.pace}`);
    this.#defaults = { ...d };
  }

  /**
   * Sets (or with null, removes) the observer of motion during primitives: called with a 'start'
   * frame, a 'move' frame at most every `period` of sim time, and an 'end' frame. It only reads the
   * state, so physics and determinism are the same with or without it; unset, it costs one null check
   * per physics step. An observer that throws is removed; execute() rethrows its error after the
   * primitive has finished.
   */
  setMotionObserver(f: ((frame: MotionFrame) => void) | null, opts: MotionObserverOptions = {}): void {
    const period = opts.period ?? 1 / 15;
    if (!(period > 0) || !Number.isFinite(period)) throw new Error(`motion period: expected a finite number > 0 s, received ${period}`);
    this.#motion = f;
    this.#motionPeriod = period;
  }

  abstract metrics(): Metrics;
  abstract success(): boolean;
  abstract expertActions(k: number, rng: Rng): Primitive[];

  saveState(): WorldState {
    const s = getState(this.mj, this.model, this.data);
    const data = new Float64Array(s.length + 2);
    data[0] = this.episodeSeed;
    data[1] = this.steps;
    data.set(s, 2);
    return { task: this.task, data };
  }

  restoreState(s: WorldState): void {
    this.#checkAlive();
    if (s.task !== this.task) throw new Error(`state: saved for task ${s.task}, this world runs ${this.task}`);
    setState(this.mj, this.model, this.data, s.data.subarray(2));
    this.episodeSeed = s.data[0]!;
    this.steps = s.data[1]!;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.data.delete();
    this.model.delete();
  }

  /** Intrinsics, pose and noise model of every camera (for metadata and viewers). */
  cameraSpecs(): DepthCameraSpec[] {
    return this.cameras.map((c) => ({ ...c.spec }));
  }

  /** Steps taken in this episode. */
  get stepCount(): number {
    return this.steps;
  }

  /** Simulated time, s. */
  get simTime(): number {
    return this.data.time;
  }

  /** Physics timestep, s. */
  get timestep(): number {
    return this.model.opt.timestep;
  }

  // ---- for task classes ----

  /** Seeded initial state: called after the model's initial state is restored. */
  protected abstract randomize(seed: number): void;
  /** What the camera sees now. */
  protected abstract renderScene(): RenderScene;
  /**
   * Runs the physical motion of an accepted primitive through `move` and `wait` (which check the abort
   * signal every control tick and keep the pace), so an e-stop stops it where it is.
   */
  protected abstract runPrimitive(p: Primitive): Promise<void>;
  /** Reach limits beyond the workspace box (e.g. grasp separation), or null. */
  protected reachViolation(_p: Primitive): { bound: string; message: string } | null {
    return null;
  }

  protected onFrame: ((t: number) => void) | undefined;
  protected nextFrame = 0;

  /** Advances physics n steps, calling the frame callback at about 30 Hz of sim time. */
  protected stepPhysics(n: number): void {
    const { mj, model, data } = this;
    for (let i = 0; i < n; i++) {
      mj.mj_step(model, data);
      if (this.onFrame && data.time >= this.nextFrame) {
        this.nextFrame = data.time + this.framePeriod;
        this.onFrame(data.time);
      }
      if (this.#motionLive && data.time >= this.#nextMotion) {
        this.#nextMotion = data.time + this.#motionPeriod;
        this.#emitMotion('move');
      }
    }
  }

  /** Fills the reused motion buffers from the rendered scene and the mocap bodies, and calls the observer. */
  #emitMotion(phase: MotionFrame['phase']): void {
    const f = this.#motionLive;
    if (!f) return;
    const scene = this.renderScene();
    const n = scene.sphereCount + scene.triangleCount;
    if (this.#motionPoints.length < n * 3) this.#motionPoints = new Float32Array(n * 3);
    const pts = this.#motionPoints;
    const sp = scene.spheres;
    for (let i = 0; i < scene.sphereCount; i++) {
      pts[i * 3] = sp[i * 4]!;
      pts[i * 3 + 1] = sp[i * 4 + 1]!;
      pts[i * 3 + 2] = sp[i * 4 + 2]!;
    }
    const tr = scene.triangles;
    for (let t = 0, o = scene.sphereCount * 3; t < scene.triangleCount; t++, o += 3) {
      const b = t * 9;
      pts[o] = (tr[b]! + tr[b + 3]! + tr[b + 6]!) / 3;
      pts[o + 1] = (tr[b + 1]! + tr[b + 4]! + tr[b + 7]!) / 3;
      pts[o + 2] = (tr[b + 2]! + tr[b + 5]! + tr[b + 8]!) / 3;
    }
    const k = this.model.nmocap;
    if (this.#motionTools.length !== k * 3) {
      this.#motionTools = new Float32Array(k * 3);
      this.#motionHolding = new Uint8Array(k);
    }
    const mp = this.data.mocap_pos as Float64Array;
    for (let i = 0; i < k * 3; i++) this.#motionTools[i] = mp[i]!;
    const eqs = (this.#graspEqualities ??= this.#findGraspEqualities());
    const active = this.data.eq_active as Uint8Array;
    this.#motionHolding.fill(0);
    for (let i = 0; i < eqs.length; i += 2) if (active[eqs[i]!]) this.#motionHolding[eqs[i + 1]!] = 1;
    try {
      f({ t: this.data.time, step: this.steps, phase, points: pts.subarray(0, n * 3), tools: this.#motionTools, holding: this.#motionHolding });
    } catch (e) {
      this.#motionError = e;
      this.#motion = null;
      this.#motionLive = null;
    }
  }

  /**
   * Grasp equalities as [equality id, tool index] pairs: welds/connects with a mocap body on either side
   * that the model starts inactive (a tool's permanent mount, e.g. the wiper's, is active from the start).
   */
  #findGraspEqualities(): Int32Array {
    const m = this.model;
    const type = m.eq_type as Int32Array;
    const active0 = m.eq_active0 as Uint8Array;
    const o1 = m.eq_obj1id as Int32Array;
    const o2 = m.eq_obj2id as Int32Array;
    const mocapOf = m.body_mocapid as Int32Array;
    const out: number[] = [];
    for (let e = 0; e < m.neq; e++) {
      if ((type[e] !== EQ_WELD && type[e] !== EQ_CONNECT) || active0[e]) continue;
      const tool = Math.max(mocapOf[o1[e]!] ?? -1, mocapOf[o2[e]!] ?? -1);
      if (tool >= 0) out.push(e, tool);
    }
    return Int32Array.from(out);
  }

  /** Steps for `seconds` of sim time. */
  protected settle(seconds: number): void {
    this.stepPhysics(Math.max(1, Math.round(seconds / this.model.opt.timestep)));
  }

  protected bodyId(name: string): number {
    return nameId(this.mj, this.model, 'body', name);
  }

  protected equalityId(name: string): number {
    return nameId(this.mj, this.model, 'equality', name);
  }

  /** Index into mocap_pos of a mocap body. */
  protected mocapIndex(body: string): number {
    const id = this.bodyId(body);
    const m = (this.model.body_mocapid as Int32Array)[id]!;
    if (m < 0) throw new Error(`body "${body}" is not a mocap body`);
    return m;
  }

  protected mocapPos(m: number): Vec3 {
    const p = this.data.mocap_pos as Float64Array;
    return [p[m * 3]!, p[m * 3 + 1]!, p[m * 3 + 2]!];
  }

  protected setMocapPos(m: number, v: Vec3): void {
    const p = this.data.mocap_pos as Float64Array;
    p[m * 3] = v[0];
    p[m * 3 + 1] = v[1];
    p[m * 3 + 2] = v[2];
  }

  /** Sets a mocap body's yaw (rotation about z), radians. */
  protected setMocapYaw(m: number, yaw: number): void {
    const q = this.data.mocap_quat as Float64Array;
    q[m * 4] = Math.cos(yaw / 2);
    q[m * 4 + 1] = 0;
    q[m * 4 + 2] = 0;
    q[m * 4 + 3] = Math.sin(yaw / 2);
  }

  /**
   * Moves mocap bodies together along straight lines to their targets with a minimum-jerk profile;
   * the duration is set by the slowest at `speed` (peak m/s). Real motion: physics steps every tick.
   * Synchronous, for set-up (reset); a primitive's motion uses `move`.
   */
  protected moveMocaps(moves: { mocap: number; to: Vec3 }[], speed: number, minDuration = 0.05): void {
    const plan = this.#movePlan(moves, speed, minDuration);
    for (let k = 1; k <= plan.n; k++) {
      plan.apply(k);
      this.stepPhysics(1);
    }
  }

  /** `moveMocaps` during a primitive: each tick checks the abort signal first and then keeps the pace. */
  protected async move(moves: { mocap: number; to: Vec3 }[], speed: number, minDuration = 0.05): Promise<void> {
    const plan = this.#movePlan(moves, speed, minDuration);
    for (let k = 1; k <= plan.n; k++) {
      const y = this.#controlTick(() => plan.apply(k));
      if (y) await y;
    }
  }

  /** `settle` during a primitive: `seconds` of sim time, tick by tick like `move`. */
  protected async wait(seconds: number): Promise<void> {
    const n = Math.max(1, Math.round(seconds / this.model.opt.timestep));
    for (let i = 0; i < n; i++) {
      const y = this.#controlTick();
      if (y) await y;
    }
  }

  /** A minimum-jerk move as `n` ticks; `apply(k)` sets the mocap targets of tick k (1…n). */
  #movePlan(moves: { mocap: number; to: Vec3 }[], speed: number, minDuration: number): { n: number; apply(k: number): void } {
    const from = moves.map((m) => this.mocapPos(m.mocap));
    let dist = 0;
    moves.forEach((m, i) => (dist = Math.max(dist, Math.hypot(m.to[0] - from[i]![0], m.to[1] - from[i]![1], m.to[2] - from[i]![2]))));
    // Peak speed of the minimum-jerk profile is 1.875 × mean speed.
    const duration = Math.max(minDuration, (1.875 * dist) / speed);
    const n = Math.max(1, Math.round(duration / this.model.opt.timestep));
    return {
      n,
      apply: (k) => {
        const t = k / n;
        const s = t * t * t * (10 - 15 * t + 6 * t * t);
        moves.forEach((m, i) => {
          const f = from[i]!;
          this.setMocapPos(m.mocap, [f[0] + (m.to[0] - f[0]) * s, f[1] + (m.to[1] - f[1]) * s, f[2] + (m.to[2] - f[2]) * s]);
        });
      },
    };
  }

  /**
   * One control tick of a primitive: stops (throws MotionAborted) when the signal has fired, before the
   * tick's targets are set, so the tools stay exactly where the last tick left them; otherwise sets the
   * targets and steps physics once. Returns a promise to await when the pace or the event loop needs
   * the motion to wait (undefined otherwise, so an unpaced run costs no microtask per tick).
   */
  #controlTick(setTargets?: () => void): Promise<void> | undefined {
    const r = this.#run;
    if (r?.signal?.aborted) throw new MotionAborted();
    setTargets?.();
    this.stepPhysics(1);
    if (!r || (!r.signal && r.pace === 0)) return undefined;
    const now = performance.now();
    if (r.pace > 0) {
      const due = r.w0 + ((this.data.time - r.t0) / r.pace) * 1000;
      if (due - now > 1) {
        r.yieldedAt = due;
        return new Promise((res) => setTimeout(res, due - now));
      }
    }
    if (now - r.yieldedAt < YIELD_EVERY_MS) return undefined;
    r.yieldedAt = now;
    return new Promise((res) => setImmediate(res));
  }

  /** Opens every grasp (deactivates the grasp equalities; permanent mounts are not grasps). */
  #releaseGrasps(): void {
    const eqs = (this.#graspEqualities ??= this.#findGraspEqualities());
    const active = this.data.eq_active as Uint8Array;
    for (let i = 0; i < eqs.length; i += 2) active[eqs[i]!] = 0;
  }

  /** Where a tool parks between primitives (out of the camera's view). */
  protected parkPosition(offsetX = 0): Vec3 {
    return [PARK[0] + offsetX, PARK[1], PARK[2]];
  }

  #checkAlive(): void {
    if (this.#disposed) throw new Error(`world ${this.task} was disposed`);
  }
}

/** Row-major positions of the flex's vertices, [n, 3], copied out of WASM memory. */
export function flexVertices(data: MjData, model: MjModel, flex = 0): Float64Array {
  const adr = (model.flex_vertadr as Int32Array)[flex]!;
  const num = (model.flex_vertnum as Int32Array)[flex]!;
  return new Float64Array((data.flexvert_xpos as Float64Array).subarray(adr * 3, (adr + num) * 3));
}

/** Uniform point spacing samples along a polyline [n,3] (xy plane at height z), for metrics. */
export function resamplePolyline(pts: ArrayLike<number>, n: number, count: number, z: number, closed = false): Float32Array {
  const segs = closed ? n : n - 1;
  const cum = new Float64Array(segs + 1);
  for (let i = 0; i < segs; i++) {
    const j = (i + 1) % n;
    cum[i + 1] = cum[i]! + Math.hypot(pts[j * 3]! - pts[i * 3]!, pts[j * 3 + 1]! - pts[i * 3 + 1]!);
  }
  const total = cum[segs]!;
  const out = new Float32Array(count * 3);
  let s = 0;
  for (let k = 0; k < count; k++) {
    const d = closed ? (total * k) / count : (total * k) / Math.max(1, count - 1);
    while (s < segs - 1 && cum[s + 1]! < d) s++;
    const len = cum[s + 1]! - cum[s]!;
    const t = len > 0 ? (d - cum[s]!) / len : 0;
    const j = (s + 1) % n;
    out[k * 3] = pts[s * 3]! + (pts[j * 3]! - pts[s * 3]!) * t;
    out[k * 3 + 1] = pts[s * 3 + 1]! + (pts[j * 3 + 1]! - pts[s * 3 + 1]!) * t;
    out[k * 3 + 2] = z;
  }
  return out;
}
