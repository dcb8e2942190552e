// Reviewing: the items whose annotators disagree, with every original answer, and the checks of a reviewer's settled label (both engines).
import type { WorkspaceBox } from '../core/geometry.ts';
import { AnswerSchema, issueField, MAX_NOTE_CHARS, type Answer, type Disagreement, type Item, type ItemKind, type Settlement } from '../core/protocol.ts';
import { checkAnswerFits } from './answer-checks.ts';
import { isDisagreement, itemAgreement } from './stats.ts';
import { StoreError } from './store-error.ts';
import type { User } from './users.ts';

/** Roles that may settle a disagreement. */
export const REVIEW_ROLES = ['reviewer', 'admin'] as const;

export type { Disagreement, Settlement };

export interface DisagreementOptions {
  /** Also items a reviewer already settled. @default false */
  includeSettled?: boolean;
}

/** The answers that can disagree: submitted, to items that are not gold, with two or more answers (either engine). */
export const REVIEW_ANSWERS_SQL = `SELECT a.id, a.item_id, a.value, a.created_at, a.duration_ms, u.name AS annotator, i.kind, i.task, i.candidate_count
  FROM answers a JOIN users u ON u.id = a.user_id JOIN items i ON i.id = a.item_id
  WHERE a.status = 'submitted' AND i.gold IS NULL AND i.n_submitted >= 2 ORDER BY i.seq, a.id`;

/** Every settlement, oldest first (either engine). */
export const SETTLEMENTS_SQL = `SELECT s.item_id, s.label, s.note, s.created_at, s.replaced_at, u.name AS reviewer
  FROM settlements s JOIN users u ON u.id = s.user_id ORDER BY s.id`;

export interface ReviewAnswerRow {
  id: number;
  item_id: string;
  value: string;
  created_at: number;
  duration_ms: number | null;
  annotator: string;
  kind: ItemKind;
  task: string;
  candidate_count: number | null;
}

export interface SettlementRow {
  item_id: string;
  label: string;
  note: string | null;
  created_at: number;
  replaced_at: number | null;
  reviewer: string;
}

/** The disagreements among the answer rows (REVIEW_ANSWERS_SQL), most disagreement first, then queue order. */
export function disagreementsFromRows(rows: readonly ReviewAnswerRow[], settlements: readonly SettlementRow[], opts: DisagreementOptions = {}): Disagreement[] {
  const byItem = new Map<string, { kind: ItemKind; task: string; n: number | null; originals: Disagreement['originals'] }>();
  for (const r of rows) {
    let it = byItem.get(r.item_id);
    if (!it) byItem.set(r.item_id, (it = { kind: r.kind, task: r.task, n: r.candidate_count, originals: [] }));
    it.originals.push({ answerId: r.id, annotator: r.annotator, answer: JSON.parse(r.value) as Answer, createdAt: r.created_at, durationMs: r.duration_ms });
  }
  const current = new Map<string, Settlement>();
  const replaced = new Map<string, Settlement[]>();
  for (const s of settlements) {
    const v: Settlement = { label: JSON.parse(s.label) as Answer, reviewer: s.reviewer, note: s.note, at: s.created_at };
    if (s.replaced_at === null) current.set(s.item_id, v);
    else replaced.set(s.item_id, [...(replaced.get(s.item_id) ?? []), v]);
  }
  const out: Disagreement[] = [];
  for (const [itemId, it] of byItem) {
    const { agreement, labels } = itemAgreement(it.kind, it.originals.map((o) => o.answer), it.n);
    if (!isDisagreement(false, it.originals.length, agreement)) continue;
    const settled = current.get(itemId) ?? null;
    if (settled && !opts.includeSettled) continue;
    const d: Disagreement = {
      itemId,
      kind: it.kind,
      task: it.task,
      answers: it.originals.length,
      agreement: agreement!,
      disagreement: 1 - agreement!,
      originals: it.originals,
      settled,
      replaced: replaced.get(itemId) ?? [],
    };
    if (labels) d.labels = labels;
    out.push(d);
  }
  // Stable sort: equal disagreement keeps queue order.
  return out.sort((a, b) => b.disagreement - a.disagreement);
}

/**
 * Checks a settlement before it is stored: the reviewer's role, the item (not gold) and its disagreement (its
 * submitted answers, as stored), the label against the item (kind, candidate indices, the ideal's
 * workspace) and the note. Returns the label and note to store.
 */
export function checkSettlement(
  reviewer: User,
  item: Item,
  gold: boolean,
  answers: readonly string[],
  label: unknown,
  note: string | null | undefined,
): { label: Answer; note: string | null } {
  if (!(REVIEW_ROLES as readonly string[]).includes(reviewer.role))
    throw new StoreError('forbidden', 'reviewer', `settling needs role ${REVIEW_ROLES.join(' or ')}; ${reviewer.name} is ${reviewer.role}`);
  if (gold) throw new StoreError('conflict', 'itemId', `${JSON.stringify(item.id)} is a gold item (its answer is known); only items without a known answer can be settled`);
  const n = item.kind === 'rank' ? item.candidates.length : null;
  const { agreement } = itemAgreement(item.kind, answers.map((v) => JSON.parse(v) as Answer), n);
  if (!isDisagreement(false, answers.length, agreement))
    throw new StoreError(
      'conflict',
      'itemId',
      `${JSON.stringify(item.id)} has no disagreement to settle (${answers.length} submitted answer${answers.length === 1 ? '' : 's'}, agreement ${agreement === null ? 'undefined' : agreement.toFixed(3)}); only items with two or more answers that differ can be settled`,
    );
  const r = AnswerSchema.safeParse(label);
  if (!r.success) {
    const i = r.error.issues[0]!;
    const field = issueField(i);
    throw new StoreError('invalid', field === '(frame)' ? 'label' : `label.${field}`, i.message);
  }
  checkAnswerFits(r.data, item.kind, n, 'label', item.kind === 'rank' ? item.primitive : null, (item.workspace ?? null) as WorkspaceBox | null);
  if (note !== undefined && note !== null && (typeof note !== 'string' || note.length > MAX_NOTE_CHARS))
    throw new StoreError('invalid', 'note', `expected text of at most ${MAX_NOTE_CHARS} characters, received ${typeof note === 'string' ? `${note.length} characters` : typeof note}`);
  return { label: r.data, note: note ? note : null };
}
