// The main job (`npm start` = `pamstack demo`): the sim world, the default policy, reward-guided
// selection and the live web app in one process; an operator's teleop and e-stop reach the same loop.
import { fileURLToPath } from 'node:url';
import type { EvalResult } from '../core/episode.ts';
import { FieldError } from '../core/errors.ts';
import type { PointCloud } from '../core/pointcloud.ts';
import { PrimitiveRefusedError } from '../core/world.ts';
import type { Primitive } from '../core/primitive.ts';
import type { TaskName } from '../core/task.ts';
import { startServer, type PamServer } from '../server/index.ts';
import type { PreferenceStore } from '../store/preference-store.ts';
import type { TeleopResult } from '../server/teleop.ts';
import { createWorld, MujocoWorld } from '../../sim/index.ts';
import { loadDecider, type TimedDecision } from './decider.ts';
import { deciderSpecFor, describeSpec, readTaskDecider, type DeciderOverrides, type DeciderSpec } from './decider-spec.ts';
import { rollout, type EpisodeResult, type StepContext, type StepOverride } from './rollout.ts';

export interface DemoOptions {
  task: TaskName;
  /** A task folder, a policy checkpoint, `expert` or `random`; undefined: the task's committed folder (policies/<task>), else the expert. */
  policy?: string;
  /** Single keys of the decider spec replaced (flags). */
  overrides?: DeciderOverrides;
  /** Episodes to run; 0 runs until interrupted. */
  episodes: number;
  seed: number;
  headless: boolean;
  port: number;
  host: string;
  db: string;
  /** Pause between a decision (shown with its candidates) and its execution, ms; web mode only. */
  stepDelayMs: number;
  /**
   * Speed of the motion the live view shows during each primitive (sim seconds per wall second): while a
   * browser watches, the sim runs at this pace and its motion is published as it happens, so an e-stop
   * stops what the operator sees; 0 shows no motion. @default 1 (real time)
   */
  motionSpeed?: number;
  log: (line: string) => void;
  /** Resolves to stop the loop: aborts the primitive in progress and any e-stop wait (SIGINT, SIGTERM). */
  stop?: Promise<void>;
}

/** The committed decider of a task (policies/<task>/default.json), or null when none is committed. */
export function committedDefault(task: TaskName): DeciderSpec | null {
  return readTaskDecider(fileURLToPath(new URL(`../../policies/${task}/`, import.meta.url)));
}

interface PendingTeleop {
  primitive: Primitive;
  resolve: (r: TeleopResult) => void;
  reject: (e: unknown) => void;
}

/**
 * The loop's hooks that serve people too: publishes every decision to the live view, runs a queued
 * teleop primitive instead of deciding, and waits while the e-stop is latched.
 */
class LiveLoop {
  episode = -1;
  step = 0;
  teleop: PendingTeleop | null = null;
  current: PendingTeleop | null = null;
  estopped = false;
  /** Pause after publishing a decision, ms (0 when nobody watches). */
  pauseMs = 0;
  #estopWaiters: (() => void)[] = [];
  /** Aborts the primitive in progress (e-stop, stop); a fresh one per executed step. */
  #abort: AbortController | null = null;

  constructor(
    readonly source: string,
    readonly publish: (cloud: PointCloud, meta: Record<string, unknown>) => void,
    readonly stopped: () => boolean,
  ) {}

