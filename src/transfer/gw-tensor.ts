// The tensor-product decomposition of the GW loss (Peyré, Cuturi & Solomon 2016, Prop. 1), as in POT.
import { type MatmulKernel, frobeniusDot, outerInto } from './dense.ts';
import { defaultMatmulKernel } from './wasm/kernels.ts';
import type { GwLoss } from './gw-problem.ts';

/**
 * L(a, b) = f1(a) + f2(b) − h1(a)·h2(b), so for T with marginals p, q:
 * L⊗T = constC − h1(C1)·T·h2(C2)ᵀ, where constC = f1(C1)·p·1ᵀ + 1·qᵀ·f2(C2)ᵀ.
 * Cost per product: O(n²m + nm²); the n²m² tensor is never formed.
 */
export interface GwTensor {
  n: number;
  m: number;
  loss: GwLoss;
  /** `[n, m]` */
  constC: Float64Array;
  /** h1(C1) `[n, n]` */
  hC1: Float64Array;
  /** h2(C2)ᵀ `[m, m]` (transposed once so the second product is a plain A·B) */
  hC2T: Float64Array;
  kernel: MatmulKernel;
  /** scratch `[n, m]` for h1(C1)·T */
  scratch: Float64Array;
}

/** POT adds this inside the logs of kl_loss so log(0) stays finite. */
const KL_FLOOR = 1e-15;

/** Builds constC, h1(C1), h2(C2)ᵀ for `loss` (POT's init_matrix). */
export function initGwTensor(
  C1: Float64Array,
  C2: Float64Array,
  p: Float64Array,
  q: Float64Array,
  loss: GwLoss,
  kernel: MatmulKernel = defaultMatmulKernel(),
): GwTensor {
  const n = p.length, m = q.length;
  const square = loss === 'square_loss';
  // The element maps are written out per loss (no closure call per entry): this runs once per solve on
  // n² + m² entries, before the JIT has warmed up.
  // constC1_i = Σ_k f1(C1_ik) p_k ; constC2_j = Σ_l q_l f2(C2_jl)
  const c1 = new Float64Array(n), c2 = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * n;
    if (square)
      for (let k = 0; k < n; k++) {
        const a = C1[o + k]!;
        s += a * a * p[k]!;
      }
    else
      for (let k = 0; k < n; k++) {
        const a = C1[o + k]!;
        s += (a * Math.log(a + KL_FLOOR) - a) * p[k]!;
      }
    c1[i] = s;
  }
  for (let j = 0; j < m; j++) {
    let s = 0;
    const o = j * m;
    if (square)
      for (let l = 0; l < m; l++) {
        const b = C2[o + l]!;
        s += q[l]! * b * b;
      }
    else for (let l = 0; l < m; l++) s += q[l]! * C2[o + l]!;
    c2[j] = s;
  }
  const constC = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const o = i * m, ci = c1[i]!;
    for (let j = 0; j < m; j++) constC[o + j] = ci + c2[j]!;
  }
  const hC1 = Float64Array.from(C1); // h1(a) = a for both losses
  // hC2T[l][j] = h2(C2[j][l]): h2(b) = 2b (square) or log(b + floor) (kl)
  const hC2T = new Float64Array(m * m);
  for (let j = 0; j < m; j++) {
    const o = j * m;
    if (square) for (let l = 0; l < m; l++) hC2T[l * m + j] = 2 * C2[o + l]!;
    else for (let l = 0; l < m; l++) hC2T[l * m + j] = Math.log(C2[o + l]! + KL_FLOOR);
  }
  return { n, m, loss, constC, hC1, hC2T, kernel, scratch: new Float64Array(n * m) };
}

/** `out = h1(C1)·T·h2(C2)ᵀ` `[n, m]`: the only O(n²m + nm²) part. */
export function gwProductInto(t: GwTensor, T: Float64Array, out: Float64Array): Float64Array {
  t.kernel.matmul(t.hC1, T, t.scratch, t.n, t.n, t.m);
  t.kernel.matmul(t.scratch, t.hC2T, out, t.n, t.m, t.m);
  return out;
}

/**
 * `out = h1(C1)·(p·qᵀ)·h2(C2)ᵀ = (h1(C1)·p)·(qᵀ·h2(C2)ᵀ)`: the product of the starting plan p·qᵀ,
 * exact in O(n² + m²) because the plan has rank one.
 */
export function gwOuterProductInto(t: GwTensor, p: Float64Array, q: Float64Array, out: Float64Array): Float64Array {
  const { n, m, hC1, hC2T } = t;
  const left = new Float64Array(n), right = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += hC1[i * n + k]! * p[k]!;
    left[i] = s;
  }
  for (let l = 0; l < m; l++) {
    const ql = q[l]!, o = l * m;
    for (let j = 0; j < m; j++) right[j]! += ql * hC2T[o + j]!;
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = left[i]! * right[j]!;
  return out;
}

