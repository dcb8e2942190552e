// A static kd-tree over a Float32Array cloud for exact k-nearest-neighbour queries (typed arrays only).
import { FieldError } from '../core/errors.ts';

/** Points per leaf by default: small enough to prune well, large enough that leaves are scanned linearly. */
const LEAF = 10;

/**
 * Built once per cloud by median splits along the widest axis (quickselect, no full sort); the node
 * ranges are implicit (a node over [lo, hi) splits at (lo + hi) >> 1), so only the split axis and
 * value are stored. Unlike a uniform grid it stays fast on clouds with isolated points far from the
 * rest (flying pixels), which is what outlier removal is for.
 */
export class KdTree {
  readonly n: number;
  /** perm[p]: input index of the point at tree position p. */
  readonly perm: Uint32Array;
  readonly #xs: Float64Array;
  readonly #ys: Float64Array;
  readonly #zs: Float64Array;
  readonly #dim: Uint8Array;
  readonly #split: Float64Array;
  readonly #stackNode: Int32Array;
  readonly #stackLo: Int32Array;
  readonly #stackHi: Int32Array;
  readonly #stackBound: Float64Array;
  readonly #stackOff: Float64Array;
  readonly #q = new Float64Array(3);
  readonly #leaf: number;

  /** @param points [n, 3] xyz, finite. @param leafSize most points in a leaf (default 10). */
  constructor(points: Float32Array, leafSize = LEAF) {
    if (!Number.isInteger(leafSize) || leafSize < 1) throw new FieldError('leafSize', 'an integer >= 1', leafSize);
    this.#leaf = leafSize;
    if (points.length % 3 !== 0) throw new FieldError('points.length', 'a multiple of 3 ([n, 3] xyz)', points.length);
    const n = points.length / 3;
    this.n = n;
    let depth = 0;
    while (Math.ceil(n / 2 ** depth) > leafSize) depth++;
    const nodes = 2 << depth;
    this.#dim = new Uint8Array(nodes);
    this.#split = new Float64Array(nodes);
    const perm = new Uint32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    const cx = new Float64Array(n), cy = new Float64Array(n), cz = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      cx[i] = points[3 * i]!;
      cy[i] = points[3 * i + 1]!;
      cz[i] = points[3 * i + 2]!;
      if (!Number.isFinite(cx[i]! + cy[i]! + cz[i]!)) throw new FieldError(`points[${i}]`, 'finite coordinates', 'NaN or Infinity');
    }
    const cols = [cx, cy, cz];
    // Iterative build over (node, lo, hi).
    const sN: number[] = [0], sL: number[] = [0], sH: number[] = [n];
    while (sN.length) {
      const node = sN.pop()!, lo = sL.pop()!, hi = sH.pop()!;
      if (hi - lo <= leafSize) continue;
      let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity, z0 = Infinity, z1 = -Infinity;
      for (let p = lo; p < hi; p++) {
        const i = perm[p]!;
        const x = cx[i]!, y = cy[i]!, z = cz[i]!;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
        if (z < z0) z0 = z;
        if (z > z1) z1 = z;
      }
      const ex = x1 - x0, ey = y1 - y0, ez = z1 - z0;
      const dim = ex >= ey && ex >= ez ? 0 : ey >= ez ? 1 : 2;
      const mid = (lo + hi) >> 1;
      select(perm, cols[dim]!, lo, hi - 1, mid);
      this.#dim[node] = dim;
      this.#split[node] = cols[dim]![perm[mid]!]!;
      sN.push(2 * node + 1, 2 * node + 2);
      sL.push(lo, mid);
      sH.push(mid, hi);
    }
    this.perm = perm;
    this.#xs = new Float64Array(n);
    this.#ys = new Float64Array(n);
    this.#zs = new Float64Array(n);
    for (let p = 0; p < n; p++) {
      const i = perm[p]!;
      this.#xs[p] = cx[i]!;
      this.#ys[p] = cy[i]!;
      this.#zs[p] = cz[i]!;
    }
    const stack = depth + 2;
    this.#stackNode = new Int32Array(stack);
    this.#stackLo = new Int32Array(stack);
    this.#stackHi = new Int32Array(stack);
    this.#stackBound = new Float64Array(stack);
    this.#stackOff = new Float64Array(3 * stack);
  }

  /**
   * The k nearest points to (x, y, z), ascending: input indices into `outIndex`, squared distances
   * into `outDist2`. A point at the query position is included (distance 0), as Open3D's SearchKNN
   * does. Returns min(k, n).
   *
   * `limit`, when given, must be a squared distance within which at least k points are known to lie
   * (e.g. from a neighbouring query's answer): it prunes from the start instead of after k are found.
   */
  knn(x: number, y: number, z: number, k: number, outIndex: Int32Array | Uint32Array, outDist2: Float64Array, limit = Infinity): number {
    const want = Math.min(k, this.n);
    if (want <= 0) return 0;
    const xs = this.#xs, ys = this.#ys, zs = this.#zs, dimOf = this.#dim, split = this.#split, perm = this.perm;
    const sNode = this.#stackNode, sLo = this.#stackLo, sHi = this.#stackHi, sBound = this.#stackBound;
    const sOff = this.#stackOff;
    const leaf = this.#leaf;
    const q = this.#q;
    q[0] = x;
    q[1] = y;
    q[2] = z;
    let found = 0;
    // Inflated by a hair so a point exactly at `limit` is still taken (tests are `>= worst`).
    let worst = limit === Infinity ? Infinity : limit * (1 + 1e-12) + 1e-300;
    // Each stack entry keeps the per-axis offsets from the query to its node's region (Arya & Mount's
    // incremental distance), so a far child's bound is the full squared distance to its region.
    sNode[0] = 0;
    sLo[0] = 0;
    sHi[0] = this.n;
    sBound[0] = 0;
    sOff[0] = sOff[1] = sOff[2] = 0;
    let sp = 1;
    while (sp > 0) {
      sp--;
      const rd = sBound[sp]!;
      if (rd >= worst) continue;
      let node = sNode[sp]!, lo = sLo[sp]!, hi = sHi[sp]!;
      let o0 = sOff[3 * sp]!, o1 = sOff[3 * sp + 1]!, o2 = sOff[3 * sp + 2]!;
      while (hi - lo > leaf) {
        const mid = (lo + hi) >> 1;
        const d = dimOf[node]!;
        const diff = q[d]! - split[node]!;
        const old = d === 0 ? o0 : d === 1 ? o1 : o2;
        const far = rd - old * old + diff * diff;
        if (far < worst) {
          sLo[sp] = diff < 0 ? mid : lo;
          sHi[sp] = diff < 0 ? hi : mid;
          sNode[sp] = diff < 0 ? 2 * node + 2 : 2 * node + 1;
          sBound[sp] = far;
          sOff[3 * sp] = d === 0 ? diff : o0;
          sOff[3 * sp + 1] = d === 1 ? diff : o1;
          sOff[3 * sp + 2] = d === 2 ? diff : o2;
          sp++;
        }
        if (diff < 0) {
          node = 2 * node + 1;
          hi = mid;
        } else {
          node = 2 * node + 2;
          lo = mid;
        }
      }
      for (let p = lo; p < hi; p++) {
        const dx = xs[p]! - x, dy = ys[p]! - y, dz = zs[p]! - z;
        const dd = dx * dx + dy * dy + dz * dz;
        if (dd >= worst) continue;
        let j = found < want ? found++ : want - 1;
        while (j > 0 && outDist2[j - 1]! > dd) {
          outDist2[j] = outDist2[j - 1]!;
          outIndex[j] = outIndex[j - 1]!;
          j--;
        }
        outDist2[j] = dd;
        outIndex[j] = perm[p]!;
        if (found === want) worst = outDist2[want - 1]!;
      }
    }
    return found;
  }
}

/** Quickselect: reorders perm[lo..hi] so perm[kth] has the kth smallest key and is a partition point. */
function select(perm: Uint32Array, key: Float64Array, lo: number, hi: number, kth: number): void {
  while (hi > lo) {
    // Median of three as pivot (deterministic).
    const m = (lo + hi) >> 1;
    const a = key[perm[lo]!]!, b = key[perm[m]!]!, c = key[perm[hi]!]!;
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo, j = hi;
    while (i <= j) {
      while (key[perm[i]!]! < pivot) i++;
      while (key[perm[j]!]! > pivot) j--;
      if (i <= j) {
        const t = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = t;
        i++;
        j--;
      }
    }
    if (kth <= j) hi = j;
    else if (kth >= i) lo = i;
    else return;
  }
}
