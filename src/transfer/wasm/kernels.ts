// The WebAssembly SIMD kernels (kernels.wat) behind the MatmulKernel and Sinkhorn-sweep seams.
import { readFileSync } from 'node:fs';
import { type MatmulKernel, jsMatmulKernel } from '../dense.ts';
import { assembleWat } from './wat.ts';

interface KernelExports {
  memory: WebAssembly.Memory;
  matmulPanels(a: number, lda: number, bp: number, c: number, ldc: number, rows: number, kb: number, panels: number): void;
  matmulPanelsF32(a: number, lda: number, b: number, ldb: number, c: number, ldc: number, rows: number, kb: number, panels: number): void;
  sinkhornRows(K: number, v: number, a: number, u: number, col: number, n: number, m: number, relax: number): number;
  expKernel(alpha: number, beta: number, M: number, K: number, col: number, n: number, m: number, reg: number): void;
}

let instance: KernelExports | null | undefined;

/** The assembled module, or null where this runtime lacks WebAssembly SIMD. */
export function wasmKernels(): KernelExports | null {
  if (instance !== undefined) return instance;
  const bytes = assembleWat(readFileSync(new URL('./kernels.wat', import.meta.url), 'utf8'));
  instance = typeof WebAssembly === 'object' && WebAssembly.validate(bytes)
    ? (new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as KernelExports)
    : null;
  return instance;
}

/**
 * Views onto the module's memory (Float64Array, or Float32Array with `f32`), laid out back to back
 * from byte 0 (16-byte aligned). Views die when the memory grows, so every call asks for all of its
 * arrays at once.
 */
export function wasmViews(k: KernelExports, lengths: readonly number[]): { views: Float64Array[]; ptrs: number[] };
export function wasmViews(k: KernelExports, lengths: readonly number[], f32: true): { views: Float32Array[]; ptrs: number[] };
export function wasmViews(k: KernelExports, lengths: readonly number[], f32 = false): { views: (Float64Array | Float32Array)[]; ptrs: number[] } {
  const bytes = f32 ? 4 : 8;
  const ptrs: number[] = [];
  let end = 0;
  for (const len of lengths) {
    ptrs.push(end);
    end += Math.ceil((len * bytes) / 16) * 16;
  }
  const have = k.memory.buffer.byteLength;
  if (end > have) k.memory.grow(Math.ceil((end - have) / 65536));
  const buf = k.memory.buffer;
  return { views: lengths.map((len, i) => (f32 ? new Float32Array(buf, ptrs[i], len) : new Float64Array(buf, ptrs[i], len))), ptrs };
}

/** Depth of one k-block: the packed [K_BLOCK, 4] panel (8 KiB) stays in L1. */
const K_BLOCK = 256;
/** Rows of A per call (a multiple of 4): a [128, 256] block of A is 256 KiB. */
const ROW_BLOCK = 128;

/** `out = A · B` with the f64x2 4×4-tile kernel; A's rows are padded to a multiple of 4 and B packed. */
export function wasmMatmul(A: Float64Array, B: Float64Array, out: Float64Array, n: number, k: number, m: number): void {
  panelMatmul(A, B, out, n, k, m, false);
}

/**
 * `out = A · B` rounded through float32: A and B are rounded to f32 on the way in and the f32x4 4×8-tile
 * kernel sums in f32 (relative error ~1e-7·√k of Σ|a||b|), about twice the f64 kernel's speed.
 */
export function wasmMatmulF32(A: Float64Array, B: Float64Array, out: Float64Array, n: number, k: number, m: number): void {
  panelMatmul(A, B, out, n, k, m, true);
}

