// Export of submitted answers as the preference records of src/core/preference.ts (JSONL, one record a line).
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import {
  RankingSchema,
  SegmentPairSchema,
  type Ranking,
  type SegmentPair,
} from '../core/preference.ts';
import type { Answer } from '../core/protocol.ts';
import type { Store } from './store.ts';

export interface ExportOptions {
  /** Include answers to gold items (they are human labels too). @default true */
  includeGold?: boolean;
  /** Only answers stored at or after this time, ms since the epoch. */
  since?: number;
  /** Only this kind of record. */
  kind?: 'ranking' | 'segment_pair';
}

/** Rank items with a submitted answer, in queue order (the same SQL on both engines). */
export const RANKED_ITEMS_SQL = `SELECT i.payload FROM items i WHERE i.kind = 'rank'
  AND EXISTS (SELECT 1 FROM answers a WHERE a.item_id = i.id AND a.status = 'submitted') ORDER BY i.seq`;

export interface ExportRow {
  item_id: string;
  value: string;
  created_at: number;
  assigned_at: number | null;
  duration_ms: number | null;
  client: string | null;
  swapped: number;
  annotator: string;
  kind: 'rank' | 'compare';
  ref_a: string;
  ref_b: string | null;
  candidate_count: number | null;
}

/**
 * The store's submitted (not skipped, not undone) answers as Ranking / SegmentPair records,
 * oldest first, each validated against its schema. source is always 'human'.
 */
export function* exportRecords(store: Store, opts: ExportOptions = {}): Generator<Ranking | SegmentPair> {
  const rows = store.db
    .prepare(
      `SELECT a.item_id, a.value, a.created_at, a.assigned_at, a.duration_ms, a.client, a.swapped, u.name AS annotator, i.kind, i.ref_a, i.ref_b, i.candidate_count
       FROM answers a JOIN items i ON i.id = a.item_id JOIN users u ON u.id = a.user_id
       WHERE a.status = 'submitted' AND a.created_at >= @since AND (@gold = 1 OR i.gold IS NULL)
         AND (@kind IS NULL OR i.kind = @kind)
       ORDER BY a.id`,
    )
    .iterate({
      since: opts.since ?? 0,
      gold: opts.includeGold === false ? 0 : 1,
      kind: opts.kind === 'ranking' ? 'rank' : opts.kind === 'segment_pair' ? 'compare' : null,
    }) as IterableIterator<ExportRow>;
  for (const r of rows) yield exportRow(r);
}

/** One exported answer row (columns as selected above; either engine) as its record. */
export function exportRow(r: ExportRow): Ranking | SegmentPair {
  const a = JSON.parse(r.value) as Answer;
  const annotation: Record<string, unknown> = {
    itemId: r.item_id,
    assignedAt: r.assigned_at,
    durationMs: r.duration_ms,
    client: r.client,
    shownSwapped: r.swapped === 1,
  };
  if (a.kind === 'compare' && a.strength) annotation.strength = a.strength;
  if (a.flag) annotation.flag = a.flag;
  if (a.kind === 'rank') {
    const rec: Record<string, unknown> = {
      kind: 'ranking',
      stateId: r.ref_a,
      candidateCount: r.candidate_count,
      groups: a.groups,
      notComparable: a.notComparable,
      idealBeatsAll: a.idealBeatsAll,
      annotator: r.annotator,
      source: 'human',
      time: r.created_at,
      annotation,
    };
    if (a.ideal) rec.ideal = a.ideal;
    return RankingSchema.parse(rec);
  } else {
    return SegmentPairSchema.parse({
      kind: 'segment_pair',
      left: r.ref_a,
      right: r.ref_b,
      label: a.label,
      annotator: r.annotator,
      source: 'human',
      time: r.created_at,
      annotation,
    });
  }
}

/**
 * Writes the records to `path` as JSONL, atomically (a temp file renamed into place, so a reader never
 * sees half a file). Returns the counts per kind.
 */
export function exportJsonl(store: Store, path: string, opts: ExportOptions = {}): { rankings: number; segmentPairs: number } {
  return writeRecordsJsonl(exportRecords(store, opts), path);
}

/** Writes records to `path` as JSONL, atomically (as exportJsonl; records from either engine). */
export function writeRecordsJsonl(records: Iterable<Ranking | SegmentPair>, path: string): { rankings: number; segmentPairs: number } {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  const counts = { rankings: 0, segmentPairs: 0 };
  try {
    let buf = '';
    for (const rec of records) {
      if (rec.kind === 'ranking') counts.rankings++;
      else counts.segmentPairs++;
      buf += `${JSON.stringify(rec)}\n`;
      if (buf.length > 1 << 20) {
        writeSync(fd, buf);
        buf = '';
      }
    }
    if (buf) writeSync(fd, buf);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing to remove */
    }
    throw e;
  }
  return counts;
}
