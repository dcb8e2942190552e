// Agreement statistics: per item (how much annotators agree), per annotator (gold accuracy, agreement with others).
import type { AgreementStats, AnnotatorStats, ItemAgreement, QueueStats, ReviewStats } from '../core/annotation-stats.ts';
import type { Answer, CompareAnswer, RankAnswer } from '../core/protocol.ts';
import type Database from 'better-sqlite3';

export type { AgreementStats, AnnotatorStats, ItemAgreement, QueueStats, ReviewStats } from '../core/annotation-stats.ts';

/**
 * Krippendorff's α with the interval metric for `units` (each the values the coders gave one unit;
 * units with fewer than two values are not pairable). Krippendorff (2011), "Computing Krippendorff's
 * Alpha-Reliability": α = 1 − D_o / D_e.
 */
export function krippendorffAlphaInterval(units: readonly (readonly number[])[]): number | null {
  let n = 0;
  let observed = 0;
  let sum = 0;
  let sumSq = 0;
  for (const u of units) {
    const m = u.length;
    if (m < 2) continue;
    n += m;
    let within = 0;
    for (let i = 0; i < m; i++) {
      sum += u[i]!;
      sumSq += u[i]! * u[i]!;
      for (let j = 0; j < m; j++) if (i !== j) within += (u[i]! - u[j]!) ** 2;
    }
    observed += within / (m - 1);
  }
  if (n < 2) return null;
  // Σ over ordered pairs c ≠ k of (v_c − v_k)² = 2n Σv² − 2 (Σv)².
  const expected = (2 * n * sumSq - 2 * sum * sum) / (n * (n - 1));
  if (expected === 0) return observed === 0 ? 1 : null;
  return 1 - observed / n / expected;
}

/** Fractional rank positions in [0, 1] of a ranking's candidates (ties share their mean position); not comparable = undefined. */
export function rankPositions(a: RankAnswer, n: number): (number | undefined)[] {
  const lv = rankLevels(a, n);
  const placed = lv.map((l, i) => ({ l, i })).filter((x): x is { l: number; i: number } => x.l !== undefined).sort((x, y) => x.l - y.l);
  const out: (number | undefined)[] = new Array(n).fill(undefined);
  const span = Math.max(1, placed.length - 1);
  for (let k = 0; k < placed.length; ) {
    let e = k;
    while (e + 1 < placed.length && placed[e + 1]!.l === placed[k]!.l) e++;
    const pos = (k + e) / 2 / span;
    for (let t = k; t <= e; t++) out[placed[t]!.i] = pos;
    k = e + 1;
  }
  return out;
}

/** Rank level of each candidate: group index; unplaced = after every group; not comparable = undefined. */
export function rankLevels(a: RankAnswer, n: number): (number | undefined)[] {
  const lv: (number | undefined)[] = new Array(n).fill(a.groups.length);
  a.groups.forEach((g, gi) => g.forEach((c) => (lv[c] = gi)));
  for (const c of a.notComparable) lv[c] = undefined;
  return lv;
}

/** Share of candidate pairs that two rankings order the same way (both tied counts as the same), or null when none is comparable. */
export function rankConcordance(x: RankAnswer, y: RankAnswer, n: number): number | null {
  const a = rankLevels(x, n);
  const b = rankLevels(y, n);
  let same = 0;
  let total = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const ai = a[i], aj = a[j], bi = b[i], bj = b[j];
      if (ai === undefined || aj === undefined || bi === undefined || bj === undefined) continue;
      if (ai === aj && ai === x.groups.length && bi === bj && bi === y.groups.length) continue; // both left in "the rest" by both
      total++;
      if (Math.sign(ai - aj) === Math.sign(bi - bj)) same++;
    }
  return total ? same / total : null;
}

function agreeScore(x: Answer, y: Answer, n: number | null): number | null {
  if (x.kind === 'compare' && y.kind === 'compare') {
    if (x.label === 'cant_tell' || y.label === 'cant_tell') return null;
    return x.label === y.label ? 1 : 0;
  }
  if (x.kind === 'rank' && y.kind === 'rank') return rankConcordance(x, y, n ?? 0);
  return null;
}

