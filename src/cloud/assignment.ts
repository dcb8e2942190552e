// Exact minimum-cost assignment (Hungarian method, shortest augmenting paths with potentials), O(n³).

/**
 * Solves the square assignment problem for an n×n cost matrix (row-major, `cost[i * n + j]`).
 * Returns `rowToCol` (row i is matched to column rowToCol[i]) and the total cost.
 * This is the Jonker–Volgenant / e-maxx form of the Hungarian method: each row is added by a
 * Dijkstra-like search over reduced costs, so the result is optimal up to float rounding.
 */
export function solveAssignment(cost: Float64Array, n: number): { rowToCol: Int32Array; total: number } {
  if (cost.length !== n * n) throw new Error(`cost: expected ${n * n} entries for n = ${n}, received ${cost.length}`);
  // 1-based arrays as in the classic formulation; column 0 is the virtual start.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const p = new Int32Array(n + 1); // p[j]: row matched to column j (0 = none)
  const way = new Int32Array(n + 1);
  const minv = new Float64Array(n + 1);
  const used = new Uint8Array(n + 1);
  for (let i = 1; i <= n; i++) {
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      const row = (i0 - 1) * n - 1; // cost[row + j] is cost(i0, j) for 1-based j
      const ui0 = u[i0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const cur = cost[row + j]! - ui0 - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else {
          minv[j]! -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0);
  }
  const rowToCol = new Int32Array(n);
  let total = 0;
  for (let j = 1; j <= n; j++) {
    const i = p[j]! - 1;
    rowToCol[i] = j - 1;
    total += cost[i * n + j - 1]!;
  }
  return { rowToCol, total };
}

/**
 * ε-optimal assignment between two equal-size point sets under Euclidean cost (the auction algorithm
 * with ε-scaling, Bertsekas). Rows are points of `a`, columns points of `b`, both [n, 3]; costs are
 * computed on the fly, so memory is O(n). When it returns, ε-complementary slackness holds for
 * ε = `epsilon`, so the matching's total cost is within n·ε of the optimum: its mean cost (the EMD)
 * is within `epsilon` of the exact value.
 */
export function auctionAssignment(
  a: Float32Array,
  b: Float32Array,
  n: number,
  epsilon: number,
): { rowToCol: Int32Array; total: number } {
  let maxCost = 0;
  // An upper bound on the cost range from the bounding boxes, for the first ε.
  let lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  for (const p of [a, b]) {
    for (let i = 0; i < 3 * n; i += 3) {
      for (let d = 0; d < 3; d++) {
        lo[d] = Math.min(lo[d]!, p[i + d]!);
        hi[d] = Math.max(hi[d]!, p[i + d]!);
      }
    }
  }
  maxCost = Math.hypot(hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!);
  const price = new Float64Array(n);
  const rowToCol = new Int32Array(n);
  const colToRow = new Int32Array(n);
  const queue = new Int32Array(n);
  let eps = Math.max(maxCost / 8, epsilon);
  for (;;) {
    rowToCol.fill(-1);
    colToRow.fill(-1);
    for (let i = 0; i < n; i++) queue[i] = i;
    // Circular queue of unassigned rows; each bid assigns one row and may free another.
    let head = 0, size = n;
    while (size > 0) {
      const i = queue[head]!;
      head = head + 1 === n ? 0 : head + 1;
      size--;
      const x = a[3 * i]!, y = a[3 * i + 1]!, z = a[3 * i + 2]!;
      // Best and second-best value -(cost) - price.
      let best = -Infinity, second = -Infinity, bestJ = 0;
      for (let j = 0, k = 0; j < n; j++, k += 3) {
        const dx = b[k]! - x, dy = b[k + 1]! - y, dz = b[k + 2]! - z;
        const v = -Math.sqrt(dx * dx + dy * dy + dz * dz) - price[j]!;
        if (v > second) {
          if (v > best) {
            second = best;
            best = v;
            bestJ = j;
          } else second = v;
        }
      }
      price[bestJ]! += best - (n > 1 ? second : best) + eps;
      const prev = colToRow[bestJ]!;
      colToRow[bestJ] = i;
      rowToCol[i] = bestJ;
      if (prev >= 0) {
        rowToCol[prev] = -1;
        queue[(head + size) % n] = prev;
        size++;
      }
    }
    if (eps <= epsilon) break;
    eps = Math.max(eps / 6, epsilon);
  }
  let total = 0;
  for (let i = 0; i < n; i++) {
    const j = rowToCol[i]!;
    total += Math.hypot(b[3 * j]! - a[3 * i]!, b[3 * j + 1]! - a[3 * i + 1]!, b[3 * j + 2]! - a[3 * i + 2]!);
  }
  return { rowToCol, total };
}
