// The candidate oracle: scores each candidate by trying it from a saved sim state and measuring the task.
import type { Metrics } from '../core/episode.ts';
import type { Primitive } from '../core/primitive.ts';
import { PrimitiveRefusedError, type World } from '../core/world.ts';

/** One task number from metrics, higher is better: IoU, else coverage, else −Chamfer, else −EMD. */
export function taskScore(m: Metrics): number {
  if (m.iou !== undefined) return m.iou;
  if (m.coverage !== undefined) return m.coverage;
  if (m.chamfer !== undefined) return -m.chamfer;
  if (m.emd !== undefined) return -m.emd;
  return NaN;
}

export interface OracleScore {
  /** Task score after the candidate ran; −Infinity when the world refused it. */
  score: number;
  /** Score gain over the state before; −Infinity when refused. */
  gain: number;
  success: boolean;
  refused?: string;
}

/** @default metric taskScore; successBonus 0 (added to score when the task is solved) */
export interface OracleOptions {
  metric?: (m: Metrics) => number;
  successBonus?: number;
}

/**
 * Tries every candidate from the current state of `world` (saveState → execute → metrics →
 * restoreState) and leaves the world exactly as it found it. Candidates run one after another.
 */
export async function scoreCandidatesInWorld(world: World, candidates: Primitive[], opts: OracleOptions = {}): Promise<OracleScore[]> {
  const metric = opts.metric ?? taskScore;
  const bonus = opts.successBonus ?? 0;
  const saved = world.saveState();
  const before = metric(world.metrics());
  const out: OracleScore[] = [];
  try {
    for (const c of candidates) {
      const why = world.checkPrimitive(c);
      if (why !== null) {
        out.push({ score: -Infinity, gain: -Infinity, success: false, refused: why });
        continue;
      }
      try {
        await world.execute(c);
        const success = world.success();
        const s = metric(world.metrics()) + (success ? bonus : 0);
        out.push({ score: s, gain: s - before, success });
      } catch (e) {
        if (!(e instanceof PrimitiveRefusedError)) throw e;
        out.push({ score: -Infinity, gain: -Infinity, success: false, refused: e.message });
      } finally {
        world.restoreState(saved);
      }
    }
  } finally {
    world.restoreState(saved);
  }
  return out;
}
