// Checks of an answer against its item, and how a compare item is shown on swapped sides.
import { workspaceViolation, type WorkspaceBox } from '../core/geometry.ts';
import { PRIMITIVE_POINT_NAMES } from '../core/primitive.ts';
import type { Answer, Item, ItemKind } from '../core/protocol.ts';
import { StoreError } from './store-error.ts';

/**
 * Slack of the watch-time check, ms: the browser starts its clock when it shows the item, a little
 * after the server stored the previous answer, so a browser that waited exactly is never refused.
 */
export const WATCH_TOLERANCE_MS = 250;

/** Seconds one clip plays (first to last frame). */
export function clipSeconds(seg: { frames: { t: number }[] }): number {
  return Math.max(0, seg.frames.at(-1)!.t - seg.frames[0]!.t);
}

/** The label in the item's order for a label given on swapped sides. */
export function unswapLabel(l: 'left' | 'right' | 'tie' | 'cant_tell'): 'left' | 'right' | 'tie' | 'cant_tell' {
  return l === 'left' ? 'right' : l === 'right' ? 'left' : l;
}

/** An item's JSON as sent to the annotator: a compare item with its clips swapped when `swapped`. */
export function presentItem(payload: string, swapped: boolean): string {
  if (!swapped) return payload;
  const it = JSON.parse(payload) as Item;
  if (it.kind !== 'compare') return payload;
  return JSON.stringify({ ...it, left: it.right, right: it.left });
}

/**
 * Checks an answer against its item: same kind, indices in range, each candidate placed at most once,
 * an ideal action of the item's primitive inside its workspace.
 */
export function checkAnswerFits(a: Answer, kind: ItemKind, candidateCount: number | null, what: string, primitive?: string | null, workspace?: WorkspaceBox | null): void {
  if (a.kind !== kind) throw new StoreError('invalid', `${what}.kind`, `expected ${kind} (the item's kind), received ${a.kind}`);
  if (a.kind !== 'rank') return;
  const n = candidateCount ?? 0;
  const seen = new Set<number>();
  const check = (v: number, field: string) => {
    if (v >= n) throw new StoreError('invalid', field, `expected a candidate index in [0, ${n - 1}], received ${v}`);
    if (seen.has(v)) throw new StoreError('invalid', field, `candidate ${v} is placed twice`);
    seen.add(v);
  };
  a.groups.forEach((g, gi) => g.forEach((v, vi) => check(v, `${what}.groups.${gi}.${vi}`)));
  a.notComparable.forEach((v, vi) => check(v, `${what}.notComparable.${vi}`));
  if (a.ideal && primitive && a.ideal.kind !== primitive)
    throw new StoreError('invalid', `${what}.ideal.kind`, `expected ${primitive} (the item's primitive), received ${a.ideal.kind}`);
  if (a.ideal && workspace) {
    const [na, nb] = PRIMITIVE_POINT_NAMES[a.ideal.kind];
    for (const [key, name] of [['a', na], ['b', nb]] as const) {
      const v = workspaceViolation(a.ideal[key], workspace, name);
      if (v) throw new StoreError('invalid', `${what}.ideal.${key}`, v);
    }
  }
}
