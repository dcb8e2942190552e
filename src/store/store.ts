// The preference store: SQLite (better-sqlite3, WAL) holding users, the annotation queue and the answers.
import Database from 'better-sqlite3';
import { randomInt } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { WorkspaceBox } from '../core/geometry.ts';
import { dirname } from 'node:path';
import {
  AnswerSchema,
  issueField,
  ItemSchema,
  type Answer,
  type AnswerFlag,
  type Item,
  type ItemKind,
} from '../core/protocol.ts';
import { checkAnswerFits, clipSeconds, presentItem, unswapLabel, WATCH_TOLERANCE_MS } from './answer-checks.ts';
import { migrate } from './migrations.ts';
import {
  checkSettlement,
  disagreementsFromRows,
  REVIEW_ANSWERS_SQL,
  SETTLEMENTS_SQL,
  type Disagreement,
  type DisagreementOptions,
  type ReviewAnswerRow,
  type Settlement,
  type SettlementRow,
} from './review.ts';
import { StoreError } from './store-error.ts';
import { UserTable, type User } from './users.ts';

/** Where `pamstack serve` and `pamstack users` keep the store unless --db says otherwise. */
export const DEFAULT_DB_PATH = 'data/pamstack.db';

export interface StoreOptions {
  /**
   * FULL fsyncs every commit, so an acknowledged answer survives power loss as well as a crash.
   * @default 'FULL'
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** How long an item handed to an annotator stays reserved for them, ms. @default 600_000 */
  leaseMs?: number;
  /** Every `goldEvery`-th item an annotator gets is a gold item when one is left for them; 0 disables. @default 10 */
  goldEvery?: number;
  /** Clock, ms since the epoch (tests inject one). @default Date.now */
  now?: () => number;
  /**
   * Least time between a clip pair appearing and its answer: 'shorter-clip' = one full play of the
   * shorter clip; a number = that many ms for every pair; 0 = not checked. The clock starts when the
   * item was assigned or the annotator's previous answer, whichever is later (prefetched items wait
   * unseen). A compare answer must then come from an annotator who holds the item's lease.
   * @default 'shorter-clip'
   */
  minWatch?: 'shorter-clip' | number;
  /** Left/right of a clip pair shown in random order per assignment (recorded; answers stored in the item's order). @default true */
  randomizeSides?: boolean;
}

export interface AddItemOptions {
  /** Submitted answers after which the item leaves the queue. @default 3 */
  minAnnotations?: number;
  /** Higher first, after disagreement. @default 0 */
  priority?: number;
  /** Reward-model disagreement (see rankDisagreement); higher is served first. */
  disagreement?: number | null;
  /** The known answer: makes this a gold item used to measure annotators. */
  gold?: Answer;
}

export interface NextOptions {
  count: number;
  have?: string[];
  kinds?: ItemKind[];
}

export interface SubmitInput {
  clientId: string;
  itemId: string;
  /** In the order the annotator saw (left/right as shown). */
  answer: Answer;
  durationMs: number;
  /** What sent it (the browser's user agent), for the export. */
  client?: string;
}

/** An annotator's counts and what is left in the queue for them. */
export interface Progress {
  mine: { submitted: number; skipped: number; today: number };
  queue: { total: number; complete: number; available: number };
}

/** One entry of a teleop command's log (a retry with the same client id must not move twice). */
export interface TeleopLogEntry {
  task: string | null;
  primitive: unknown;
  status: 'executed' | 'refused' | 'failed' | 'aborted';
  reason?: string | null;
  durationS?: number | null;
}

/** An e-stop event (`role` null: the embedding itself, e.g. a key in the main job). */
export interface EstopEvent {
  user: string;
  role: string | null;
  action: 'latch' | 'reset' | 'reset_refused';
  latchedBy: string | null;
}

export interface Receipt {
  answerId: number;
  duplicate: boolean;
}

interface ItemRow {
  id: string;
  kind: ItemKind;
  candidate_count: number | null;
  primitive: string | null;
  /** JSON of the item's workspace box, or null. */
  workspace: string | null;
  min_watch_ms: number | null;
  gold: string | null;
  status: string;
}

