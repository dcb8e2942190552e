// How precise can a forward model of rope-circle be? At every decision of an RAS episode the candidates are
// scored by the truth (the candidate oracle), by the scripted expert's planar drag model on the sim's rope
// vertices (verts) and on the centre line seen in the cloud (cloud), by a second MuJoCo world whose rope is
// laid along a state estimate (--lay) and tries each candidate (sim: exact dynamics, only the state errs),
// and by the decider's reward plus the cloud drag model, each z-scored (combo). --choose names the scorer
// that executes (decider: the decider's own choice); every scorer's IoU error, rank correlation with the
// truth and share of the best candidate's gain are logged.
// Run: npx tsx scripts/rope-model-study.ts --choose sim --lay cloud --episodes 12 --seed 30000
import { parseArgs } from 'node:util';
import { createWorld } from '../sim/index.ts';
import { ROPE, PICK_PLACE_MOTION, ROPE_METRICS, dragVertex, type RopeWorld } from '../sim/tasks/rope.ts';
import { resamplePolyline } from '../sim/world-base.ts';
import type { TaskName } from '../src/core/task.ts';
import type { Primitive } from '../src/core/primitive.ts';
import { Rng } from '../src/core/rng.ts';
import { occupancyIoU2DRotationSearch } from '../src/cloud/metrics.ts';
import { FieldError } from '../src/core/errors.ts';
import { farthestPointSample } from '../src/cloud/fps.ts';
import { removeStatisticalOutliers } from '../src/cloud/outliers.ts';
import { scoreCandidatesInWorld } from '../src/preference/candidate-oracle.ts';
import { chooseExecuted } from '../src/preference/collect.ts';
import { loadCommandDecider } from '../src/stack/decider-flags.ts';
import { deciderSpecFor } from '../src/stack/decider-spec.ts';
import { rollout } from '../src/stack/rollout.ts';
import { shareOfBestGain } from './decision-share.ts';

const { values: a } = parseArgs({
  options: {
    task: { type: 'string', default: 'rope-circle' },
    policy: { type: 'string', default: 'policies/rope-circle' },
    candidates: { type: 'string', default: '32' },
    choose: { type: 'string', default: 'cloud' },
    episodes: { type: 'string', default: '12' },
    seed: { type: 'string', default: '30000' },
    // vertices the cloud's centre line is resampled to for the drag model
    'line-vertices': { type: 'string', default: '32' },
    // where the second world's rope is laid: the centre line seen in the cloud, its vertices spread evenly
    // (cloud) or at the rope's own segment length, centred on the line (cloud-length), the latter then fitted to
    // the cloud (cloud-fit: each vertex drawn to the points nearest it, segments held at their length); or, as controls, the true
    // vertices, the true vertices each moved by N(0, 3 mm) (jitter), or the true rope with its vertices slid
    // along it by one random offset of up to half a segment (shift: the same curve, other grasp points)
    lay: { type: 'string', default: 'cloud' },
  },
});
const CHOICES = ['truth', 'verts', 'cloud', 'sim', 'combo', 'decider'];
const LAYS = ['cloud', 'cloud-length', 'cloud-fit', 'verts', 'jitter', 'shift'];
/**
 * Fits a chain [n, 3] (xy used) to cloud points in place: each round every vertex moves halfway to the mean
 * of the points nearest it, then every segment is pulled back to length `seg` (a few projection passes).
 */
