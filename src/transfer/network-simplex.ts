// Exact optimal transport (earth mover's) by the network simplex on the bipartite transport graph.
//
// A basis is a spanning tree on the n row and m column nodes whose edges are cells (i, j). Pivots
// pick an entering cell by block search (as LEMON, which POT's EMD wraps), leave by LEMON's
// strongly-feasible rule (so degenerate pivots cannot cycle), and update the cut subtree's potentials.

/** Options of {@link exactTransport}. */
export interface ExactTransportOptions {
  /** Pivot cap (POT's numItermaxEmd). @default 100000 */
  maxIter?: number;
}

/** An optimal plan with its duals. */
export interface ExactTransportResult {
  /** plan `[n, m]` */
  G: Float64Array;
  /** ⟨M, G⟩ */
  cost: number;
  /** pivots made */
  iterations: number;
  /** false when the pivot cap stopped it before optimality (G is still feasible) */
  optimal: boolean;
  /** row and column potentials: M_ij − u_i − v_j ≥ 0, with equality on the plan's support */
  u: Float64Array;
  v: Float64Array;
}

/**
 * Solves min ⟨M, G⟩ over G ≥ 0 with row sums a `[n]` and column sums b `[m]`; M `[n, m]` row-major.
 * b is rescaled to a's total (as POT does); zero-weight rows and columns are left out of the tree.
 */