/**
 * `out += h1(C1)·D·h2(C2)ᵀ` with `kernel` instead of the tensor's own (so an f32 kernel can update a
 * product by a small change D of the plan); `scratch` `[n, m]` holds the increment.
 */
export function gwProductAddInto(t: GwTensor, D: Float64Array, out: Float64Array, kernel: MatmulKernel, scratch: Float64Array): Float64Array {
  kernel.matmul(t.hC1, D, t.scratch, t.n, t.n, t.m);
  kernel.matmul(t.scratch, t.hC2T, scratch, t.n, t.m, t.m);
  for (let i = 0; i < t.n * t.m; i++) out[i]! += scratch[i]!;
  return out;
}

/** `out = L⊗T = constC − product` from a product computed by {@link gwProductInto}. */
export function tensorFromProductInto(t: GwTensor, product: Float64Array, out: Float64Array): Float64Array {
  const c = t.constC;
  for (let i = 0; i < c.length; i++) out[i] = c[i] - product[i];
  return out;
}

/** GW loss ⟨L⊗T, T⟩ given the product h1(C1)·T·h2(C2)ᵀ of the same T. */
export function gwLossFromProduct(t: GwTensor, T: Float64Array, product: Float64Array): number {
  return frobeniusDot(t.constC, T) - frobeniusDot(product, T);
}

/** GW loss ⟨L⊗T, T⟩ (POT's gwloss). Exact only for T with marginals p, q. */
export function gwLoss(t: GwTensor, T: Float64Array): number {
  const prod = new Float64Array(t.n * t.m);
  return gwLossFromProduct(t, T, gwProductInto(t, T, prod));
}

/** `out = ∇E(T) = 2·(L⊗T) = 2·(constC − product)` (POT's gwggrad; C symmetric) from the product of the same T. */
export function gwGradFromProductInto(t: GwTensor, product: Float64Array, out: Float64Array): Float64Array {
  const c = t.constC;
  for (let i = 0; i < c.length; i++) out[i] = 2 * (c[i] - product[i]);
  return out;
}

/**
 * The product h1(C1)·X·h2(C2)ᵀ along a converging sequence of plans X, at f32 cost but f64 accuracy
 * in the end: each update adds the f32 product of the change X − X_prev. The f32 rounding error of an
 * update scales with ‖X − X_prev‖, so early (large) changes leave ~1e-7 relative error behind; once a
 * change falls below `refreshBelow`·‖X‖_F (or `floor` in absolute terms) the product is recomputed
 * exactly in f64 once, and every later change is small enough that its f32 error is ~1e-7 of something
 * ~`refreshBelow` times smaller.
 */
export class TrackedProduct {
  /** h1(C1)·X·h2(C2)ᵀ `[n, m]` of the last X passed to {@link update} */
  readonly product: Float64Array;
  readonly #t: GwTensor;
  readonly #kernel: MatmulKernel;
  readonly #refreshBelow: number;
  readonly #floor: number;
  readonly #base: Float64Array;
  readonly #delta: Float64Array;
  readonly #scratch: Float64Array;
  #exact = false;

  /** Starts from the plan p·qᵀ, whose product is exact (rank one). */
  constructor(t: GwTensor, p: Float64Array, q: Float64Array, kernel: MatmulKernel, refreshBelow: number, floor: number) {
    this.#t = t;
    this.#kernel = kernel;
    this.#refreshBelow = refreshBelow;
    this.#floor = floor;
    const nm = t.n * t.m;
    this.product = gwOuterProductInto(t, p, q, new Float64Array(nm));
    this.#base = outerInto(p, q, new Float64Array(nm));
    this.#delta = new Float64Array(nm);
    this.#scratch = new Float64Array(nm);
  }

  /** Whether the product has had its exact f64 refresh (after it, its error is f64-small). */
  get exact(): boolean {
    return this.#exact;
  }

  /** Moves the product to plan X `[n, m]`; returns {@link product}. */
  update(X: Float64Array): Float64Array {
    const base = this.#base, delta = this.#delta;
    let dd = 0, xx = 0;
    for (let i = 0; i < base.length; i++) {
      const x = X[i]!, d = x - base[i]!;
      delta[i] = d;
      dd += d * d;
      xx += x * x;
      base[i] = x;
    }
    if (dd === 0) return this.product;
    const small = Math.sqrt(dd) <= Math.max(this.#refreshBelow * Math.sqrt(xx), this.#floor);
    if (!this.#exact && small) {
      gwProductInto(this.#t, X, this.product);
      this.#exact = true;
    } else gwProductAddInto(this.#t, delta, this.product, this.#kernel, this.#scratch);
    return this.product;
  }
}