/** The store. One instance per process per file; every method is synchronous and transactional. */
export class Store {
  readonly db: Database.Database;
  readonly users: UserTable;
  readonly path: string;
  #leaseMs: number;
  #goldEvery: number;
  #now: () => number;
  #st: ReturnType<typeof prepare>;
  #sync: 'FULL' | 'NORMAL';
  #minWatch: 'shorter-clip' | number;
  #randomizeSides: boolean;

  /** Opens (creating if needed) and migrates the store at `path` (`:memory:` for a throwaway one). */
  constructor(path: string, opts: StoreOptions = {}) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.path = path;
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.#sync = opts.synchronous ?? 'FULL';
    this.db.pragma(`synchronous = ${this.#sync}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    this.users = new UserTable(this.db);
    this.#leaseMs = opts.leaseMs ?? 600_000;
    this.#goldEvery = opts.goldEvery ?? 10;
    this.#now = opts.now ?? Date.now;
    const mw = opts.minWatch ?? 'shorter-clip';
    if (mw !== 'shorter-clip' && !(Number.isInteger(mw) && mw >= 0))
      throw new StoreError('invalid', 'minWatch', `expected 'shorter-clip' or an integer ≥ 0 (ms), received ${JSON.stringify(mw)}`);
    this.#minWatch = mw;
    this.#randomizeSides = opts.randomizeSides ?? true;
    this.#st = prepare(this.db);
  }

  get leaseMs(): number {
    return this.#leaseMs;
  }

  /** See StoreOptions.minWatch. */
  get minWatch(): 'shorter-clip' | number {
    return this.#minWatch;
  }

  /** Schema version (PRAGMA user_version). */
  get version(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs `fn` in one transaction (one fsync): the server groups concurrent submissions this way. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ----------------------------------------------------------------------------------------- items

  /** Adds an item to the queue (validated); returns its id. An existing id is a conflict. */
  addItem(item: Item, opts: AddItemOptions = {}): string {
    const row = itemRow(item, opts, this.#now());
    if (this.#st.itemById.get(row.id)) throw new StoreError('conflict', 'item.id', `an item ${JSON.stringify(row.id)} exists`);
    this.#st.insertItem.run(row);
    return row.id;
  }

  /** Sets an item's active-ordering key (reward-model disagreement; higher is served first). */
  setDisagreement(itemId: string, disagreement: number | null): void {
    const info = this.#st.setDisagreement.run(disagreement, itemId);
    if (info.changes === 0) throw new StoreError('not_found', 'itemId', `no item ${JSON.stringify(itemId)}`);
  }

  /**
   * The active-ordering hook: recomputes the disagreement of every open item with `score`
   * (e.g. the spread of several reward models' scores), in one transaction; returns how many changed.
   */
  reorder(score: (item: Item) => number | null): number {
    const rows = this.db.prepare("SELECT id, payload FROM items WHERE status = 'open'").all() as { id: string; payload: string }[];
    return this.transaction(() => {
      for (const r of rows) this.#st.setDisagreement.run(score(JSON.parse(r.payload) as Item), r.id);
      return rows.length;
    });
  }

  /** Takes an item out of the queue for good (answers are kept). */
  retireItem(itemId: string): void {
    const info = this.db.prepare("UPDATE items SET status = 'retired' WHERE id = ?").run(itemId);
    if (info.changes === 0) throw new StoreError('not_found', 'itemId', `no item ${JSON.stringify(itemId)}`);
  }

  item(itemId: string): Item | null {
    const r = this.#st.payloadById.get(itemId);
    return r ? (JSON.parse(r.payload) as Item) : null;
  }

  // ----------------------------------------------------------------------------------------- queue

  /**
   * Leases up to `count` items to `user` and returns their JSON texts (items already leased to the
   * user but not in `have` come first, e.g. after a reconnect). Leases of `have` items are renewed.
   */
  nextRaw(user: User, opts: NextOptions): string[] {
    const now = this.#now();
    const until = now + this.#leaseMs;
    const have = new Set(opts.have ?? []);
    const kinds = opts.kinds ?? ['rank', 'compare'];
    const k = { rank: kinds.includes('rank') ? 1 : 0, compare: kinds.includes('compare') ? 1 : 0 };
    // Leases need no fsync: losing one in a power cut only frees an item early. (WAL + NORMAL still
    // survives a process crash.) The next FULL commit syncs these pages along with its own.
    return this.#withoutFsync(() => this.transaction(() => {
      this.#st.deleteExpiredLeases.run(now);
      for (const id of have) this.#st.renewLease.run(until, id, user.id);
      const out: string[] = [];
      const taken = new Set<string>();
      for (const r of this.#st.myLeases.all({ user: user.id, now, ...k })) {
        if (out.length >= opts.count) break;
        if (have.has(r.id)) continue;
        out.push(presentItem(r.payload, r.swapped === 1));
        taken.add(r.id);
        this.#st.upsertLease.run(r.id, user.id, until, now, r.swapped);
      }
      let position = (this.#st.countMine.get(user.id, 'submitted')?.n ?? 0) + have.size + out.length;
      while (out.length < opts.count) {
        position++;
        const wantGold = this.#goldEvery > 0 && position % this.#goldEvery === 0;
        const q = { user: user.id, now, ...k };
        const row = (wantGold ? this.#st.nextGold.get(q) : undefined) ?? this.#st.nextRegular.get(q) ?? this.#st.nextGold.get(q);
        if (!row || taken.has(row.id)) break;
        const swapped = row.kind === 'compare' && this.#randomizeSides ? randomInt(2) : 0;
        out.push(presentItem(row.payload, swapped === 1));
        taken.add(row.id);
        this.#st.upsertLease.run(row.id, user.id, until, now, swapped);
      }
      return out;
    }));
  }

  #withoutFsync<T>(fn: () => T): T {
    if (this.#sync !== 'FULL' || this.db.inTransaction) return fn();
    this.db.pragma('synchronous = NORMAL');
    try {
      return fn();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  /** nextRaw, parsed. */
  next(user: User, opts: NextOptions): Item[] {
    return this.nextRaw(user, opts).map((s) => JSON.parse(s) as Item);
  }

  /**
   * Stores an answer. A retry with the same client id returns the first receipt with
   * `duplicate: true` and stores nothing. Run inside `transaction` to group several into one commit.
   */
  submit(user: User, s: SubmitInput): Receipt {
    return this.#submitTx(user, s);
  }

  #submitTx = (user: User, s: SubmitInput): Receipt =>
    this.db.transaction((): Receipt => {
      const prior = this.#st.answerByClient.get(user.id, s.clientId);
      if (prior) {
        if (prior.item_id !== s.itemId)
          throw new StoreError('conflict', 'clientId', `already used for item ${JSON.stringify(prior.item_id)}`);
        return { answerId: prior.id, duplicate: true };
      }
      const item = this.#itemOrThrow(s.itemId);
      const answer = AnswerSchema.safeParse(s.answer);
      if (!answer.success) throw new StoreError('invalid', `answer.${issueField(answer.error.issues[0]!)}`, answer.error.issues[0]!.message);
      checkAnswerFits(answer.data, item.kind, item.candidate_count, 'answer', item.primitive, item.workspace ? (JSON.parse(item.workspace) as WorkspaceBox) : null);
      const lease = this.#st.leaseOf.get(s.itemId, user.id) ?? null;
      if (item.kind === 'compare') this.#checkWatched(user, item, lease);
      // Stored in the item's order: a label given on swapped sides is swapped back.
      const swapped = lease?.swapped === 1;
      const value = swapped && answer.data.kind === 'compare' ? { ...answer.data, label: unswapLabel(answer.data.label) } : answer.data;
      const id = this.#insertAnswer(user, s.clientId, item, 'submitted', JSON.stringify(value), s.durationMs, {
        assignedAt: lease?.assigned_at ?? null,
        swapped,
        client: s.client?.slice(0, 200) ?? null,
      });
      this.#st.countSubmission.run({ d: 1, id: s.itemId });
      return { answerId: id, duplicate: false };
    })();

  /** Records that `user` skipped an item: it is not offered to them again (until undone). */
  skip(user: User, clientId: string, itemId: string, flag?: AnswerFlag): Receipt {
    return this.db.transaction((): Receipt => {
      const prior = this.#st.answerByClient.get(user.id, clientId);
      if (prior) {
        if (prior.item_id !== itemId) throw new StoreError('conflict', 'clientId', `already used for item ${JSON.stringify(prior.item_id)}`);
        return { answerId: prior.id, duplicate: true };
      }
      const item = this.#itemOrThrow(itemId);
      const lease = this.#st.leaseOf.get(itemId, user.id);
      const meta = { assignedAt: lease?.assigned_at ?? null, swapped: lease?.swapped === 1, client: null };
      return { answerId: this.#insertAnswer(user, clientId, item, 'skipped', flag ? JSON.stringify({ flag }) : null, null, meta), duplicate: false };
    })();
  }

  /**
   * Retracts the user's own answer or skip named by `clientId` (undo). The item returns to the
   * queue and is leased back to the user. Undoing twice is harmless.
   */
  undo(user: User, clientId: string): { itemId: string } {
    return this.db.transaction(() => {
      const a = this.#st.answerByClient.get(user.id, clientId);
      if (!a) throw new StoreError('not_found', 'clientId', `no answer of yours with client id ${JSON.stringify(clientId)}`);
      if (a.status === 'retracted') return { itemId: a.item_id };
      this.#st.retract.run(this.#now(), a.id);
      if (a.status === 'submitted') this.#st.countSubmission.run({ d: -1, id: a.item_id });
      // Back to the annotator as they saw it (same sides); its watch clock starts again.
      this.#st.upsertLease.run(a.item_id, user.id, this.#now() + this.#leaseMs, this.#now(), a.swapped);
      return { itemId: a.item_id };
    })();
  }

  /** The user's counts and what is left in the queue for them. */
  progress(user: User): Progress {
    const now = this.#now();
    const dayStart = now - (now % 86_400_000);
    const q = this.#st.queueCounts.get()!;
    return {
      mine: {
        submitted: this.#st.countMine.get(user.id, 'submitted')?.n ?? 0,
        skipped: this.#st.countMine.get(user.id, 'skipped')?.n ?? 0,
        today: this.#st.countMineSince.get(user.id, dayStart)?.n ?? 0,
      },
      queue: { total: q.total, complete: q.complete, available: this.#st.countAvailable.get({ user: user.id, now })?.n ?? 0 },
    };
  }

  // ----------------------------------------------------------------------------------------- review

  /** Items whose annotators disagree, each with every original answer (see review.ts). */
  disagreements(opts: DisagreementOptions = {}): Disagreement[] {
    return disagreementsFromRows(this.db.prepare(REVIEW_ANSWERS_SQL).all() as ReviewAnswerRow[], this.db.prepare(SETTLEMENTS_SQL).all() as SettlementRow[], opts);
  }

  /**
   * Settles an item's disagreement with `label` (an answer to the item): the export then gives this
   * label instead of the annotators' answers, which are kept. Settling again replaces the label and
   * keeps the earlier one as history.
   */
  settle(reviewer: User, itemId: string, label: unknown, note?: string | null): Settlement {
    return this.transaction(() => {
      const row = this.db.prepare('SELECT payload, gold FROM items WHERE id = ?').get(itemId) as { payload: string; gold: string | null } | undefined;
      if (!row) throw new StoreError('not_found', 'itemId', `no item ${JSON.stringify(itemId)}`);
      const answers = (this.db.prepare("SELECT value FROM answers WHERE item_id = ? AND status = 'submitted' ORDER BY id").all(itemId) as { value: string }[]).map((r) => r.value);
      const ok = checkSettlement(reviewer, JSON.parse(row.payload) as Item, row.gold !== null, answers, label, note);
      const now = this.#now();
      this.db.prepare('UPDATE settlements SET replaced_at = ? WHERE item_id = ? AND replaced_at IS NULL').run(now, itemId);
      this.db
        .prepare('INSERT INTO settlements (item_id, user_id, label, note, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(itemId, reviewer.id, JSON.stringify(ok.label), ok.note, now);
      return { label: ok.label, reviewer: reviewer.name, note: ok.note, at: now };
    });
  }

  // ----------------------------------------------------------------------------------------- teleop log

  /** The logged outcome of a teleop command with this client id, if any (a retry must not move twice). */
  teleopByClient(user: User, clientId: string): { status: string; reason: string | null; duration_s: number | null } | null {
    return (
      (this.db.prepare('SELECT status, reason, duration_s FROM teleop WHERE user_id = ? AND client_id = ?').get(user.id, clientId) as
        | { status: string; reason: string | null; duration_s: number | null }
        | undefined) ?? null
    );
  }

  logTeleop(user: User, clientId: string, e: TeleopLogEntry): void {
    this.db
      .prepare(
        'INSERT OR IGNORE INTO teleop (user_id, client_id, task, primitive, status, reason, duration_s, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(user.id, clientId, e.task, JSON.stringify(e.primitive), e.status, e.reason ?? null, e.durationS ?? null, this.#now());
  }

  /** An admin's edit of a task family's guidelines, or null (then the repo's file stands). */
  guidelines(family: string): { markdown: string; updatedBy: string; updatedAt: number } | null {
    const r = this.db.prepare('SELECT markdown, updated_by, updated_at FROM guidelines WHERE family = ?').get(family) as
      | { markdown: string; updated_by: string; updated_at: number }
      | undefined;
    return r ? { markdown: r.markdown, updatedBy: r.updated_by, updatedAt: r.updated_at } : null;
  }

  /** Stores an admin's guidelines for a task family (replacing an earlier edit). */
  setGuidelines(family: string, markdown: string, by: string): { updatedAt: number } {
    const now = this.#now();
    this.db
      .prepare(
        'INSERT INTO guidelines (family, markdown, updated_by, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (family) DO UPDATE SET markdown = excluded.markdown, updated_by = excluded.updated_by, updated_at = excluded.updated_at',
      )
      .run(family, markdown, by, now);
    return { updatedAt: now };
  }

  /** Appends an e-stop event (`role` null: the embedding itself, e.g. a key in the main job). */
  logEstop(e: EstopEvent): void {
    this.db
      .prepare('INSERT INTO estop_log (user_name, role, action, latched_by, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(e.user, e.role, e.action, e.latchedBy, this.#now());
  }

  /** The e-stop events, oldest first. */
  estopLog(): { user_name: string; role: string | null; action: string; latched_by: string | null; created_at: number }[] {
    return this.db.prepare('SELECT user_name, role, action, latched_by, created_at FROM estop_log ORDER BY id').all() as never;
  }

  // ----------------------------------------------------------------------------------------- internals

  #itemOrThrow(itemId: string): ItemRow {
    const item = this.#st.itemById.get(itemId);
    if (!item) throw new StoreError('not_found', 'itemId', `no item ${JSON.stringify(itemId)}`);
    return item;
  }

  /** Refuses a compare answer given before one watch of the pair (see StoreOptions.minWatch). */
  #checkWatched(user: User, item: ItemRow, lease: { assigned_at: number | null; swapped: number } | null): void {
    const need = this.#minWatch === 'shorter-clip' ? (item.min_watch_ms ?? 0) : this.#minWatch;
    if (need <= 0) return;
    if (!lease) throw new StoreError('conflict', 'itemId', `${JSON.stringify(item.id)} is not assigned to you now; ask for items with next first`);
    const last = this.#st.lastAnswerAt.get(user.id)?.t ?? 0;
    const since = Math.max(lease.assigned_at ?? 0, last);
    const elapsed = this.#now() - since;
    if (elapsed < need - WATCH_TOLERANCE_MS)
      throw new StoreError(
        'invalid',
        'answer',
        `answered ${elapsed} ms after the clips appeared; watch at least one full play of the shorter clip (${(need / 1000).toFixed(2)} s) first`,
      );
  }

  #insertAnswer(
    user: User,
    clientId: string,
    item: ItemRow,
    status: 'submitted' | 'skipped',
    value: string | null,
    durationMs: number | null,
    meta: { assignedAt: number | null; swapped: boolean; client: string | null } = { assignedAt: null, swapped: false, client: null },
  ): number {
    try {
      const info = this.#st.insertAnswer.run(item.id, user.id, clientId, status, value, durationMs, this.#now(), meta.assignedAt, meta.swapped ? 1 : 0, meta.client);
      this.#st.deleteLease.run(item.id, user.id);
      return Number(info.lastInsertRowid);
    } catch (e) {
      if (e instanceof Error && (e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new StoreError('conflict', 'itemId', `you already answered or skipped ${JSON.stringify(item.id)}; undo that first`);
      throw e;
    }
  }
}

/** The columns of a new item row, after validating the item and its options (shared by both engines). */
export function itemRow(item: Item, opts: AddItemOptions, now: number) {
  const r = ItemSchema.safeParse(item);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new StoreError('invalid', `item.${issueField(i)}`, i.message);
  }
  const it = r.data;
  if (it.kind === 'rank') {
    const bad = it.candidates.findIndex((c) => c.primitive.kind !== it.primitive);
    if (bad >= 0)
      throw new StoreError('invalid', `item.candidates.${bad}.primitive.kind`, `expected ${it.primitive} (the item's primitive), received ${it.candidates[bad]!.primitive.kind}`);
  }
  const min = opts.minAnnotations ?? 3;
  if (!Number.isInteger(min) || min < 1) throw new StoreError('invalid', 'minAnnotations', `expected an integer ≥ 1, received ${min}`);
  let gold: string | null = null;
  if (opts.gold) {
    const g = AnswerSchema.safeParse(opts.gold);
    if (!g.success) throw new StoreError('invalid', `gold.${issueField(g.error.issues[0]!)}`, g.error.issues[0]!.message);
    checkAnswerFits(g.data, it.kind, it.kind === 'rank' ? it.candidates.length : null, 'gold', it.kind === 'rank' ? it.primitive : null);
    gold = JSON.stringify(g.data);
  }
  return {
    id: it.id,
    kind: it.kind,
    task: it.task,
    ref_a: it.kind === 'rank' ? it.stateId : it.left.id,
    ref_b: it.kind === 'rank' ? null : it.right.id,
    payload: JSON.stringify(it),
    candidate_count: it.kind === 'rank' ? it.candidates.length : null,
    gold,
    min_annotations: min,
    priority: opts.priority ?? 0,
    disagreement: opts.disagreement ?? null,
    created_at: now,
    min_watch_ms: it.kind === 'compare' ? Math.round(Math.min(clipSeconds(it.left), clipSeconds(it.right)) * 1000) : null,
  };
}

const ELIGIBLE = `
  i.status = 'open'
  AND ((@rank = 1 AND i.kind = 'rank') OR (@compare = 1 AND i.kind = 'compare'))
  AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.item_id = i.id AND a.user_id = @user AND a.status <> 'retracted')`;
const NOT_MINE = `AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.item_id = i.id AND l.user_id = @user AND l.until > @now)`;
const ROOM = `AND i.n_submitted + (SELECT count(*) FROM leases l WHERE l.item_id = i.id AND l.user_id <> @user AND l.until > @now) < i.min_annotations`;

function prepare(db: Database.Database) {
  type Q = { user: number; now: number; rank: number; compare: number };
  return {
    itemById: db.prepare<[string], ItemRow>(
      `SELECT id, kind, candidate_count, CASE WHEN kind = 'rank' THEN json_extract(payload, '$.primitive') END AS primitive,
              json_extract(payload, '$.workspace') AS workspace, min_watch_ms, gold, status FROM items WHERE id = ?`,
    ),
    payloadById: db.prepare<[string], { payload: string }>('SELECT payload FROM items WHERE id = ?'),
    insertItem: db.prepare(
      `INSERT INTO items (id, kind, task, ref_a, ref_b, payload, candidate_count, gold, min_annotations, priority, disagreement, created_at, min_watch_ms)
       VALUES (@id, @kind, @task, @ref_a, @ref_b, @payload, @candidate_count, @gold, @min_annotations, @priority, @disagreement, @created_at, @min_watch_ms)`,
    ),
    setDisagreement: db.prepare<[number | null, string]>('UPDATE items SET disagreement = ? WHERE id = ?'),
    deleteExpiredLeases: db.prepare<[number]>('DELETE FROM leases WHERE until <= ?'),
    renewLease: db.prepare<[number, string, number]>('UPDATE leases SET until = ? WHERE item_id = ? AND user_id = ?'),
    /** A new lease gets its assignment time and sides; renewing one keeps them. */
    upsertLease: db.prepare<[string, number, number, number, number]>(
      'INSERT INTO leases (item_id, user_id, until, assigned_at, swapped) VALUES (?, ?, ?, ?, ?) ON CONFLICT (item_id, user_id) DO UPDATE SET until = excluded.until',
    ),
    leaseOf: db.prepare<[string, number], { assigned_at: number | null; swapped: number }>(
      'SELECT assigned_at, swapped FROM leases WHERE item_id = ? AND user_id = ?',
    ),
    lastAnswerAt: db.prepare<[number], { t: number | null }>("SELECT max(created_at) AS t FROM answers WHERE user_id = ? AND status <> 'retracted'"),
    deleteLease: db.prepare<[string, number]>('DELETE FROM leases WHERE item_id = ? AND user_id = ?'),
    myLeases: db.prepare<[Q], { id: string; payload: string; swapped: number }>(
      `SELECT i.id, i.payload, l.swapped FROM leases l JOIN items i ON i.id = l.item_id
       WHERE l.user_id = @user AND l.until > @now AND ${ELIGIBLE} ORDER BY l.until`,
    ),
    nextRegular: db.prepare<[Q], { id: string; kind: ItemKind; payload: string }>(
      `SELECT i.id, i.kind, i.payload FROM items i WHERE i.gold IS NULL AND ${ELIGIBLE} ${NOT_MINE} ${ROOM}
       ORDER BY i.disagreement IS NULL, i.disagreement DESC, i.priority DESC, i.seq LIMIT 1`,
    ),
    nextGold: db.prepare<[Q], { id: string; kind: ItemKind; payload: string }>(
      `SELECT i.id, i.kind, i.payload FROM items i WHERE i.gold IS NOT NULL AND ${ELIGIBLE} ${NOT_MINE} ORDER BY i.seq LIMIT 1`,
    ),
    countAvailable: db.prepare<[{ user: number; now: number }], { n: number }>(
      `SELECT count(*) AS n FROM items i
       WHERE i.status = 'open'
         AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.item_id = i.id AND a.user_id = @user AND a.status <> 'retracted')
         AND (i.gold IS NOT NULL
              OR i.n_submitted + (SELECT count(*) FROM leases l WHERE l.item_id = i.id AND l.user_id <> @user AND l.until > @now) < i.min_annotations)`,
    ),
    countMine: db.prepare<[number, string], { n: number }>('SELECT count(*) AS n FROM answers WHERE user_id = ? AND status = ?'),
    countMineSince: db.prepare<[number, number], { n: number }>(
      "SELECT count(*) AS n FROM answers WHERE user_id = ? AND status = 'submitted' AND created_at >= ?",
    ),
    queueCounts: db.prepare<[], { total: number; complete: number }>(
      "SELECT count(*) AS total, coalesce(sum(status = 'complete'), 0) AS complete FROM items WHERE status <> 'retired' AND gold IS NULL",
    ),
    answerByClient: db.prepare<[number, string], { id: number; item_id: string; status: string; swapped: number }>(
      'SELECT id, item_id, status, swapped FROM answers WHERE user_id = ? AND client_id = ?',
    ),
    insertAnswer: db.prepare<[string, number, string, string, string | null, number | null, number, number | null, number, string | null]>(
      'INSERT INTO answers (item_id, user_id, client_id, status, value, duration_ms, created_at, assigned_at, swapped, client) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    countSubmission: db.prepare<[{ d: number; id: string }]>(
      `UPDATE items SET n_submitted = n_submitted + @d,
         status = CASE WHEN status = 'retired' OR gold IS NOT NULL THEN status
                       WHEN n_submitted + @d >= min_annotations THEN 'complete' ELSE 'open' END
       WHERE id = @id`,
    ),
    retract: db.prepare<[number, number]>("UPDATE answers SET status = 'retracted', retracted_at = ? WHERE id = ?"),
  };
}

export type { User };
