// The loop's stage interfaces (Propose, Score), so select/stack/ros can wire any implementation.
import type { Candidate } from './episode.ts';
import type { PointCloud } from './pointcloud.ts';
import type { Primitive } from './primitive.ts';

/** Proposes N candidate primitives (table frame) for an observed object cloud (table frame). */
export interface ActionProposer {
  readonly name: string;
  propose(cloud: PointCloud, n: number, seed: number): Promise<Primitive[]>;
}

/** Scores candidates for a state; higher is better. Optional std for uncertainty-aware selection. */
export interface CandidateScorer {
  readonly name: string;
  score(cloud: PointCloud, candidates: Primitive[], seed: number): Promise<{ score: number; std?: number }[]>;
}

/** A scored, filtered decision: every candidate with its verdict, and the chosen index or why none. */
export interface Decision {
  candidates: Candidate[];
  chosen: number | null;
  holdReason?: string;
}
