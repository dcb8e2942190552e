// Recorded candidate states to a remote server's queue as rank items (`label --push`), through ItemPushClient.
import { createHash } from 'node:crypto';
import type { TaskGoal } from '../core/goal.ts';
import type { RankItem } from '../core/protocol.ts';
import { FAMILY_PRIMITIVE, taskFamily } from '../core/task.ts';
import type { CandidateState } from '../preference/dataset.ts';
import type { ItemPushClient, PushSummary } from '../store/item-push-client.ts';
import { makeRankItem } from '../store/items.ts';

/**
 * A state as a rank item whose state id (and item id `rank:<stateId>`) ends in a hash of its content:
 * the same state pushed again (a rerun of a seeded collection) is the same item, stored once, while
 * another machine's state of the same name (`rope-circle/s0/e0/t0`) is a different one.
 */
export function rankItemOfState(s: CandidateState, goal?: TaskGoal): RankItem {
  const item = makeRankItem({
    stateId: s.stateId,
    task: s.task,
    primitive: FAMILY_PRIMITIVE[taskFamily(s.task)],
    cloud: s.cloud,
    // Primitives only: oracle scores would tell the annotator the answer.
    candidates: s.candidates.map((primitive) => ({ primitive })),
    workspace: s.workspace,
    goal,
  });
  const hash = createHash('sha256').update(JSON.stringify({ ...item, id: '', stateId: '' })).digest('hex').slice(0, 12);
  const stateId = `${s.stateId}@${hash}`;
  return { ...item, id: `rank:${stateId}`, stateId };
}

/**
 * Pushes every state with two or more candidates (the others are counted in `skipped`), waiting for
 * room while the client's queue is full, then closes the client after at most `deadlineMs` of flushing.
 */
export async function pushStates(
  client: ItemPushClient,
  states: readonly CandidateState[],
  o: { deadlineMs: number; goal?: TaskGoal },
): Promise<PushSummary & { skipped: number }> {
  let skipped = 0;
  for (const [k, s] of states.entries()) {
    if (s.candidates.length < 2) {
      skipped++;
      continue;
    }
    const item = rankItemOfState(s, o.goal);
    if (client.push(item)) continue;
    await client.flush(o.deadlineMs);
    if (client.push(item)) continue;
    // No room within the deadline (server down, or sending stopped): what is left is counted pending.
    const left = await client.close(0);
    return { ...left, pending: left.pending + states.length - k, skipped };
  }
  return { ...(await client.close(o.deadlineMs)), skipped };
}
