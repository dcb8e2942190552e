// Rollouts spread over worker threads, one MuJoCo world and one decider each. Every episode's randomness
// derives from its own seed (world reset, decision seeds, the collector's choices), so the results equal a
// serial run's: evaluation episodes and collected label states alike.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { EvalResult } from '../core/episode.ts';
import { startProgress } from '../core/progress.ts';
import type { TaskName } from '../core/task.ts';
import type { CandidateState } from '../preference/dataset.ts';
import type { CollectOptions } from './collect-states.ts';
import type { DeciderSpec } from './decider-spec.ts';
import { aggregate, type EpisodeResult } from './rollout.ts';

/** Worker threads for `units` independent units of work (episodes): the machine's cores, at most one per unit. */
export function defaultWorkers(units: number): number {
  return Math.max(1, Math.min(availableParallelism(), units));
}

export interface ParallelRolloutOptions {
  episodes: number;
  /** Episode i runs on seed + i. */
  seed: number;
  workers: number;
  quiet?: boolean;
  /** Steps per episode at most. @default the world's step limit */
  maxSteps?: number;
  /** Run the candidate the candidate oracle scores best instead of the decider's choice (oracleChoice). */
  oracle?: boolean;
  /** Called in episode order (an episode that ends early waits for the ones before it). */
  onEpisode?: (r: EpisodeResult) => void | Promise<void>;
}

/** What a worker sends back. */
export type WorkerMessage =
  | { kind: 'episode'; result: EpisodeResult }
  | { kind: 'states'; episode: number; states: CandidateState[] }
  | { kind: 'error'; message: string }
  | { kind: 'done' };

/** What the collector of a worker records (collectCandidateStates' options that travel to a thread). */
export type CollectJob = Pick<CollectOptions, 'execute' | 'demos' | 'oracle' | 'maxSteps'>;

/** What a worker is given. */
export interface WorkerJob {
  task: TaskName;
  spec: DeciderSpec;
  seed: number;
  /** This worker runs episodes first, first + stride, … below `episodes` (Infinity: until it is terminated). */
  first: number;
  stride: number;
  episodes: number;
  maxSteps?: number;
  /** Evaluate with the candidate oracle choosing (oracleChoice). */
  oracle?: boolean;
  /** Record each episode's candidate states (posted as `states`) instead of evaluating it. */
  collect?: CollectJob;
}

/**
 * Runs the episodes of `spec` on `task` in `workers` threads (episode i on worker i mod workers) and
 * aggregates them as `rollout` does.
 */
export async function rolloutParallel(task: TaskName, spec: DeciderSpec, o: ParallelRolloutOptions): Promise<{ result: EvalResult; episodes: EpisodeResult[] }> {
  const n = Math.max(1, Math.min(o.workers, o.episodes));
  const progress = startProgress(`${task} ${o.oracle ? 'oracle' : (spec.method ?? spec.select)} ×${n} workers`, o.episodes, { quiet: o.quiet ?? false });
  const results: (EpisodeResult | undefined)[] = new Array(o.episodes);
  let next = 0;
  let chain = Promise.resolve();
  try {
    await runWorkers(
      Array.from({ length: n }, (_, w) => ({ task, spec, seed: o.seed, first: w, stride: n, episodes: o.episodes, ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}), ...(o.oracle ? { oracle: true } : {}) })),
      (m) => {
        if (m.kind !== 'episode') return false;
        results[m.result.episode] = m.result;
        // hand results on in episode order
        while (next < o.episodes && results[next]) {
          const r = results[next++]!;
          progress.tick(1, { success: results.slice(0, next).filter((x) => x?.success).length / next });
          if (o.onEpisode) chain = chain.then(() => o.onEpisode!(r));
        }
        return false;
      },
    );
    await chain;
  } finally {
    progress.stop();
  }
  const episodes = results as EpisodeResult[];
  return { result: aggregate(task, o.seed, episodes), episodes };
}

export interface ParallelCollectOptions extends CollectJob {
  states: number;
  /** Episode i resets with seed + i. */
  seed: number;
  workers: number;
  /** Called in the serial run's order. */
  onState?: (s: CandidateState, index: number) => void;
}

/**
 * collectCandidateStates over `workers` threads: each runs whole episodes (episode i on worker
 * i mod workers) and the states are taken in episode order until `states` are in, so the result equals
 * the serial collection's for the same seed. The workers then stop; episodes they ran past that are dropped.
 */
export async function collectParallel(task: TaskName, spec: DeciderSpec, o: ParallelCollectOptions): Promise<CandidateState[]> {
  const n = Math.max(1, o.workers);
  const { states: _n, seed: _s, workers: _w, onState: _o, ...collect } = o;
  const byEpisode = new Map<number, CandidateState[]>();
  const out: CandidateState[] = [];
  let next = 0;
  await runWorkers(
    Array.from({ length: n }, (_, w) => ({ task, spec, seed: o.seed, first: w, stride: n, episodes: Infinity, collect })),
    (m) => {
      if (m.kind !== 'states') return false;
      byEpisode.set(m.episode, m.states);
      while (byEpisode.has(next) && out.length < o.states) {
        for (const s of byEpisode.get(next)!) {
          if (out.length >= o.states) break;
          out.push(s);
          o.onState?.(s, out.length - 1);
        }
        byEpisode.delete(next++);
      }
      return out.length >= o.states;
    },
  );
  return out;
}

/**
 * Starts one thread per job and feeds their messages to `onMessage` until every worker is done or
 * `onMessage` answers true (enough); then terminates them all. A worker's error rejects with its message.
 */
async function runWorkers(jobs: WorkerJob[], onMessage: (m: WorkerMessage) => boolean): Promise<void> {
  const workers: Worker[] = [];
  let enough: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (enough = resolve));
  try {
    await Promise.race([
      stopped,
      Promise.all(
        jobs.map(
          (job) =>
            new Promise<void>((resolve, reject) => {
              const w = startWorker(job);
              workers.push(w);
              w.on('message', (m: WorkerMessage) => {
                if (m.kind === 'error') reject(new Error(m.message));
                else if (m.kind === 'done') resolve();
                else if (onMessage(m)) enough();
              });
              w.on('error', reject);
              w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`rollout worker exited with code ${code}`))));
            }),
        ),
      ),
    ]);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** A worker thread running ./rollout-worker.ts through tsx (the sources are TypeScript). */
function startWorker(job: WorkerJob): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./rollout-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); }).catch((e) => { require('node:worker_threads').parentPort.postMessage({ kind: 'error', message: String(e && e.stack || e) }); });`;
  return new Worker(boot, { eval: true, workerData: job });
}
