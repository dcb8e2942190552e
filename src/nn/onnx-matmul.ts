// A float32 matrix product on ONNX Runtime's CPU kernels (MLAS: AVX2/FMA, threads), synchronous, with
// float64 arrays in and out: the shape of the GW solvers' MatmulKernel (src/transfer/dense.ts), which
// this folder may not import, so the type is restated structurally.
import os from 'node:os';
import { OnnxGraphBuilder } from './onnx-writer.ts';
import { createSyncOrtSession, requireOrt, type SyncOrtSession } from './onnx-runtime.ts';

export interface OrtMatmul {
  readonly name: string;
  /** `out = A · B` with A `[n, k]`, B `[k, m]` rounded to float32, summed in float32. */
  matmul(A: Float64Array, B: Float64Array, out: Float64Array, n: number, k: number, m: number): void;
  dispose(): void;
}

/** The product on ONNX Runtime with `threads` intra-op threads (default: the machine's cores); null where it does not load. */
export async function loadOrtMatmul(threads = os.availableParallelism()): Promise<OrtMatmul | null> {
  const g = new OnnxGraphBuilder('matmul');
  g.output(g.op('MatMul', [g.input('A', ['n', 'k']), g.input('B', ['k', 'm'])]), 'Y', ['n', 'm']);
  const session: SyncOrtSession | null = await createSyncOrtSession(g.toBytes(), { threads }).catch(() => null);
  if (!session) return null;
  const ort = await requireOrt();
  // f32 copies of the operands, reused while they are large enough
  let a = new Float32Array(0), b = new Float32Array(0);
  return {
    name: `onnxruntime-f32×${threads}`,
    matmul(A, B, out, n, k, m) {
      if (n === 0 || m === 0) return;
      if (k === 0) {
        out.fill(0, 0, n * m);
        return;
      }
      if (a.length < n * k) a = new Float32Array(n * k);
      if (b.length < k * m) b = new Float32Array(k * m);
      const av = a.subarray(0, n * k), bv = b.subarray(0, k * m);
      av.set(A.subarray(0, n * k));
      bv.set(B.subarray(0, k * m));
      const y = session.run({ A: new ort.Tensor('float32', av, [n, k]), B: new ort.Tensor('float32', bv, [k, m]) }).Y!;
      out.set(y.data as Float32Array);
    },
    dispose: () => session.dispose(),
  };
}
