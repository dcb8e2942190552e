// Fills the annotation queue from a World: states with expert and perturbed candidates to rank, and clip pairs to compare.
import type { Candidate } from '../core/episode.ts';
import type { Vec3 } from '../core/geometry.ts';
import type { Primitive } from '../core/primitive.ts';
import { Rng } from '../core/rng.ts';
import type { World } from '../core/world.ts';
import { makeCompareItem, makeRankItem, makeSegment } from './items.ts';
import type { RankAnswer } from '../core/protocol.ts';
import type { PreferenceStore } from './preference-store.ts';

export interface SeedOptions {
  /** States to rank. @default 4 */
  states?: number;
  /** Segment pairs to compare. @default 2 */
  pairs?: number;
  /** Candidates per state (half from the scripted expert, the rest perturbed or random). @default 6 */
  candidates?: number;
  /** Clip frames per segment. @default 12 */
  framesPerSegment?: number;
  minAnnotations?: number;
  seed?: number;
  /**
   * Make the first `gold` states and the first `gold` pairs gold items, their known answer given by
   * `oracle`. @default 0
   */
  gold?: number;
  /**
   * The scripted oracle: a task score (higher better) for each primitive tried from the world's
   * current state, leaving the state unchanged (e.g. preference/candidate-oracle's gain). Needed with `gold`.
   */
  oracle?: (w: World, prims: Primitive[]) => Promise<number[]>;
}

/** Scores closer than this are a tie in a gold answer. */
const GOLD_TIE = 1e-3;

/** The oracle's ranking as a gold answer: best first, equal scores (within GOLD_TIE) in one group. */
export function goldRanking(scores: readonly number[]): RankAnswer {
  const order = scores.map((v, i) => ({ v, i })).sort((a, b) => b.v - a.v || a.i - b.i);
  const groups: number[][] = [];
  let last = Number.NaN;
  for (const { v, i } of order) {
    if (groups.length && (v === last || Math.abs(v - last) < GOLD_TIE)) groups[groups.length - 1]!.push(i);
    else groups.push([i]);
    last = v;
  }
  return { kind: 'rank', groups, notComparable: [], idealBeatsAll: false };
}

/** A random primitive for the world: point a on the object's cloud, b anywhere in the workspace's lower part. */
function randomPrimitive(w: World, cloud: Float32Array, rng: Rng): Primitive {
  const n = Math.floor(cloud.length / 3);
  const i = rng.int(Math.max(1, n));
  const a: Vec3 = n ? [cloud[i * 3]!, cloud[i * 3 + 1]!, cloud[i * 3 + 2]!] : [0, 0, 0];
  const { min, max } = w.workspace;
  const b: Vec3 = [rng.uniform(min[0] * 0.7, max[0] * 0.7), rng.uniform(min[1] * 0.7, max[1] * 0.7), a[2]];
  return { kind: w.primitive, a, b };
}

function perturb(p: Primitive, rng: Rng, sigma: number): Primitive {
  const j = (v: Vec3): Vec3 => [v[0] + rng.normal(0, sigma), v[1] + rng.normal(0, sigma), v[2]];
  return { kind: p.kind, a: j(p.a), b: j(p.b) };
}

/** Candidates for the current state: expert actions, perturbed copies, then random ones; all pass `checkPrimitive`. */
function candidatesFor(w: World, k: number, rng: Rng): Primitive[] {
  const cloud = w.observe({ seed: rng.nextU32() }).points;
  const out: Primitive[] = w.expertActions(Math.ceil(k / 2), rng).slice(0, Math.ceil(k / 2));
  let tries = 0;
  while (out.length < k && tries++ < 200) {
    const p = out.length && rng.next() < 0.5 ? perturb(out[rng.int(out.length)]!, rng, 0.05) : randomPrimitive(w, cloud, rng);
    if (w.checkPrimitive(p) === null) out.push(p);
  }
  return rng.shuffle(out);
}

