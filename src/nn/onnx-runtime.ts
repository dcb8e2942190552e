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