function mean(xs: number[]): number | null {
  return xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : null;
}

/**
 * How much the answers to one item agree (see ItemAgreement.agreement) and, for a clip pair, the label
 * counts: shared by the statistics and the reviewers' list of disagreements.
 */
export function itemAgreement(kind: 'rank' | 'compare', answers: readonly Answer[], n: number | null): { agreement: number | null; labels?: Record<string, number> } {
  if (kind === 'compare') {
    const labels: Record<string, number> = {};
    for (const a of answers) labels[(a as CompareAnswer).label] = (labels[(a as CompareAnswer).label] ?? 0) + 1;
    const usable = answers.length - (labels.cant_tell ?? 0);
    return { labels, agreement: usable >= 2 ? Math.max(labels.left ?? 0, labels.right ?? 0, labels.tie ?? 0) / usable : null };
  }
  const pairs: number[] = [];
  for (let i = 0; i < answers.length; i++)
    for (let j = i + 1; j < answers.length; j++) {
      const c = rankConcordance(answers[i] as RankAnswer, answers[j] as RankAnswer, n ?? 0);
      if (c !== null) pairs.push(c);
    }
  return { agreement: mean(pairs) };
}

/** An item's answers disagree: two or more, and their agreement is below 1. */
export function isDisagreement(gold: boolean, answers: number, agreement: number | null): boolean {
  return !gold && answers >= 2 && agreement !== null && agreement < 1;
}

/** One answer row as agreementRows reads it (either engine). */
export interface AgreementRow {
    item_id: string;
    status: string;
    value: string | null;
    duration_ms: number | null;
    created_at: number;
    name: string;
    kind: 'rank' | 'compare';
    gold: string | null;
    candidate_count: number | null;
  }

/** Ids of the items a reviewer settled (the same SQL on both engines). */
export const SETTLED_ITEMS_SQL = 'SELECT DISTINCT item_id FROM settlements';

/** Computes the statistics over every submitted answer (fine for tens of thousands of answers). */
export function agreementStats(store: { db: Database.Database }): AgreementStats {
  const rows = store.db
    .prepare(
      `SELECT a.item_id, a.status, a.value, a.duration_ms, a.created_at, u.name, i.kind, i.gold, i.candidate_count
       FROM answers a JOIN users u ON u.id = a.user_id JOIN items i ON i.id = a.item_id ORDER BY a.id`,
    )
    .all() as AgreementRow[];
  const q = store.db
    .prepare(
      `SELECT coalesce(sum(status = 'open' AND gold IS NULL), 0) AS open, coalesce(sum(status = 'complete' AND gold IS NULL), 0) AS complete,
              coalesce(sum(status = 'retired'), 0) AS retired, coalesce(sum(gold IS NOT NULL), 0) AS gold,
              (SELECT count(*) FROM leases WHERE until > ?) AS leased,
              (SELECT count(DISTINCT item_id) FROM answers WHERE status <> 'retracted' AND json_extract(value, '$.flag') IS NOT NULL) AS flagged
       FROM items`,
    )
    .get(Date.now()) as QueueStats;
  const settled = new Set((store.db.prepare(SETTLED_ITEMS_SQL).all() as { item_id: string }[]).map((r) => r.item_id));
  return agreementFromRows(rows, q, settled);
}