/** Runs `p` and records the clip: the cloud every few physics frames and an approximate gripper path. */
async function recordSegment(w: World, id: string, p: Primitive, frames: number) {
  const rec: { t: number; cloud: ReturnType<World['observe']> }[] = [{ t: 0, cloud: w.observe() }];
  let k = 0;
  // The World seam reports frame times but not the gripper pose; ~160 frames per primitive in sim.
  const every = Math.max(1, Math.round(160 / frames));
  const r = await w.execute(p, {
    onFrame: (t) => {
      if (++k % every === 0) rec.push({ t, cloud: w.observe() });
    },
  });
  rec.push({ t: Math.max(r.duration, (rec.at(-1)?.t ?? 0) + 0.01), cloud: w.observe() });
  const T = rec.at(-1)!.t || 1;
  const lift = 0.08;
  // Gripper path of the primitive (approach a, lift, carry to b, lower), parameterised by time.
  const path: Vec3[] = [
    [p.a[0], p.a[1], p.a[2] + lift],
    p.a,
    [p.a[0], p.a[1], p.a[2] + lift],
    [p.b[0], p.b[1], p.b[2] + lift],
    p.b,
  ];
  const at = (u: number): Vec3 => {
    const s = Math.min(path.length - 1 - 1e-9, Math.max(0, u * (path.length - 1)));
    const i = Math.floor(s);
    const f = s - i;
    const x = path[i]!, y = path[i + 1]!;
    return [x[0] + (y[0] - x[0]) * f, x[1] + (y[1] - x[1]) * f, x[2] + (y[2] - x[2]) * f];
  };
  return makeSegment({
    id,
    task: w.task,
    frames: rec.map((f) => ({ t: f.t, cloud: f.cloud, gripper: at(f.t / T), grasp: f.t / T > 0.25 && f.t / T < 0.75 })),
  });
}

/** Adds rank and compare items made in `world` (it is reset); returns how many of each were added. */
export async function seedFromWorld(store: Pick<PreferenceStore, 'item' | 'addItem'>, w: World, o: SeedOptions = {}): Promise<{ rank: number; compare: number }> {
  const rng = new Rng(o.seed ?? 0);
  const minAnnotations = o.minAnnotations ?? 3;
  const gold = o.gold ?? 0;
  if (!Number.isInteger(gold) || gold < 0) throw new Error(`gold: expected an integer ≥ 0, received ${gold}`);
  if (gold > 0 && !o.oracle) throw new Error('gold: needs an oracle (the scripted teacher that knows the answers)');
  let rank = 0;
  let compare = 0;
  for (let s = 0; s < (o.states ?? 4); s++) {
    const seed = (o.seed ?? 0) * 1000 + s;
    w.reset(seed);
    const prims = candidatesFor(w, o.candidates ?? 6, rng);
    const cands: Candidate[] = prims.map((primitive) => ({ primitive }));
    const item = makeRankItem({ stateId: `${w.task}:seed${seed}:step0`, task: w.task, primitive: w.primitive, cloud: w.observe(), candidates: cands, workspace: w.workspace, goal: w.taskGoal?.() });
    if (await store.item(item.id)) continue;
    const known = rank < gold ? goldRanking(await o.oracle!(w, prims)) : undefined;
    await store.addItem(item, known ? { minAnnotations, gold: known } : { minAnnotations });
    rank++;
  }
  for (let q = 0; q < (o.pairs ?? 2); q++) {
    const seed = (o.seed ?? 0) * 1000 + 500 + q;
    w.reset(seed);
    const start = w.saveState();
    const [good] = w.expertActions(1, rng);
    const other = candidatesFor(w, 4, rng).find((p) => JSON.stringify(p) !== JSON.stringify(good)) ?? randomPrimitive(w, w.observe().points, rng);
    const scores = compare < gold ? await o.oracle!(w, [good ?? other, other]) : null;
    // Neutral ids: the clip names must not tell the annotator which one the expert made.
    const expertFirst = rng.next() < 0.5;
    const sa = await recordSegment(w, `${w.task}:seed${seed}:${expertFirst ? 'a' : 'b'}`, good ?? other, o.framesPerSegment ?? 12);
    w.restoreState(start);
    const sb = await recordSegment(w, `${w.task}:seed${seed}:${expertFirst ? 'b' : 'a'}`, other, o.framesPerSegment ?? 12);
    const [left, right] = expertFirst ? [sa, sb] : [sb, sa];
    const item = makeCompareItem({ left, right, workspace: w.workspace, goal: w.taskGoal?.() });
    if (await store.item(item.id)) continue;
    if (scores) {
      // scores[0] is the expert's clip (sa); left is sa when expertFirst.
      const [sExpert, sOther] = scores as [number, number];
      const [sl, sr] = expertFirst ? [sExpert, sOther] : [sOther, sExpert];
      const label = Math.abs(sl - sr) < GOLD_TIE ? 'tie' : sl > sr ? 'left' : 'right';
      await store.addItem(item, { minAnnotations, gold: { kind: 'compare', label } });
    } else await store.addItem(item, { minAnnotations });
    compare++;
  }
  return { rank, compare };
}
