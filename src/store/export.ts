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
  /**
   * Also the annotators' own answers to items a reviewer settled, marked `annotation.original`
   * (by default a settled item gives only its settled record). @default false
   */
  originals?: boolean;
}

/**
 * The submitted answers the export reads (either engine; `$1`… are since, gold, kind, originals).
 * Answers to a settled item are left out unless originals are asked for, and are marked then.
 */
export const EXPORT_ANSWERS_SQL = `SELECT a.item_id, a.value, a.created_at, a.assigned_at, a.duration_ms, a.client, a.swapped, u.name AS annotator,
         i.kind, i.ref_a, i.ref_b, i.candidate_count,
         CASE WHEN EXISTS (SELECT 1 FROM settlements s WHERE s.item_id = a.item_id AND s.replaced_at IS NULL) THEN 1 ELSE 0 END AS settled
  FROM answers a JOIN items i ON i.id = a.item_id JOIN users u ON u.id = a.user_id
  WHERE a.status = 'submitted' AND a.created_at >= $1 AND ($2 = 1 OR i.gold IS NULL) AND (CAST($3 AS TEXT) IS NULL OR i.kind = CAST($3 AS TEXT))
    AND ($4 = 1 OR NOT EXISTS (SELECT 1 FROM settlements s WHERE s.item_id = a.item_id AND s.replaced_at IS NULL))
  ORDER BY a.id`;

/** The parameters of EXPORT_ANSWERS_SQL for `opts`. */
export function exportParams(opts: ExportOptions): [number, number, string | null, number] {
  return [
    opts.since ?? 0,
    opts.includeGold === false ? 0 : 1,
    opts.kind === 'ranking' ? 'rank' : opts.kind === 'segment_pair' ? 'compare' : null,
    opts.originals ? 1 : 0,
  ];
}

/** The current settlement of every settled item, in the order they were settled (either engine). */
export const SETTLED_EXPORT_SQL = `SELECT s.item_id, s.label, s.note, s.created_at, u.name AS reviewer, i.kind, i.ref_a, i.ref_b, i.candidate_count, i.gold,
         (SELECT count(*) FROM answers a WHERE a.item_id = s.item_id AND a.status = 'submitted') AS answers
  FROM settlements s JOIN items i ON i.id = s.item_id JOIN users u ON u.id = s.user_id
  WHERE s.replaced_at IS NULL ORDER BY s.id`;

export interface SettledRow {
  item_id: string;
  label: string;
  note: string | null;
  created_at: number;
  reviewer: string;
  kind: 'rank' | 'compare';
  ref_a: string;
  ref_b: string | null;
  candidate_count: number | null;
  gold: string | null;
  answers: number;
}

/** The settled records among `rows` that `opts` selects (since, gold, kind), as records. */
export function settledRecords(rows: readonly SettledRow[], opts: ExportOptions): (Ranking | SegmentPair)[] {
  const kind = opts.kind === 'ranking' ? 'rank' : opts.kind === 'segment_pair' ? 'compare' : null;
  return rows
    .filter((r) => r.created_at >= (opts.since ?? 0) && (opts.includeGold !== false || r.gold === null) && (kind === null || r.kind === kind))
    .map((r) =>
      answerRecord(JSON.parse(r.label) as Answer, r, r.reviewer, r.created_at, {
        itemId: r.item_id,
        assignedAt: null,
        durationMs: null,
        client: null,
        shownSwapped: false,
        settled: { by: r.reviewer, at: r.created_at, note: r.note, answers: r.answers },
      }),
    );
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
  /** 1: the item is settled (the row is an original answer, exported only with `originals`). */
  settled?: number;
}

/**
 * The store's submitted (not skipped, not undone) answers as Ranking / SegmentPair records,
 * oldest first, then one record per settled item with the reviewer's label (which stands for that
 * item's answers), each validated against its schema. source is always 'human'.
 */
export function* exportRecords(store: Store, opts: ExportOptions = {}): Generator<Ranking | SegmentPair> {
  // SQLite reads `$1` as a named parameter "1"; the shared SQL's positions are passed by those names.
  const rows = store.db.prepare(EXPORT_ANSWERS_SQL).iterate(Object.fromEntries(exportParams(opts).map((v, i) => [String(i + 1), v]))) as IterableIterator<ExportRow>;
  for (const r of rows) yield exportRow(r);
  yield* settledRecords(store.db.prepare(SETTLED_EXPORT_SQL).all() as SettledRow[], opts);
}

/** One exported answer row (columns as selected above; either engine) as its record. */
export function exportRow(r: ExportRow): Ranking | SegmentPair {
  const annotation: Record<string, unknown> = {
    itemId: r.item_id,
    assignedAt: r.assigned_at,
    durationMs: r.duration_ms,
    client: r.client,
    shownSwapped: r.swapped === 1,
  };
  if (r.settled === 1) annotation.original = true;
  return answerRecord(JSON.parse(r.value) as Answer, r, r.annotator, r.created_at, annotation);
}

/** An answer to an item as its training record, with the annotation metadata given. */
function answerRecord(
  a: Answer,
  r: { ref_a: string; ref_b: string | null; candidate_count: number | null },
  annotator: string,
  time: number,
  annotation: Record<string, unknown>,
): Ranking | SegmentPair {
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
      annotator,
      source: 'human',
      time,
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
      annotator,
      source: 'human',
      time,
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
