// tfjs backend choice at start-up: tensorflow (tfjs-node-gpu, tfjs-node) → wasm → cpu, overridable and logged.
import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { z } from 'zod';
import { FieldError } from '../core/errors.ts';

/** What a user may ask for: `auto` tries the order of BACKEND_ORDER; the others force one. */
export const BACKEND_CHOICES = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export const BackendChoiceSchema = z.enum(BACKEND_CHOICES);

/** The order `auto` tries. */
export const BACKEND_ORDER: readonly Exclude<BackendChoice, 'auto'>[] = ['node-gpu', 'node', 'wasm', 'cpu'];

/** The backend in use after `initBackend`. */
export interface BackendInfo {
  /** What was chosen (`node-gpu` and `node` both run tfjs's `tensorflow` backend). */
  choice: Exclude<BackendChoice, 'auto'>;
  /** tfjs's own backend name: `tensorflow`, `wasm` or `cpu`. */
  tfBackend: string;
  /** Compute threads (wasm: its thread pool; tensorflow: intra-op threads, as libtensorflow defaults them). */
  threads: number;
  /** Why earlier choices in the order were skipped. */
  skipped: string[];
}

export interface InitBackendOptions {
  /** @default process.env.PAMSTACK_BACKEND ?? 'auto' */
  backend?: BackendChoice | string;
  /** Where the one-line choice goes; null silences it. @default a line on stderr */
  log?: ((line: string) => void) | null;
}

let current: BackendInfo | null = null;

/** The backend chosen by `initBackend`, or null before it ran. */
export function currentBackend(): BackendInfo | null {
  return current;
}

/**
 * Chooses and readies the tfjs backend. The tfjs-node packages are optional dependencies, so they
 * are imported dynamically and skipped (with the reason kept in `skipped`) when absent or broken.
 * Calling again with the same effective choice returns the cached answer.
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  const raw = opts.backend ?? process.env.PAMSTACK_BACKEND ?? 'auto';
  const parsed = BackendChoiceSchema.safeParse(raw);
  if (!parsed.success) throw new FieldError('backend', `one of ${BACKEND_CHOICES.join(', ')}`, raw);
  const want = parsed.data;
  if (current && (want === 'auto' || want === current.choice)) return current;
  const log = opts.log === undefined ? (l: string) => process.stderr.write(`${l}\n`) : opts.log;
  const order = want === 'auto' ? BACKEND_ORDER : [want];
  const skipped: string[] = [];
  for (const choice of order) {
    try {
      const info = await tryBackend(choice, skipped);
      current = info;
      log?.(
        `pamstack: tfjs backend ${info.choice} (${info.tfBackend}, ${info.threads} thread${info.threads === 1 ? '' : 's'})` +
          (skipped.length ? `; skipped ${skipped.join('; ')}` : ''),
      );
      return info;
    } catch (e) {
      const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
      if (want !== 'auto') throw new Error(`backend ${choice} is not usable here: ${why}`);
      skipped.push(`${choice}: ${why}`);
    }
  }
  throw new Error(`no tfjs backend could start: ${skipped.join('; ')}`);
}

async function tryBackend(choice: Exclude<BackendChoice, 'auto'>, skipped: string[]): Promise<BackendInfo> {
  switch (choice) {
    case 'node-gpu':
    case 'node': {
      const pkg = choice === 'node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      try {
        await import(/* @vite-ignore */ pkg);
      } catch (e) {
        const code = (e as { code?: string }).code;
        throw new Error(code === 'ERR_MODULE_NOT_FOUND' ? `${pkg} is not installed` : `${pkg} failed to load (${(e as Error).message})`);
      }
      if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} did not register the tensorflow backend`);
      await tf.ready();
      if (choice === 'node-gpu' && !hasGpuDevice()) throw new Error(`${pkg} loaded but found no GPU (needs CUDA 11.2 + cuDNN 8.1)`);
      return { choice, tfBackend: tf.getBackend(), threads: navigatorThreads(), skipped };
    }
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not initialise');
      await tf.ready();
      installWasmZeroCopyIdentity();
      return { choice, tfBackend: 'wasm', threads: wasm.getThreadsCount(), skipped };
    }
    case 'cpu': {
      if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
      await tf.ready();
      return { choice, tfBackend: 'cpu', threads: 1, skipped };
    }
  }
}

function hasGpuDevice(): boolean {
  // tfjs-node-gpu registers the same `tensorflow` backend; a CUDA mismatch leaves it CPU-only silently.
  const b = tf.backend() as unknown as { binding?: { isUsingGpuDevice?: () => boolean } };
  return b.binding?.isUsingGpuDevice?.() ?? true;
}

function navigatorThreads(): number {
  // libtensorflow's intra-op pool defaults to the number of logical cores.
  const n = Number(process.env.TF_NUM_INTRAOP_THREADS);
  if (Number.isInteger(n) && n > 0) return n;
  return os.availableParallelism();
}

/**
 * tfjs clones every tensor it saves for the backward pass (and every `tf.clone`) through the Identity
 * kernel, which on wasm copies the buffer; on the cpu backend it shares the data. Tensors are immutable
 * (variables swap their data id on assign), so sharing is safe: this registers the sharing version for
 * wasm, which removes one full copy of every saved activation from each training step.
 */
function installWasmZeroCopyIdentity(): void {
  const existing = tf.getKernel('Identity', 'wasm');
  if (existing && (existing.kernelFunc as { zeroCopy?: boolean }).zeroCopy) return;
  const kernelFunc = ((args: { inputs: { x: tf.TensorInfo }; backend: { incRef(d: tf.DataId): void } }) => {
    const { x } = args.inputs;
    if (x.dtype === 'string') throw new Error('zero-copy Identity: string tensors are not supported on wasm');
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }) as unknown as tf.KernelFunc & { zeroCopy?: boolean };
  (kernelFunc as { zeroCopy?: boolean }).zeroCopy = true;
  if (existing) tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc });
}
