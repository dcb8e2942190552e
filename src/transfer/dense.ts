// Dense row-major Float64Array kernels for the GW solvers: matrix products and reductions.

/**
 * A matrix product kernel: `out = A · B` with A `[n, k]`, B `[k, m]`, out `[n, m]`, all row-major.
 * The solvers take one so a faster kernel (WASM, threads) can replace the plain-JS one.
 */
export interface MatmulKernel {
  readonly name: string;
  matmul(A: Float64Array, B: Float64Array, out: Float64Array, n: number, k: number, m: number): void;
}

/** Rows of A handled together by the register tile. */
const TILE_ROWS = 4;
/** Columns of B handled together by the register tile. */
const TILE_COLS = 4;
/** Depth of one k-block, so the packed B panel stays in L1/L2. */
const K_BLOCK = 256;

/**
 * `out = A · B` in plain JS: A's rows are packed four at a time (column-interleaved) and B's columns
 * four at a time per k-block, so the 4×4 register tile reads both contiguously.
 */
export function matmulImpl(A: Float64Array, B: Float64Array, out: Float64Array, n: number, k: number, m: number): void {
  out.fill(0, 0, n * m);
  const aPack = new Float64Array(TILE_ROWS * K_BLOCK);
  const edgeTile = new Float64Array(16);
  const bPack = new Float64Array(K_BLOCK * TILE_COLS * Math.ceil(m / TILE_COLS));
  for (let k0 = 0; k0 < k; k0 += K_BLOCK) {
    const kb = Math.min(K_BLOCK, k - k0);
    // Pack B[k0:k0+kb, :] as column panels of width 4: panel q holds [kb, 4] contiguous.
    const panels = Math.ceil(m / TILE_COLS);
    for (let q = 0; q < panels; q++) {
      const j0 = q * TILE_COLS;
      const base = q * kb * TILE_COLS;
      const w = Math.min(TILE_COLS, m - j0);
      for (let p = 0; p < kb; p++) {
        const src = (k0 + p) * m + j0;
        const dst = base + p * TILE_COLS;
        for (let c = 0; c < TILE_COLS; c++) bPack[dst + c] = c < w ? B[src + c] : 0;
      }
    }
    for (let i0 = 0; i0 < n; i0 += TILE_ROWS) {
      const h = Math.min(TILE_ROWS, n - i0);
      for (let p = 0; p < kb; p++)
        for (let r = 0; r < TILE_ROWS; r++) aPack[p * TILE_ROWS + r] = r < h ? A[(i0 + r) * k + k0 + p] : 0;
      for (let q = 0; q < panels; q++) {
        let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (let p = 0, bp = q * kb * TILE_COLS, ap = 0; p < kb; p++, bp += 4, ap += 4) {
          const b0 = bPack[bp], b1 = bPack[bp + 1], b2 = bPack[bp + 2], b3 = bPack[bp + 3];
          const a0 = aPack[ap], a1 = aPack[ap + 1], a2 = aPack[ap + 2], a3 = aPack[ap + 3];
          c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
          c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
          c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
          c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        }
        const j0 = q * TILE_COLS;
        if (h === TILE_ROWS && j0 + TILE_COLS <= m) {
          let o = i0 * m + j0;
          out[o] += c00; out[o + 1] += c01; out[o + 2] += c02; out[o + 3] += c03; o += m;
          out[o] += c10; out[o + 1] += c11; out[o + 2] += c12; out[o + 3] += c13; o += m;
          out[o] += c20; out[o + 1] += c21; out[o + 2] += c22; out[o + 3] += c23; o += m;
          out[o] += c30; out[o + 1] += c31; out[o + 2] += c32; out[o + 3] += c33;
        } else {
          edgeTile[0] = c00; edgeTile[1] = c01; edgeTile[2] = c02; edgeTile[3] = c03;
          edgeTile[4] = c10; edgeTile[5] = c11; edgeTile[6] = c12; edgeTile[7] = c13;
          edgeTile[8] = c20; edgeTile[9] = c21; edgeTile[10] = c22; edgeTile[11] = c23;
          edgeTile[12] = c30; edgeTile[13] = c31; edgeTile[14] = c32; edgeTile[15] = c33;
          const w = Math.min(TILE_COLS, m - j0);
          for (let r = 0; r < h; r++) {
            const o = (i0 + r) * m + j0;
            for (let c = 0; c < w; c++) out[o + c] += edgeTile[r * 4 + c];
          }
        }
      }
    }
  }
}

/** The plain-JS kernel (no threads, no WASM). */
export const jsMatmulKernel: MatmulKernel = { name: 'js', matmul: matmulImpl };

/** `out = Aᵀ` for A `[n, m]`; out `[m, n]`. */
export function transposeInto(A: Float64Array, out: Float64Array, n: number, m: number): Float64Array {
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[j * n + i] = A[i * m + j];
  return out;
}

/** Σ_ij A_ij B_ij over the first `len` entries. */
export function frobeniusDot(A: Float64Array, B: Float64Array, len = A.length): number {
  let s = 0;
  for (let i = 0; i < len; i++) s += A[i] * B[i];
  return s;
}

/** `out = a · bᵀ` for a `[n]`, b `[m]`; out `[n, m]`. */
export function outerInto(a: Float64Array, b: Float64Array, out: Float64Array): Float64Array {
  const n = a.length, m = b.length;
  for (let i = 0; i < n; i++) {
    const ai = a[i], o = i * m;
    for (let j = 0; j < m; j++) out[o + j] = ai * b[j];
  }
  return out;
}

/** Row sums of A `[n, m]` into out `[n]`. */
export function rowSumsInto(A: Float64Array, n: number, m: number, out: Float64Array = new Float64Array(n)): Float64Array {
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * m;
    for (let j = 0; j < m; j++) s += A[o + j];
    out[i] = s;
  }
  return out;
}

/** Column sums of A `[n, m]` into out `[m]`. */
export function colSumsInto(A: Float64Array, n: number, m: number, out: Float64Array = new Float64Array(m)): Float64Array {
  out.fill(0);
  for (let i = 0; i < n; i++) {
    const o = i * m;
    for (let j = 0; j < m; j++) out[j] += A[o + j];
  }
  return out;
}