function fitChain(v: Float64Array, cloud: Float32Array, seg: number, rounds = 30): Float64Array {
  const n = v.length / 3;
  const sx = new Float64Array(n), sy = new Float64Array(n), cnt = new Float64Array(n);
  for (let r = 0; r < rounds; r++) {
    sx.fill(0); sy.fill(0); cnt.fill(0);
    for (let i = 0; i < cloud.length; i += 3) {
      let b = 0, bd = Infinity;
      for (let j = 0; j < n; j++) {
        const d = (cloud[i]! - v[j * 3]!) ** 2 + (cloud[i + 1]! - v[j * 3 + 1]!) ** 2;
        if (d < bd) { bd = d; b = j; }
      }
      sx[b] += cloud[i]!; sy[b] += cloud[i + 1]!; cnt[b]++;
    }
    for (let j = 0; j < n; j++) {
      if (!cnt[j]) continue;
      v[j * 3] += 0.5 * (sx[j]! / cnt[j]! - v[j * 3]!);
      v[j * 3 + 1] += 0.5 * (sy[j]! / cnt[j]! - v[j * 3 + 1]!);
    }
    for (let pass = 0; pass < 10; pass++)
      for (let j = 0; j + 1 < n; j++) {
        const dx = v[(j + 1) * 3]! - v[j * 3]!, dy = v[(j + 1) * 3 + 1]! - v[j * 3 + 1]!;
        const d = Math.hypot(dx, dy) || 1e-9;
        const k = (0.5 * (d - seg)) / d;
        v[j * 3] += k * dx; v[j * 3 + 1] += k * dy;
        v[(j + 1) * 3] -= k * dx; v[(j + 1) * 3 + 1] -= k * dy;
      }
  }
  return v;
}
if (!CHOICES.includes(a.choose!)) throw new Error(`--choose: one of ${CHOICES.join(', ')}, received ${a.choose}`);
if (!LAYS.includes(a.lay!)) throw new Error(`--lay: one of ${LAYS.join(', ')}, received ${a.lay}`);
const layRng = new Rng(Number(a.seed) ^ 0x1a7);

/** Points at arc lengths s0 + i·seg along polyline p [n, 3] (extended straight past its ends), [m, 3]. */
function alongPolyline(p: ArrayLike<number>, n: number, s0: number, seg: number, m: number): Float64Array {
  const out = new Float64Array(m * 3);
  let j = 0, acc = 0;
  for (let i = 0; i < m; i++) {
    const s = s0 + i * seg;
    while (j < n - 2 && acc + Math.hypot(p[(j + 1) * 3]! - p[j * 3]!, p[(j + 1) * 3 + 1]! - p[j * 3 + 1]!) < s) {
      acc += Math.hypot(p[(j + 1) * 3]! - p[j * 3]!, p[(j + 1) * 3 + 1]! - p[j * 3 + 1]!);
      j++;
    }
    const len = Math.hypot(p[(j + 1) * 3]! - p[j * 3]!, p[(j + 1) * 3 + 1]! - p[j * 3 + 1]!) || 1;
    const t = (s - acc) / len;
    for (let k = 0; k < 2; k++) out[i * 3 + k] = p[j * 3 + k]! + (p[(j + 1) * 3 + k]! - p[j * 3 + k]!) * t;
  }
  return out;
}
const world = (await createWorld(a.task as TaskName)) as RopeWorld;
const goal = world.goalCloud();
const scratch = (await createWorld(a.task as TaskName)) as RopeWorld;
const decider = await loadCommandDecider(world, deciderSpecFor(a.policy!, { candidates: Number(a.candidates) }, '--policy'));
const M = Number(a['line-vertices']);

function predict(line: Float64Array, n: number, cands: Primitive[], seg: number): number[] {
  const buf = new Float64Array(n * 3);
  return cands.map((c) => {
    if (world.checkPrimitive(c)) return -Infinity;
    buf.set(line);
    let gi = -1;
    let gd: number = PICK_PLACE_MOTION.graspRadius;
    const pz = Math.max(c.a[2], PICK_PLACE_MOTION.minZ);
    for (let i = 0; i < n; i++) {
      const d = Math.hypot(buf[i * 3]! - c.a[0], buf[i * 3 + 1]! - c.a[1], buf[i * 3 + 2]! - pz);
      if (d <= gd) {
        gd = d;
        gi = i;
      }
    }
    if (gi >= 0) dragVertex(buf, n, gi, c.b[0], c.b[1], seg);
    return occupancyIoU2DRotationSearch(resamplePolyline(buf, n, ROPE_METRICS.samples, 0, false), goal, {
      cellSize: ROPE_METRICS.cellSize,
      splatRadius: ROPE_METRICS.splatRadius,
    }).iou;
  });
}

