// Teleoperation: checks and runs an operator's primitive on the World, one at a time, behind a latching e-stop.
import type { Metrics } from '../core/episode.ts';
import { workspaceViolation } from '../core/geometry.ts';
import { PRIMITIVE_POINT_NAMES, type Primitive } from '../core/primitive.ts';
import type { Role, TeleopState } from '../core/protocol.ts';
import { PrimitiveRefusedError, type World } from '../core/world.ts';
import { StoreError } from '../store/store-error.ts';

/** The result of one executed primitive: sim (or robot) seconds, wall seconds, task metrics after it. */
export interface TeleopResult {
  duration: number;
  wall: number;
  metrics: Metrics;
  /** The e-stop stopped the primitive partway (the arm stayed where it was). */
  aborted?: boolean;
}

/**
 * Runs a primitive for the operator instead of the server calling `world.execute` itself, e.g. the
 * main job queues it into its loop, or a ROS bridge sends it to the robot.
 * Throw PrimitiveRefusedError to refuse it (the operator sees the message).
 */
export type TeleopHandler = (p: Primitive, ctx: { user: string; signal: AbortSignal }) => Promise<TeleopResult>;

/**
 * Who may reset a latched e-stop: the operator who latched it or an admin (`latcher-or-admin`), or
 * anyone allowed to send `estop` (`any-operator`).
 */
export type EstopResetPolicy = 'latcher-or-admin' | 'any-operator';

export interface TeleopOptions {
  /** @default 'latcher-or-admin' */
  estopReset?: EstopResetPolicy;
  world?: World;
  onTeleop?: TeleopHandler;
  /** Called when the e-stop is engaged (true) or reset (false), so the embedding can stop its loop. */
  onEstop?: (engaged: boolean, by: string, role: Role | undefined) => void;
  /** Called after each executed primitive (the server republishes the live cloud). */
  afterExecute?: (p: Primitive, r: TeleopResult) => void;
  /** Called whenever the state changes (busy, e-stop), to broadcast it. */
  onState?: (s: TeleopState) => void;
}

export class TeleopController {
  #o: TeleopOptions;
  #estopBy: string | null = null;
  #busy = false;
  /** Aborts the running primitive when the e-stop latches. */
  #running: AbortController | null = null;

  constructor(o: TeleopOptions) {
    this.#o = o;
  }

  get available(): boolean {
    return !!(this.#o.world || this.#o.onTeleop);
  }

  get estopped(): boolean {
    return this.#estopBy !== null;
  }

  state(): TeleopState {
    const w = this.#o.world;
    return {
      op: 'teleop.state',
      id: null,
      available: this.available,
      estop: this.estopped,
      estopBy: this.#estopBy,
      busy: this.#busy,
      task: w?.task ?? null,
      primitive: w?.primitive ?? null,
      workspace: w?.workspace ?? null,
      goal: w?.taskGoal?.() ?? null,
    };
  }

  /** Why `p` would be refused now, or null when it may run. No side effects. */
  check(p: Primitive): string | null {
    const w = this.#o.world;
    if (w) {
      if (p.kind !== w.primitive) return `primitive.kind: expected ${w.primitive} for ${w.task}, received ${p.kind}`;
      const [na, nb] = PRIMITIVE_POINT_NAMES[p.kind];
      const v = workspaceViolation(p.a, w.workspace, na) ?? workspaceViolation(p.b, w.workspace, nb);
      if (v) return v;
      return w.checkPrimitive(p);
    }
    return null;
  }

  /**
   * Runs `p` for `user`. Refusals throw StoreError: 'estop' while latched, 'busy' while another
   * primitive runs, 'refused' (field `primitive`) when the world says no, 'unavailable' without a world.
   */
  async execute(p: Primitive, user: string): Promise<TeleopResult> {
    if (!this.available) throw new StoreError('unavailable', null, 'no world or robot is attached to this server (start it with --task)');
    if (this.#estopBy !== null) throw new StoreError('estop', null, `e-stop is latched (by ${this.#estopBy}); reset it first`);
    if (this.#busy) throw new StoreError('busy', null, 'another primitive is running');
    const why = this.check(p);
    if (why) throw new StoreError('refused', 'primitive', why);
    this.#busy = true;
    const ac = new AbortController();
    this.#running = ac;
    this.#emit();
    try {
      let r: TeleopResult;
      if (this.#o.onTeleop) r = await this.#o.onTeleop(p, { user, signal: ac.signal });
      else {
        const w = this.#o.world!;
        const t0 = performance.now();
        const ex = await w.execute(p, { signal: ac.signal });
        r = { duration: ex.duration, wall: ex.wall ?? (performance.now() - t0) / 1000, metrics: w.metrics() };
        if (ex.aborted) r.aborted = true;
      }
      this.#o.afterExecute?.(p, r);
      return r;
    } catch (e) {
      if (e instanceof PrimitiveRefusedError) throw new StoreError('refused', 'primitive', `${e.bound}: ${e.message}`);
      throw e;
    } finally {
      this.#running = null;
      this.#busy = false;
      this.#emit();
    }
  }

  /**
   * Latches (engaged) or resets the e-stop. Engaging is always allowed; the latch holds until a reset,
   * which the reset policy may refuse (StoreError 'forbidden'). `role` undefined: the embedding itself
   * (a key press in the main job), always allowed.
   */
  setEstop(engaged: boolean, by: string, role?: Role): void {
    const was = this.#estopBy;
    if (!engaged && was !== null && role !== undefined && role !== 'admin' && was !== by && (this.#o.estopReset ?? 'latcher-or-admin') === 'latcher-or-admin')
      throw new StoreError('forbidden', 'engaged', `the e-stop was latched by ${was}; only ${was} or an admin may reset it`);
    if (engaged && was === null) this.#estopBy = by;
    if (!engaged) this.#estopBy = null;
    // Latching stops the primitive in progress at its next control tick.
    if (engaged) this.#running?.abort(new Error(`e-stop latched by ${by}`));
    if ((was === null) !== (this.#estopBy === null)) {
      this.#o.onEstop?.(engaged, by, role);
      this.#emit();
    }
  }

  #emit(): void {
    this.#o.onState?.(this.state());
  }
}