  setEstop(on: boolean): void {
    this.estopped = on;
    if (on) this.#abort?.abort();
    else for (const w of this.#estopWaiters.splice(0)) w();
  }

  /** Stops now: aborts the primitive in progress and ends an e-stop wait. */
  stopNow(): void {
    this.#abort?.abort();
    for (const w of this.#estopWaiters.splice(0)) w();
  }

  /** The abort signal of the step about to execute (already aborted when latched or stopping). */
  armAbort(): AbortSignal {
    this.#abort = new AbortController();
    if (this.estopped || this.stopped()) this.#abort.abort();
    return this.#abort.signal;
  }

  async beforeDecide(s: StepContext): Promise<StepOverride | null> {
    if (s.episode !== this.episode) {
      this.episode = s.episode;
      this.step = 0;
    }
    while (this.estopped && !this.stopped()) await new Promise<void>((r) => this.#estopWaiters.push(r));
    if (this.stopped()) return { stop: 'stopped by the user' };
    this.step++;
    if (!this.teleop) return null;
    this.current = this.teleop;
    this.teleop = null;
    this.publish(s.obs, { step: this.step, action: this.current.primitive, source: 'teleop', candidates: [], chosen: null });
    return { primitive: this.current.primitive, source: 'teleop' };
  }

  async onDecision(s: StepContext, d: TimedDecision): Promise<void> {
    const meta: Record<string, unknown> = { step: this.step, candidates: d.candidates, chosen: d.chosen, source: this.source };
    if (d.holdReason) meta.holdReason = d.holdReason;
    this.publish(s.obs, meta);
    // Hold the decision on screen (candidates coloured by score) before the arm moves.
    if (this.pauseMs > 0) await new Promise((r) => setTimeout(r, this.pauseMs));
  }
}

/**
 * Runs the demo loop; returns the aggregate over the episodes run (and the server URL when one ran).
 * Start-up is logged with timings so "time to first action" can be read off the log.
 */
export async function runDemo(o: DemoOptions): Promise<{ result: EvalResult; episodes: EpisodeResult[]; url?: string }> {
  const t0 = performance.now();
  const since = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  let stopRequested = false;
  let live: LiveLoop | null = null;
  o.stop?.then(() => {
    stopRequested = true;
    live?.stopNow();
  });

  const taskDir = fileURLToPath(new URL(`../../policies/${o.task}/`, import.meta.url));
  const def = o.policy ? null : committedDefault(o.task);
  if (!o.policy && !def) o.log(`no trained policy is committed for ${o.task} (policies/${o.task}); running the scripted expert`);
  if (def) o.log(`default decider of ${o.task}: ${def.method ?? def.select} (policies/${o.task}/default.json)`);
  const spec = deciderSpecFor(o.policy ?? (def ? taskDir : 'expert'), o.overrides, '--policy');
  const world = await createWorld(o.task);
  o.log(`world ${o.task} ready (${since()})`);
  const decider = await loadDecider(spec);
  o.log(`decider: ${decider.name} ${JSON.stringify(describeSpec(spec))} (${since()})`);

  let server: PamServer | null = null;
  // Motion during a primitive: while a browser watches, the sim runs at the motion's pace and its frames
  // go out as they happen. Every primitive runs with an abort signal the e-stop fires.
  const motionSpeed = o.motionSpeed ?? 1;
  const simWorld = world instanceof MujocoWorld ? world : null;
  const motionWorld = !o.headless && motionSpeed > 0 ? simWorld : null;
  // The goal goes with every frame so a viewer who joins late still sees what the task asks for.
  const goal = world.taskGoal?.();
  const loop = new LiveLoop(
    decider.name,
    (cloud, meta) => {
      if (!server) return;
      server.publishLive({
        cloud,
        task: o.task,
        primitive: world.primitive,
        episode: loop.episode,
        workspace: world.workspace,
        ...(goal ? { goal } : {}),
        metrics: world.metrics(),
        ...meta,
      });
    },
    () => stopRequested,
  );
  live = loop;
  try {
    if (!o.headless) {
      server = await listenOrExplain(o.port, o.host, () => startServer({
        port: o.port,
        host: o.host,
        dbPath: o.db,
        world,
        liveFromWorld: false,
        log: (l) => o.log(`server: ${l}`),
        onEstop: (on, by) => {
          o.log(`e-stop ${on ? 'LATCHED' : 'reset'} by ${by}`);
          loop.setEstop(on);
        },
        onTeleop: (primitive) =>
          new Promise<TeleopResult>((resolve, reject) => {
            const why = world.checkPrimitive(primitive);
            if (why) return reject(new PrimitiveRefusedError('workspace', why));
            loop.teleop = { primitive, resolve, reject };
          }),
      }));
      // A local admin session so a newcomer sees the live view at once; the token is rotated each
      // start, so an old link stops working. On a non-loopback host the link is a credential: say so.
      const token = await localAdminToken(server.store);
      const link = `${server.url}#/live&token=${token}`;
      loop.pauseMs = o.stepDelayMs;
      o.log(`web app: ${link}  (live view; Alt+1…4 switch to rank, compare, teleop) (${since()})`);
      if (!/^(127\.|localhost$|::1$)/.test(o.host)) o.log(`warning: --host ${o.host} is not loopback; the link above grants admin rights`);
    }

    const all: EpisodeResult[] = [];
    let firstAction = true;
    const { result, episodes } = await rollout(world, decider, {
      episodes: o.episodes === 0 ? Infinity : o.episodes,
      seed: o.seed,
      quiet: true,
      stop: () => stopRequested,
      hooks: {
        beforeDecide: (s) => loop.beforeDecide(s),
        onDecision: (s, d) => loop.onDecision(s, d),
        beforeExecute: () => {
          const signal = loop.armAbort();
          const watched = !!motionWorld && !!server?.liveWatched();
          if (watched) {
            const step = loop.step;
            motionWorld!.setMotionObserver((f) => server?.publishMotion({ stamp: f.t, step, points: f.points, tools: f.tools, holding: f.holding }));
          }
          return { signal, pace: watched ? motionSpeed : 0 };
        },
        onStep: async (s) => {
          if (firstAction && s.primitive) {
            o.log(`first action executed (${since()})`);
            firstAction = false;
          }
          motionWorld?.setMotionObserver(null);
          const aborted = s.aborted === true;
          const t = loop.current;
          loop.current = null;
          if (t) {
            if (!s.primitive) t.reject(new PrimitiveRefusedError('workspace', s.refused ?? 'refused'));
            else t.resolve({ duration: simWorld?.lastExecute?.duration ?? 0, wall: simWorld?.lastExecute?.wall ?? 0, metrics: s.metrics, ...(aborted ? { aborted } : {}) });
          }
          server?.publishLive({
            cloud: world.observe(),
            task: o.task,
            primitive: world.primitive,
            episode: loop.episode,
            step: s.step,
            workspace: world.workspace,
            ...(goal ? { goal } : {}),
            metrics: s.metrics,
            ...(s.primitive ? { action: s.primitive } : {}),
            ...(aborted ? { holdReason: 'aborted by the e-stop' } : {}),
            source: s.source === 'decider' ? decider.name : s.source,
          });
          o.log(
            `  episode ${s.episode} step ${s.step}: ${!s.primitive ? 'refused' : aborted ? 'ABORTED by the e-stop (the arm stopped where it was)' : 'executed'}${s.refused ? ` (refused: ${s.refused})` : ''}; ${fmtMetrics(s.metrics)}${s.success ? ' — success' : ''}`,
          );
        },
        onEpisode: (r) => {
          all.push(r);
          const rate = all.filter((x) => x.success).length / all.length;
          o.log(
            `episode ${r.episode} (seed ${r.seed}): ${r.success ? 'success' : 'failure'} in ${r.steps} steps, ${fmtMetrics(r.finalMetrics)}; success so far ${(rate * 100).toFixed(0)} % of ${all.length}`,
          );
        },
      },
    });
    return server ? { result, episodes, url: server.url } : { result, episodes };
  } finally {
    loop.teleop?.reject(new Error('the demo stopped'));
    await server?.close();
    world.dispose();
    decider.dispose();
  }
}

/** Rotates (or creates) the token of the `local-admin` user of the demo's store. */
async function localAdminToken(store: PreferenceStore): Promise<string> {
  const name = 'local-admin';
  return (await store.listUsers()).some((u) => u.name === name) ? store.rotateToken(name) : (await store.addUser(name, 'admin')).token;
}

/** Turns "address in use" into an error that says which flag to change. */
async function listenOrExplain<T>(port: number, host: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new FieldError('port', `a free port on ${host} (or 0 to pick one)`, port);
    throw e;
  }
}

function fmtMetrics(m: Record<string, number | undefined>): string {
  return Object.entries(m)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${(v as number).toFixed(3)}`)
    .join(', ');
}