/** @default nodes 24 */
interface RopeCurveOptions {
  /** Farthest-point nodes the centre line is threaded through. */
  nodes?: number;
}

/**
 * The rope's centre line from its cloud (table frame), as an ordered polyline [k, 3] (z: the nodes'
 * mean height). Farthest-point nodes spread evenly over the rope; their minimum spanning tree follows the
 * rope, since neighbours along it are closer than anything across; the tree's longest path is the centre
 * line, and each end is carried out to the farthest cloud point beyond it, so the line spans the whole
 * rope. Side branches (points across a thick rope) drop out. A rope that touches itself can be threaded
 * the wrong way at the touch; the line is then shorter than the rope, which callers can check.
 */
function ropeCenterLine(points: Float32Array, opts: RopeCurveOptions = {}): Float64Array {
  const k0 = opts.nodes ?? 24;
  if (!Number.isInteger(k0) || k0 < 2) throw new FieldError('nodes', 'an integer >= 2', k0);
  const n = points.length / 3;
  if (n < 2) throw new FieldError('points', 'at least 2 points', n);
  // Stray depth points would become the tree's longest branch: drop them first.
  const kept = n > 8 ? removeStatisticalOutliers(points, { neighbors: 8, stdRatio: 2 }).points : points;
  const { points: nodes } = farthestPointSample(kept, { k: k0, start: 0 });
  const k = nodes.length / 3;
  // Prim's MST on the nodes' xy distances (k is small: O(k²) is the simple, fast choice).
  const parent = new Int32Array(k).fill(-1);
  const best = new Float64Array(k).fill(Infinity);
  const inTree = new Uint8Array(k);
  best[0] = 0;
  const adj: number[][] = Array.from({ length: k }, () => []);
  for (let it = 0; it < k; it++) {
    let u = -1;
    for (let i = 0; i < k; i++) if (!inTree[i] && (u < 0 || best[i]! < best[u]!)) u = i;
    inTree[u] = 1;
    if (parent[u]! >= 0) {
      adj[u]!.push(parent[u]!);
      adj[parent[u]!]!.push(u);
    }
    for (let v = 0; v < k; v++) {
      if (inTree[v]) continue;
      const d = Math.hypot(nodes[u * 3]! - nodes[v * 3]!, nodes[u * 3 + 1]! - nodes[v * 3 + 1]!);
      if (d < best[v]!) {
        best[v] = d;
        parent[v] = u;
      }
    }
  }
  const far = (from: number): { end: number; prev: Int32Array } => {
    const dist = new Float64Array(k).fill(-1);
    const prev = new Int32Array(k).fill(-1);
    const stack = [from];
    dist[from] = 0;
    let end = from;
    while (stack.length) {
      const u = stack.pop()!;
      if (dist[u]! > dist[end]!) end = u;
      for (const v of adj[u]!) {
        if (dist[v]! >= 0) continue;
        dist[v] = dist[u]! + Math.hypot(nodes[u * 3]! - nodes[v * 3]!, nodes[u * 3 + 1]! - nodes[v * 3 + 1]!);
        prev[v] = u;
        stack.push(v);
      }
    }
    return { end, prev };
  };
  const a = far(0).end;
  const { end: b, prev } = far(a);
  const path: number[] = [];
  for (let u = b; u >= 0; u = prev[u]!) path.push(u);
  let z = 0;
  for (const u of path) z += nodes[u * 3 + 2]!;
  z /= path.length;
  const out = new Float64Array((path.length + 2) * 3);
  for (let i = 0; i < path.length; i++) {
    out[(i + 1) * 3] = nodes[path[i]! * 3]!;
    out[(i + 1) * 3 + 1] = nodes[path[i]! * 3 + 1]!;
    out[(i + 1) * 3 + 2] = z;
  }
  // Each end: the farthest cloud point beyond the end node, along the last segment's direction.
  for (const [slot, e, nb] of [
    [0, 1, 2],
    [path.length + 1, path.length, path.length - 1],
  ] as const) {
    const ex = out[e * 3]!, ey = out[e * 3 + 1]!;
    let dx = path.length > 1 ? ex - out[nb * 3]! : 1;
    let dy = path.length > 1 ? ey - out[nb * 3 + 1]! : 0;
    const dn = Math.hypot(dx, dy) || 1;
    dx /= dn;
    dy /= dn;
    const reach = path.length > 1 ? 1.5 * Math.hypot(ex - out[nb * 3]!, ey - out[nb * 3 + 1]!) : Infinity;
    let t = 0;
    for (let i = 0; i < kept.length / 3; i++) {
      const px = kept[i * 3]! - ex, py = kept[i * 3 + 1]! - ey;
      const along = px * dx + py * dy;
      if (along > t && Math.hypot(px, py) <= reach && Math.abs(px * dy - py * dx) <= 0.5 * reach) t = along;
    }
    out[slot * 3] = ex + dx * t;
    out[slot * 3 + 1] = ey + dy * t;
    out[slot * 3 + 2] = z;
  }
  return out;
}

