// Rollouts spread over worker threads, one MuJoCo world and one decider each. Every episode's randomness
// derives from its own seed (world reset, decision seeds), so the results equal a serial run's.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { EvalResult } from '../core/episode.ts';
import { startProgress } from '../core/progress.ts';
import type { TaskName } from '../core/task.ts';
import type { DeciderSpec } from './decider-spec.ts';
import { aggregate, type EpisodeResult } from './rollout.ts';

/** Worker threads for `episodes` episodes: the machine's cores, at most one per episode. */
export function defaultWorkers(episodes: number): number {
  return Math.max(1, Math.min(availableParallelism(), episodes));
}

export interface ParallelRolloutOptions {
  episodes: number;
  /** Episode i runs on seed + i. */
  seed: number;
  workers: number;
  quiet?: boolean;
  /** Steps per episode at most. @default the world's step limit */
  maxSteps?: number;
  /** Called in episode order (an episode that ends early waits for the ones before it). */
  onEpisode?: (r: EpisodeResult) => void | Promise<void>;
}

/** What a worker sends back. */
export type WorkerMessage = { kind: 'episode'; result: EpisodeResult } | { kind: 'error'; message: string } | { kind: 'done' };

/** What a worker is given. */
export interface WorkerJob {
  task: TaskName;
  spec: DeciderSpec;
  /** Episode indices this worker runs (episode i on seed + i). */
  episodes: number[];
  seed: number;
  maxSteps?: number;
}

/**
 * Runs the episodes of `spec` on `task` in `workers` threads (episode i on worker i mod workers) and
 * aggregates them as `rollout` does.
 */
export async function rolloutParallel(task: TaskName, spec: DeciderSpec, o: ParallelRolloutOptions): Promise<{ result: EvalResult; episodes: EpisodeResult[] }> {
  const n = Math.max(1, Math.min(o.workers, o.episodes));
  const jobs: WorkerJob[] = Array.from({ length: n }, (_, w) => ({
    task,
    spec,
    seed: o.seed,
    ...(o.maxSteps !== undefined ? { maxSteps: o.maxSteps } : {}),
    episodes: Array.from({ length: o.episodes }, (_, i) => i).filter((i) => i % n === w),
  }));
  const progress = startProgress(`${task} ${spec.method ?? spec.select} ×${n} workers`, o.episodes, { quiet: o.quiet ?? false });
  const results: (EpisodeResult | undefined)[] = new Array(o.episodes);
  let next = 0;
  let chain = Promise.resolve();
  const deliver = () => {
    // hand results on in episode order
    while (next < o.episodes && results[next]) {
      const r = results[next++]!;
      progress.tick(1, { success: results.slice(0, next).filter((x) => x?.success).length / next });
      if (o.onEpisode) chain = chain.then(() => o.onEpisode!(r));
    }
  };
  const workers: Worker[] = [];
  try {
    await Promise.all(
      jobs.map(
        (job) =>
          new Promise<void>((resolve, reject) => {
            const w = startWorker(job);
            workers.push(w);
            w.on('message', (m: WorkerMessage) => {
              if (m.kind === 'episode') {
                results[m.result.episode] = m.result;
                deliver();
              } else if (m.kind === 'error') reject(new Error(m.message));
              else resolve();
            });
            w.on('error', reject);
            w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`rollout worker exited with code ${code}`))));
          }),
      ),
    );
    await chain;
  } finally {
    progress.stop();
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const episodes = results as EpisodeResult[];
  return { result: aggregate(task, o.seed, episodes), episodes };
}

/** A worker thread running ./rollout-worker.ts through tsx (the sources are TypeScript). */
function startWorker(job: WorkerJob): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./rollout-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); }).catch((e) => { require('node:worker_threads').parentPort.postMessage({ kind: 'error', message: String(e && e.stack || e) }); });`;
  return new Worker(boot, { eval: true, workerData: job });
}
