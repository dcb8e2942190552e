// Building queue items from the loop's records (clouds, candidates, clips) and the active-ordering score.
import type { Candidate } from '../core/episode.ts';
import type { WorkspaceBox } from '../core/geometry.ts';
import type { TaskGoal } from '../core/goal.ts';
import type { PointCloud } from '../core/pointcloud.ts';
import type { PrimitiveKind } from '../core/primitive.ts';
import {
  cloudToData,
  type CompareItem,
  type RankItem,
  type Segment,
} from '../core/protocol.ts';
import type { TaskName } from '../core/task.ts';
import type { Vec3 } from '../core/geometry.ts';

/** A rank item for one state: its observed cloud (table frame) and the candidates proposed there. */
export function makeRankItem(o: {
  stateId: string;
  task: TaskName;
  primitive: PrimitiveKind;
  cloud: PointCloud;
  candidates: Candidate[];
  workspace?: WorkspaceBox;
  goal?: TaskGoal;
  id?: string;
}): RankItem {
  const item: RankItem = {
    kind: 'rank',
    id: o.id ?? `rank:${o.stateId}`,
    stateId: o.stateId,
    task: o.task,
    primitive: o.primitive,
    cloud: cloudToData(o.cloud.points, o.cloud.rgb),
    candidates: o.candidates.map((c) => ({ ...c })),
  };
  if (o.workspace) item.workspace = o.workspace;
  if (o.goal) item.goal = o.goal;
  return item;
}

/** A trajectory segment from its frames: the object cloud and gripper position at each time (s). */
export function makeSegment(o: {
  id: string;
  task: TaskName;
  frames: { t: number; cloud: PointCloud; gripper?: Vec3; grasp?: boolean }[];
}): Segment {
  return {
    id: o.id,
    task: o.task,
    frames: o.frames.map((f) => {
      const fr: Segment['frames'][number] = { t: f.t, cloud: cloudToData(f.cloud.points, f.cloud.rgb) };
      if (f.gripper) fr.gripper = f.gripper;
      if (f.grasp !== undefined) fr.grasp = f.grasp;
      return fr;
    }),
  };
}

/** A compare item for two segments of the same task; its id is `compare:<left>|<right>` unless given. */
export function makeCompareItem(o: { left: Segment; right: Segment; workspace?: WorkspaceBox; goal?: TaskGoal; id?: string }): CompareItem {
  const item: CompareItem = {
    kind: 'compare',
    id: o.id ?? `compare:${o.left.id}|${o.right.id}`,
    task: o.left.task,
    left: o.left,
    right: o.right,
  };
  if (o.workspace) item.workspace = o.workspace;
  if (o.goal) item.goal = o.goal;
  return item;
}

/**
 * How much reward models disagree about one state's candidates, in [0, 1]: the fraction of
 * (model pair, candidate pair) combinations that order the two candidates differently.
 * `scores[m][c]` is model m's score of candidate c. Used as the queue's active-ordering key.
 */
export function rankDisagreement(scores: ArrayLike<number>[]): number {
  const m = scores.length;
  if (m < 2) return 0;
  const n = scores[0]!.length;
  let discordant = 0;
  let total = 0;
  for (let a = 0; a < m; a++)
    for (let b = a + 1; b < m; b++) {
      const sa = scores[a]!;
      const sb = scores[b]!;
      for (let i = 0; i < n; i++)
        for (let j = i + 1; j < n; j++) {
          total++;
          if (Math.sign(sa[i]! - sa[j]!) !== Math.sign(sb[i]! - sb[j]!)) discordant++;
        }
    }
  return total ? discordant / total : 0;
}

/** Disagreement of reward models about a segment pair, in [0, 1]: 2 × std of their P(left better). */
export function pairDisagreement(pLeft: ArrayLike<number>): number {
  const m = pLeft.length;
  if (m < 2) return 0;
  let mean = 0;
  for (let i = 0; i < m; i++) mean += pLeft[i]!;
  mean /= m;
  let v = 0;
  for (let i = 0; i < m; i++) v += (pLeft[i]! - mean) ** 2;
  return Math.min(1, 2 * Math.sqrt(v / m));
}