/** The statistics from the answer rows (oldest first) and the queue counts: the engine-neutral part. */
export function agreementFromRows(rows: readonly AgreementRow[], queue: QueueStats, settled: ReadonlySet<string> = new Set()): AgreementStats {
  const byItem = new Map<string, { kind: 'rank' | 'compare'; gold: Answer | null; n: number | null; answers: { who: string; a: Answer }[] }>();
  const people = new Map<string, { s: AnnotatorStats; durations: number[]; goldScores: number[]; agree: number[] }>();
  const person = (name: string) => {
    let p = people.get(name);
    if (!p) {
      p = {
        s: {
          annotator: name,
          submitted: 0,
          skipped: 0,
          retracted: 0,
          medianDurationMs: null,
          gold: { answered: 0, accuracy: null },
          agreement: null,
          rankAlpha: null,
          cantTell: 0,
          perDay: {},
        },
        durations: [],
        goldScores: [],
        agree: [],
      };
      people.set(name, p);
    }
    return p;
  };

  for (const r of rows) {
    const p = person(r.name);
    if (r.status === 'skipped') p.s.skipped++;
    if (r.status === 'retracted') p.s.retracted++;
    if (r.status !== 'submitted' || !r.value) continue;
    p.s.submitted++;
    const day = new Date(r.created_at).toISOString().slice(0, 10);
    p.s.perDay[day] = (p.s.perDay[day] ?? 0) + 1;
    if (r.duration_ms !== null) p.durations.push(r.duration_ms);
    const a = JSON.parse(r.value) as Answer;
    if (a.kind === 'compare' && a.label === 'cant_tell') p.s.cantTell++;
    let it = byItem.get(r.item_id);
    if (!it) {
      it = { kind: r.kind, gold: r.gold ? (JSON.parse(r.gold) as Answer) : null, n: r.candidate_count, answers: [] };
      byItem.set(r.item_id, it);
    }
    it.answers.push({ who: r.name, a });
    if (it.gold) {
      p.s.gold.answered++;
      const g = agreeScore(a, it.gold, it.n);
      if (g !== null) p.goldScores.push(g);
    }
  }

  const items: ItemAgreement[] = [];
  const review: ReviewStats = { disagreements: 0, settled: 0, open: 0 };
  for (const [itemId, it] of byItem) {
    const rec: ItemAgreement = { itemId, kind: it.kind, gold: it.gold !== null, answers: it.answers.length, ...itemAgreement(it.kind, it.answers.map((x) => x.a), it.n) };
    if (settled.has(itemId)) rec.settled = true;
    if (isDisagreement(rec.gold, rec.answers, rec.agreement)) {
      review.disagreements++;
      if (rec.settled) review.settled++;
      else review.open++;
    }
    items.push(rec);
    // Each annotator's agreement with every other annotator on this item.
    for (let i = 0; i < it.answers.length; i++)
      for (let j = 0; j < it.answers.length; j++) {
        if (i === j) continue;
        const s = agreeScore(it.answers[i]!.a, it.answers[j]!.a, it.n);
        if (s !== null) person(it.answers[i]!.who).agree.push(s);
      }
  }

  const annotators = [...people.values()].map(({ s, durations, goldScores, agree }) => {
    durations.sort((x, y) => x - y);
    s.medianDurationMs = durations.length ? durations[durations.length >> 1]! : null;
    s.gold.accuracy = mean(goldScores);
    s.agreement = mean(agree);
    return s;
  });
  const units: number[][] = [];
  const unitsOf = new Map<string, number[][]>();
  for (const it of byItem.values()) {
    if (it.kind !== 'rank' || it.gold || it.answers.length < 2) continue;
    const n = it.n ?? 0;
    const pos = it.answers.map(({ a }) => rankPositions(a as RankAnswer, n));
    const mine: number[][] = [];
    for (let c = 0; c < n; c++) mine.push(pos.flatMap((p) => (p[c] === undefined ? [] : [p[c]!])));
    units.push(...mine);
    for (const who of new Set(it.answers.map((x) => x.who))) {
      const u = unitsOf.get(who) ?? [];
      u.push(...mine);
      unitsOf.set(who, u);
    }
  }
  for (const a of annotators) a.rankAlpha = krippendorffAlphaInterval(unitsOf.get(a.annotator) ?? []);
  return {
    queue: { ...queue },
    rankAlpha: krippendorffAlphaInterval(units),
    review,
    items,
    annotators,
    meanItemAgreement: mean(items.flatMap((i) => (i.agreement === null ? [] : [i.agreement]))),
  };
}