export function exactTransport(
  a: Float64Array,
  b: Float64Array,
  M: Float64Array,
  options: ExactTransportOptions = {},
): ExactTransportResult {
  const nFull = a.length, mFull = b.length;
  const maxIter = options.maxIter ?? 100000;
  let sa = 0, sb = 0;
  for (let i = 0; i < nFull; i++) sa += a[i];
  for (let j = 0; j < mFull; j++) sb += b[j];
  const rows: number[] = [], cols: number[] = [];
  for (let i = 0; i < nFull; i++) if (a[i] > 0) rows.push(i);
  for (let j = 0; j < mFull; j++) if (b[j] > 0) cols.push(j);
  const n = rows.length, m = cols.length, N = n + m;
  const supply = new Float64Array(n), demand = new Float64Array(m);
  for (let r = 0; r < n; r++) supply[r] = a[rows[r]];
  for (let c = 0; c < m; c++) demand[c] = (b[cols[c]] * sa) / sb;
  // Reduced cost matrix view: cost(r, c) = M[rows[r] * mFull + cols[c]], copied compact for speed.
  const cost = new Float64Array(n * m);
  let scale = 0;
  for (let r = 0; r < n; r++)
    for (let c = 0; c < m; c++) {
      const x = M[rows[r] * mFull + cols[c]];
      cost[r * m + c] = x;
      if (Math.abs(x) > scale) scale = Math.abs(x);
    }
  const negTol = -1e-13 * Math.max(scale, 1e-300);

  // Tree: node k < n is row k, node n + c is column c; root is row 0.
  const parent = new Int32Array(N).fill(-1);
  const flow = new Float64Array(N); // flow on the cell joining k and parent[k]
  const depth = new Int32Array(N);
  const firstChild = new Int32Array(N).fill(-1);
  const nextSib = new Int32Array(N).fill(-1);
  const prevSib = new Int32Array(N).fill(-1);
  const pot = new Float64Array(N);
  const attach = (k: number, p: number) => {
    parent[k] = p;
    prevSib[k] = -1;
    nextSib[k] = firstChild[p];
    if (firstChild[p] >= 0) prevSib[firstChild[p]] = k;
    firstChild[p] = k;
  };
  const detach = (k: number) => {
    const p = parent[k];
    if (prevSib[k] >= 0) nextSib[prevSib[k]] = nextSib[k];
    else firstChild[p] = nextSib[k];
    if (nextSib[k] >= 0) prevSib[nextSib[k]] = prevSib[k];
    parent[k] = -1;
    nextSib[k] = prevSib[k] = -1;
  };

  // Initial basis: north-west corner rule (a staircase tree, degenerate cells kept as zero flow).
  {
    let r = 0, c = 0;
    let ra = supply[0], rb = demand[0];
    pot[0] = 0;
    // column 0 hangs off row 0
    attach(n, 0);
    pot[n] = cost[0];
    depth[n] = 1;
    for (;;) {
      const x = Math.min(ra, rb);
      // flow of cell (r, c) lives on whichever of its nodes was attached last
      const lastNode = parent[n + c] === r ? n + c : r;
      flow[lastNode] = x;
      ra -= x;
      rb -= x;
      if (r === n - 1 && c === m - 1) break;
      if ((ra <= rb && r < n - 1) || c === m - 1) {
        r++;
        ra = supply[r];
        attach(r, n + c);
        pot[r] = cost[r * m + c] - pot[n + c];
        depth[r] = depth[n + c] + 1;
      } else {
        c++;
        rb = demand[c];
        attach(n + c, r);
        pot[n + c] = cost[r * m + c] - pot[r];
        depth[n + c] = depth[r] + 1;
      }
    }
  }

  const blockSize = Math.max(10, Math.ceil(Math.sqrt(n * m)));
  const stack = new Int32Array(N);
  let nextCell = 0;
  let iterations = 0;
  let optimal = false;
  const total = n * m;
  while (iterations < maxIter) {
    // Entering cell: block search from where the last search stopped.
    let best = 0, bestCell = -1, cnt = blockSize;
    let e = nextCell, r = Math.floor(e / m), c = e % m;
    for (let scanned = 0; scanned < total; scanned++) {
      const rc = cost[e] - pot[r] - pot[n + c];
      if (rc < best) {
        best = rc;
        bestCell = e;
      }
      e++;
      c++;
      if (c === m) {
        c = 0;
        r++;
        if (e === total) {
          e = 0;
          r = 0;
        }
      }
      if (--cnt === 0) {
        if (bestCell >= 0 && best < negTol) break;
        cnt = blockSize;
      }
    }
    if (bestCell < 0 || best >= negTol) {
      optimal = true;
      break;
    }
    nextCell = e;
    iterations++;
    const iIn = Math.floor(bestCell / m), jIn = n + (bestCell % m);
    // Join node (lowest common ancestor).
    let x = iIn, y = jIn;
    while (x !== y) {
      if (depth[x] > depth[y]) x = parent[x];
      else if (depth[y] > depth[x]) y = parent[y];
      else {
        x = parent[x];
        y = parent[y];
      }
    }
    const join = x;
    // Leaving edge (LEMON's rule): strict on the row side, non-strict on the column side.
    let delta = Infinity, uOut = -1, side = 0;
    for (let k = iIn; k !== join; k = parent[k])
      if (k < n && flow[k] < delta) {
        delta = flow[k];
        uOut = k;
        side = 1;
      }
    for (let k = jIn; k !== join; k = parent[k])
      if (k >= n && flow[k] <= delta) {
        delta = flow[k];
        uOut = k;
        side = 2;
      }
    // Augment around the cycle: i → j on the entering cell, back to i through the tree.
    if (delta > 0) {
      for (let k = iIn; k !== join; k = parent[k]) flow[k] += k < n ? -delta : delta;
      for (let k = jIn; k !== join; k = parent[k]) flow[k] += k >= n ? -delta : delta;
    }
    // Re-hang the subtree cut at uOut from the entering endpoint inside it.
    const w = side === 1 ? iIn : jIn;
    const z = side === 1 ? jIn : iIn;
    let carried = delta; // flow of the entering cell
    let k = w, newParent = z;
    for (;;) {
      const oldParent = parent[k];
      const oldFlow = flow[k];
      detach(k);
      attach(k, newParent);
      flow[k] = carried;
      if (k === uOut) break;
      carried = oldFlow;
      newParent = k;
      k = oldParent;
    }
    // Potentials and depths of the moved subtree (rooted at w).
    const shift = best; // reduced cost of the entering cell, < 0
    const rowShift = w < n ? shift : -shift;
    let top = 0;
    stack[top++] = w;
    depth[w] = depth[z] + 1;
    while (top > 0) {
      const t = stack[--top];
      pot[t] += t < n ? rowShift : -rowShift;
      for (let ch = firstChild[t]; ch >= 0; ch = nextSib[ch]) {
        depth[ch] = depth[t] + 1;
        stack[top++] = ch;
      }
    }
  }

  const G = new Float64Array(nFull * mFull);
  let total_cost = 0;
  for (let t = 0; t < N; t++) {
    const p = parent[t];
    if (p < 0) continue;
    const r = t < n ? t : p, c = (t < n ? p : t) - n;
    const f = flow[t];
    if (f === 0) continue;
    const o = rows[r] * mFull + cols[c];
    G[o] += f;
    total_cost += f * M[o];
  }
  const u = new Float64Array(nFull), v = new Float64Array(mFull);
  for (let r = 0; r < n; r++) u[rows[r]] = pot[r];
  for (let c = 0; c < m; c++) v[cols[c]] = pot[n + c];
  return { G, cost: total_cost, iterations, optimal, u, v };
}
