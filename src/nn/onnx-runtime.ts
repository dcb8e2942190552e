// ONNX Runtime (onnxruntime-node) sessions: loaded lazily, CPU execution provider, CUDA where installed.
import type * as Ort from 'onnxruntime-node';

export type OrtModule = typeof Ort;
export type OrtSession = Ort.InferenceSession;

let ort: Promise<OrtModule | null> | undefined;

/** onnxruntime-node, or null where its native binding does not load on this machine. */
export function loadOrt(): Promise<OrtModule | null> {
  ort ??= import('onnxruntime-node').then(
    (m) => ((m as unknown as { default?: OrtModule }).default ?? m) as OrtModule,
    () => null,
  );
  return ort;
}

/** onnxruntime-node, or an error saying why the ONNX backend cannot run here. */
export async function requireOrt(): Promise<OrtModule> {
  const m = await loadOrt();
  if (!m) throw new Error('backend onnx: onnxruntime-node does not load on this machine (use backend tfjs)');
  return m;
}

export interface OrtSessionOptions {
  /** Threads of one operator. @default ORT's default (the machine's cores) */
  threads?: number;
  /** Try the CUDA execution provider first (falls back to CPU where it is not installed). @default false */
  cuda?: boolean;
}

/** A session on serialised ONNX bytes (CPU provider; CUDA first when asked and installed). */
export async function createOrtSession(model: Uint8Array, opts: OrtSessionOptions = {}): Promise<OrtSession> {
  const m = await requireOrt();
  const base: Ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    ...(opts.threads ? { intraOpNumThreads: opts.threads, interOpNumThreads: 1 } : {}),
  };
  if (opts.cuda) {
    try {
      return await m.InferenceSession.create(model, { ...base, executionProviders: ['cuda', 'cpu'] });
    } catch {
      // no CUDA provider binaries (the npm install skips them): the CPU provider below
    }
  }
  return m.InferenceSession.create(model, { ...base, executionProviders: ['cpu'] });
}

/** A float32 tensor for a session input. */
export async function floatTensor(data: Float32Array, dims: readonly number[]): Promise<Ort.Tensor> {
  const m = await requireOrt();
  return new m.Tensor('float32', data, dims);
}

/** A session whose `run` returns at once (see {@link createSyncOrtSession}). */
export interface SyncOrtSession {
  run(feeds: Record<string, Ort.Tensor>): Record<string, Ort.Tensor>;
  dispose(): void;
}

interface NativeSession {
  loadModel(buffer: ArrayBuffer, byteOffset: number, byteLength: number, options: Ort.InferenceSession.SessionOptions): Promise<void>;
  readonly outputMetadata: { name: string }[];
  run(feeds: Record<string, Ort.Tensor>, fetches: Record<string, null>, options: Record<string, never>): Record<string, Ort.Tensor>;
  dispose(): void;
}

/**
 * A CPU session whose `run` is synchronous, for inner loops that are synchronous themselves (the GW
 * solver calls a product twice per iteration). onnxruntime-node's public `run` wraps the native
 * session's synchronous `run` in a `setImmediate` promise (dist/backend.js, `OnnxruntimeSessionHandler.run`);
 * this calls the native session (dist/binding.js, typed in dist/binding.d.ts) directly. Null where the
 * binding does not load. Intra-op threads do not spin between runs, so the caller's own work between
 * two runs keeps its core.
 */
export async function createSyncOrtSession(model: Uint8Array, opts: { threads: number }): Promise<SyncOrtSession | null> {
  if (!(await loadOrt())) return null;
  let native: { binding: { InferenceSession: new () => NativeSession }; initOrt: () => void };
  try {
    const { createRequire } = await import('node:module');
    native = createRequire(import.meta.url)('onnxruntime-node/dist/binding.js');
  } catch {
    return null;
  }
  native.initOrt();
  const s = new native.binding.InferenceSession();
  await s.loadModel(model.buffer as ArrayBuffer, model.byteOffset, model.byteLength, {
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const fetches = Object.fromEntries(s.outputMetadata.map((m) => [m.name, null] as const));
  return { run: (feeds) => s.run(feeds, fetches, {}), dispose: () => s.dispose() };
}