function panelMatmul(A: Float64Array, B: Float64Array, out: Float64Array, n: number, k: number, m: number, f32: boolean): void {
  const w = wasmKernels();
  if (!w) throw new Error('wasmMatmul: this runtime has no WebAssembly SIMD');
  if (n === 0 || m === 0) return;
  if (k === 0) {
    out.fill(0, 0, n * m);
    return;
  }
  // a panel is 32 bytes wide: 4 f64 or 8 f32 columns
  const width = f32 ? 8 : 4;
  const n4 = (n + 3) & ~3, mw = Math.ceil(m / width) * width, panels = mw / width;
  if (f32) {
    // B in place, f32, rows padded with zeros to an odd number of 64-byte lines
    let ldb = Math.ceil(mw / 16) * 16;
    if ((ldb / 16) % 2 === 0) ldb += 16;
    const { views: [a, b, c], ptrs: [aPtr, bPtr, cPtr] } = wasmViews(w, [n4 * k, k * ldb, n4 * mw], true);
    a!.set(A.subarray(0, n * k));
    a!.fill(0, n * k);
    b!.fill(0);
    for (let p = 0; p < k; p++) b!.set(B.subarray(p * m, p * m + m), p * ldb);
    c!.fill(0);
    for (let k0 = 0; k0 < k; k0 += K_BLOCK)
      for (let i0 = 0; i0 < n4; i0 += ROW_BLOCK)
        w.matmulPanelsF32(aPtr! + (i0 * k + k0) * 4, k * 4, bPtr! + k0 * ldb * 4, ldb * 4, cPtr! + i0 * mw * 4, mw * 4, Math.min(ROW_BLOCK, n4 - i0), Math.min(K_BLOCK, k - k0), panels);
    copyOut(c!, out, n, m, mw);
    return;
  }
  const kbMax = Math.min(K_BLOCK, k);
  const { views: [a, bp, c], ptrs: [aPtr, bPtr, cPtr] } = wasmViews(w, [n4 * k, kbMax * mw, n4 * mw]);
  a!.set(A.subarray(0, n * k));
  a!.fill(0, n * k);
  c!.fill(0);
  for (let k0 = 0; k0 < k; k0 += K_BLOCK) {
    const kb = Math.min(K_BLOCK, k - k0);
    // panel q holds B[k0:k0+kb, 4q:4q+4] as [kb, 4], zero beyond column m
    for (let p = 0; p < kb; p++) {
      const src = (k0 + p) * m;
      for (let q = 0; q < panels; q++) {
        const dst = (q * kb + p) * 4, j0 = q * 4;
        if (j0 + 4 <= m) {
          bp![dst] = B[src + j0]!;
          bp![dst + 1] = B[src + j0 + 1]!;
          bp![dst + 2] = B[src + j0 + 2]!;
          bp![dst + 3] = B[src + j0 + 3]!;
        } else for (let t = 0; t < 4; t++) bp![dst + t] = j0 + t < m ? B[src + j0 + t]! : 0;
      }
    }
    // row blocks of ROW_BLOCK keep A's [rows, kb] block in L2 while the panels stream past it
    for (let i0 = 0; i0 < n4; i0 += ROW_BLOCK)
      w.matmulPanels(aPtr! + (i0 * k + k0) * 8, k * 8, bPtr!, cPtr! + i0 * mw * 8, mw * 8, Math.min(ROW_BLOCK, n4 - i0), kb, panels);
  }
  copyOut(c!, out, n, m, mw);
}

/** out `[n, m]` = the first m columns of c `[n, mw]`. */
function copyOut(c: Float64Array | Float32Array, out: Float64Array, n: number, m: number, mw: number): void {
  if (mw === m) out.set(c.subarray(0, n * m));
  else for (let i = 0; i < n; i++) out.set(c.subarray(i * mw, i * mw + m), i * m);
}

/** The WebAssembly SIMD kernel. */
export const wasmMatmulKernel: MatmulKernel = { name: 'wasm-simd', matmul: wasmMatmul };

/** The f32 WebAssembly SIMD kernel (f64 in and out, f32 inside): for error-tolerant products only. */
export const wasmF32MatmulKernel: MatmulKernel = { name: 'wasm-simd-f32', matmul: wasmMatmulF32 };

/** The SIMD kernel where the runtime has WebAssembly SIMD, else the plain-JS one. */
export function defaultMatmulKernel(): MatmulKernel {
  return wasmKernels() ? wasmMatmulKernel : jsMatmulKernel;
}
