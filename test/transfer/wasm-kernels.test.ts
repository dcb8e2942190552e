import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/index.ts';
import { defaultMatmulKernel, sinkhornInto, wasmKernels, wasmMatmul, wasmMatmulF32, wasmViews } from '../../src/transfer/index.ts';
import { assembleWat } from '../../src/transfer/wasm/wat.ts';

function naive(A: Float64Array, B: Float64Array, n: number, k: number, m: number): Float64Array {
  const C = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += A[i * k + p]! * B[p * m + j]!;
      C[i * m + j] = s;
    }
  return C;
}

describe('assembleWat', () => {
  it('assembles a module that runs (locals, loops, labels, SIMD lanes)', () => {
    const bytes = assembleWat(`(module
      (func (export "sum2") (param $n i32) (result f64) (local $i i32) (local $acc v128)
        v128.const f64x2 0 0 local.set $acc
        loop $L
          local.get $acc local.get $i i32.const 1 i32.add local.tee $i i32.const 0 i32.add
          drop f64.const 1.5 f64x2.splat f64x2.add local.set $acc
          local.get $i local.get $n i32.lt_u br_if $L
        end
        local.get $acc f64x2.extract_lane 0 local.get $acc f64x2.extract_lane 1 f64.add))`);
    const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    expect((inst.exports.sum2 as (n: number) => number)(4)).toBe(12);
  });

  it('names what it cannot assemble', () => {
    expect(() => assembleWat('(module (func i64.popcnt))')).toThrow(/unsupported instruction i64.popcnt/);
    expect(() => assembleWat('(module (func br $nowhere))')).toThrow(/unknown label \$nowhere/);
  });
});

describe('wasmMatmul', () => {
  it('has WebAssembly SIMD on this runtime, and the solvers default to it', () => {
    expect(wasmKernels()).not.toBeNull();
    expect(defaultMatmulKernel().name).toBe('wasm-simd');
  });

  const rng = new Rng(42);
  const sizes: [number, number, number][] = [
    [1, 1, 1], [4, 4, 4], [3, 5, 7], [5, 1, 9], [9, 300, 5], [17, 257, 13], [33, 513, 6],
    ...Array.from({ length: 6 }, () => [1 + Math.floor(rng.next() * 70), 1 + Math.floor(rng.next() * 600), 1 + Math.floor(rng.next() * 70)] as [number, number, number]),
  ];
  /** `matmul` against the naive loop, each entry within `tol`·Σ_p|a_ip·b_pj| (any order's rounding scale). */
  function expectNaive(matmul: typeof wasmMatmul, n: number, k: number, m: number, tol: number, seed: number): void {
    const r = new Rng(seed);
    const A = new Float64Array(n * k).map(() => r.uniform(-1, 1));
    const B = new Float64Array(k * m).map(() => r.uniform(-1, 1));
    const C = new Float64Array(n * m).fill(Number.NaN); // overwritten, not accumulated into
    matmul(A, B, C, n, k, m);
    const ref = naive(A, B, n, k, m);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < m; j++) {
        let scale = 0;
        for (let p = 0; p < k; p++) scale += Math.abs(A[i * k + p]! * B[p * m + j]!);
        expect(Math.abs(C[i * m + j]! - ref[i * m + j]!)).toBeLessThanOrEqual(tol * scale);
      }
  }

  it.each(sizes)('%s×%s · %s×… matches the naive triple loop to 1e-12 relative', (n, k, m) => {
    expectNaive(wasmMatmul, n, k, m, 1e-12, n * 7919 + k * 31 + m);
  });

  // inputs rounded to f32 and k f32 additions: the worst case is (k + 2)·2⁻²⁴ of Σ|a||b|
  it.each(sizes)('f32: %s×%s · %s×… matches the naive triple loop to f32 rounding', (n, k, m) => {
    expectNaive(wasmMatmulF32, n, k, m, (k + 2) * 2 ** -24, n * 7919 + k * 31 + m + 1);
  });

  it('reads only the n×k and k×m prefixes of longer arrays', () => {
    const A = Float64Array.from([1, 2, 3, 4, 99, 99]), B = Float64Array.from([1, 0, 0, 1, 99]);
    const C = new Float64Array(5).fill(7);
    wasmMatmul(A, B, C, 2, 2, 2);
    expect(Array.from(C)).toEqual([1, 2, 3, 4, 7]);
  });
});

describe('sinkhornInto with the SIMD sweep', () => {
  it.each([
    [20, 30, 0.05, 1],
    [33, 7, 0.02, 2],
    [15, 15, 1e-3, 3], // underflows: absorptions and log-domain steps
  ])('%s×%s, reg %s: the same plan and iteration count as the plain-JS sweep', (n, m, reg, seed) => {
    const rng = new Rng(seed);
    const norm = (x: Float64Array) => x.map((v, _, all) => v / all.reduce((s, y) => s + y, 0));
    const a = norm(new Float64Array(n).map(() => rng.uniform(0.2, 1)));
    const b = norm(new Float64Array(m).map(() => rng.uniform(0.2, 1)));
    a[n - 1] = 0; // a zero-mass row
    const M = new Float64Array(n * m).map(() => rng.uniform(0, 1) + (reg < 0.01 ? 5 : 0));
    const T1 = new Float64Array(n * m), T2 = new Float64Array(n * m);
    const r1 = sinkhornInto(a, b, M, reg, T1, { simd: false, maxIter: 3000 });
    const r2 = sinkhornInto(a, b, M, reg, T2, { simd: true, maxIter: 3000 });
    expect(r2.iterations).toBe(r1.iterations);
    expect(r2.absorptions).toBe(r1.absorptions);
    for (let k = 0; k < T1.length; k++) expect(Math.abs(T2[k]! - T1[k]!)).toBeLessThanOrEqual(1e-12 * Math.max(1e-300, T1[k]!) + 1e-300);
  });
});

describe('expKernel', () => {
  it.each([[3, 5], [4, 8], [1, 1]])('%s×%s: K = exp((α ⊕ β − M)/reg) to 2 ulp of Math.exp, column sums, 0 below exp(−708.39)', (n, m) => {
    const w = wasmKernels()!;
    const rng = new Rng(n * 100 + m);
    const reg = 0.5;
    const { views: [alpha, beta, M, K, col], ptrs } = wasmViews(w, [n, m, n * m, n * m, m]);
    for (let i = 0; i < n; i++) alpha![i] = rng.uniform(-5, 5);
    for (let j = 0; j < m; j++) beta![j] = rng.uniform(-5, 5);
    // arguments from −800 (flushed to 0) through subnormal-adjacent to +300, spread over all entries
    for (let k = 0; k < n * m; k++) M![k] = alpha![Math.floor(k / m)]! + beta![k % m]! - reg * (-800 + (1100 * k) / Math.max(1, n * m - 1));
    K!.fill(Number.NaN);
    col!.fill(Number.NaN); // overwritten
    w.expKernel(ptrs[0]!, ptrs[1]!, ptrs[2]!, ptrs[3]!, ptrs[4]!, n, m, reg);
    const sums = new Float64Array(m);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < m; j++) {
        const x = (alpha![i]! + beta![j]! - M![i * m + j]!) / reg, want = Math.exp(x), got = K![i * m + j]!;
        if (x < -708.39) expect(got).toBe(0);
        else expect(Math.abs(got - want)).toBeLessThanOrEqual(4.5e-16 * want);
        sums[j]! += got;
      }
    for (let j = 0; j < m; j++) expect(Math.abs(col![j]! - sums[j]!)).toBeLessThanOrEqual(1e-15 * sums[j]!);
  });
});