/** Length of a polyline [n, 3] in xy. */
function polylineLengthXY(p: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let i = 1; i < n; i++) s += Math.hypot(p[i * 3]! - p[(i - 1) * 3]!, p[i * 3 + 1]! - p[(i - 1) * 3 + 1]!);
  return s;
}

const stats = { truth: [] as number[], verts: [] as number[], cloud: [] as number[], sim: [] as number[], reward: [] as number[], combo: [] as number[] };
const corr = { verts: [] as number[], cloud: [] as number[], sim: [] as number[] };
const absErr = { verts: [] as number[], cloud: [] as number[], sim: [] as number[] };
const lengths: number[] = [];
/** Each value's z-score among the finite ones (a state's candidates), so two scorers can be added. */
function zScores(v: number[]): number[] {
  const f = v.filter(Number.isFinite);
  const m = f.reduce((s, x) => s + x, 0) / f.length;
  const sd = Math.sqrt(f.reduce((s, x) => s + (x - m) ** 2, 0) / f.length) || 1;
  return v.map((x) => (x - m) / sd);
}
function spearman(x: number[], y: number[]): number {
  const idx = x.map((_, i) => i).filter((i) => Number.isFinite(x[i]) && Number.isFinite(y[i]));
  const rank = (v: number[]) => {
    const o = [...idx].sort((p, q) => v[p]! - v[q]!);
    const r = new Map<number, number>();
    o.forEach((i, k) => r.set(i, k));
    return idx.map((i) => r.get(i)!);
  };
  const rx = rank(x), ry = rank(y);
  const m = (idx.length - 1) / 2;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < idx.length; i++) {
    sxy += (rx[i]! - m) * (ry[i]! - m);
    sxx += (rx[i]! - m) ** 2;
  }
  return sxy / (sxx || 1);
}
const t0 = performance.now();
const { result } = await rollout(world, decider, {
  episodes: Number(a.episodes),
  seed: Number(a.seed),
  quiet: true,
  hooks: {
    choose: async (s, d, rng) => {
      const cands = d.candidates.map((c) => c.primitive);
      const truth = (await scoreCandidatesInWorld(world, cands)).map((x) => x.score);
      const verts = Float64Array.from(world.vertices());
      const pv = predict(verts, ROPE.vertices, cands, ROPE.segment);
      const raw = ropeCenterLine(s.obs.points);
      const rawN = raw.length / 3;
      const len = polylineLengthXY(raw, rawN);
      lengths.push(len / world.ropeLength);
      const line = Float64Array.from(resamplePolyline(raw, rawN, M, 0, false));
      for (let i = 0; i < M; i++) line[i * 3 + 2] = ROPE.radius;
      const pc = predict(line, M, cands, len / (M - 1));
      const laid =
        a.lay === 'verts' ? verts
        : a.lay === 'jitter' ? verts.map((x, i) => (i % 3 === 2 ? x : x + layRng.normal(0, 0.003)))
        : a.lay === 'shift' ? alongPolyline(verts, ROPE.vertices, layRng.uniform(-0.5, 0.5) * ROPE.segment, ROPE.segment, ROPE.vertices)
        : a.lay === 'cloud-length' ? alongPolyline(raw, rawN, (len - world.ropeLength) / 2, ROPE.segment, ROPE.vertices)
        : a.lay === 'cloud-fit' ? fitChain(alongPolyline(raw, rawN, (len - world.ropeLength) / 2, ROPE.segment, ROPE.vertices), s.obs.points, ROPE.segment)
        : resamplePolyline(raw, rawN, ROPE.vertices, 0, false);
      scratch.layRope(Float64Array.from({ length: ROPE.vertices * 2 }, (_, i) => laid[Math.floor(i / 2) * 3 + (i % 2)]!));
      const ps = (await scoreCandidatesInWorld(scratch, cands)).map((x) => x.score);
      truth.forEach((t, i) => {
        if (!Number.isFinite(t)) return;
        if (Number.isFinite(pv[i])) absErr.verts.push(Math.abs(pv[i]! - t));
        if (Number.isFinite(pc[i])) absErr.cloud.push(Math.abs(pc[i]! - t));
        if (Number.isFinite(ps[i])) absErr.sim.push(Math.abs(ps[i]! - t));
      });
      corr.verts.push(spearman(truth, pv));
      corr.cloud.push(spearman(truth, pc));
      corr.sim.push(spearman(truth, ps));
      const rw = d.candidates.map((c, i) => (Number.isFinite(pc[i]) && c.score !== undefined ? c.score - (c.scoreStd ?? 0) : -Infinity));
      const zr = zScores(rw), zc = zScores(pc);
      const combo = zr.map((x, i) => x + zc[i]!);
      const pickR = chooseExecuted('best', rw, rng);
      const pickX = chooseExecuted('best', combo, rng);
      const pickT = chooseExecuted('best', truth, rng);
      const pickV = chooseExecuted('best', pv, rng);
      const pickC = chooseExecuted('best', pc, rng);
      const pickS = chooseExecuted('best', ps, rng);
      for (const [k, p] of [['truth', pickT], ['verts', pickV], ['cloud', pickC], ['sim', pickS], ['reward', pickR], ['combo', pickX]] as const) {
        const sh = shareOfBestGain(truth, p);
        if (sh !== null) stats[k].push(sh);
      }
      return a.choose === 'truth' ? pickT : a.choose === 'verts' ? pickV : a.choose === 'cloud' ? pickC : a.choose === 'combo' ? pickX : a.choose === 'sim' ? pickS : d.chosen;
    },
  },
});
const mean = (v: number[]) => Number((v.reduce((s, x) => s + x, 0) / Math.max(1, v.length)).toFixed(3));
console.log(
  JSON.stringify({
    choose: a.choose, lay: a.lay, candidates: Number(a.candidates), episodes: result.episodes, successes: Math.round(result.success_rate * result.episodes),
    iou: result.metrics.iou, decisions: stats.truth.length,
    share: { verts: mean(stats.verts), cloud: mean(stats.cloud), sim: mean(stats.sim), reward: mean(stats.reward), combo: mean(stats.combo) }, spearman: { verts: mean(corr.verts), cloud: mean(corr.cloud), sim: mean(corr.sim) }, iouMAE: { verts: mean(absErr.verts), cloud: mean(absErr.cloud), sim: mean(absErr.sim) },
    lineLength: { mean: mean(lengths), min: Math.min(...lengths) },
    wall_s: Math.round((performance.now() - t0) / 1000),
  }),
);
world.dispose();
scratch.dispose();
decider.dispose();
