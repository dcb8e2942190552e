// The preference store on PostgreSQL (through `pg`), for several server processes sharing one queue.
// Same schema versions, semantics and errors as the SQLite Store; every method is async and
// transactional, and resolves only after its transaction committed.
import { randomBytes, randomInt } from 'node:crypto';
import pg from 'pg';
import type { WorkspaceBox } from '../core/geometry.ts';
import { FieldError } from '../core/errors.ts';
import { AnswerSchema, issueField, ROLES, RoleSchema, type AnswerFlag, type Item, type ItemKind, type Role } from '../core/protocol.ts';
import { checkAnswerFits, presentItem, unswapLabel, WATCH_TOLERANCE_MS } from './answer-checks.ts';
import { EXPORT_ANSWERS_SQL, exportParams, exportRow, RANKED_ITEMS_SQL, SETTLED_EXPORT_SQL, settledRecords, type ExportOptions, type ExportRow, type SettledRow } from './export.ts';
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
import { migratePg } from './pg-migrations.ts';
import { agreementFromRows, SETTLED_ITEMS_SQL, type AgreementRow, type AgreementStats, type QueueStats } from './stats.ts';
import { entryError, StoreError } from './store-error.ts';
import {
  itemRow,
  type AddItemOptions,
  type EstopEvent,
  type NextOptions,
  type Progress,
  type Receipt,
  type StoreOptions,
  type SubmitInput,
  type TeleopLogEntry,
} from './store.ts';
import { hashToken, type User } from './users.ts';
import { maskUrl } from './db-target.ts';
import type { GuidelinesEdit, PreferenceStore, UserChangeListener } from './preference-store.ts';
import { asStoreError, isConnectionLoss } from './pg-errors.ts';
import { PgUserChannel, USERS_CHANNEL } from './pg-user-channel.ts';
import type { Ranking, SegmentPair } from '../core/preference.ts';

/** BIGINT columns (ids, ms timestamps, counts) as numbers: every value the store keeps is below 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (v: string) => Number(v) : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format)) as never,
};

type Q = pg.PoolClient;
type PgOptions = Omit<StoreOptions, 'synchronous'> & { /** Pool size. @default 10 */ maxConnections?: number };

interface ItemRow {
  id: string;
  kind: ItemKind;
  candidate_count: number | null;
  payload: string;
  min_watch_ms: number | null;
  status: string;
}

interface UserRow {
  id: number;
  name: string;
  role: string;
  created_at: number;
  disabled: number;
}

function toUser(r: UserRow): User {
  return { id: r.id, name: r.name, role: RoleSchema.parse(r.role), createdAt: r.created_at, disabled: r.disabled !== 0 };
}

const NAME_RE = /^[A-Za-z0-9_.@-]{1,64}$/;
const UNIQUE_VIOLATION = '23505';

const ELIGIBLE = `
  i.status = 'open'
  AND ((i.kind = 'rank' AND $3::int = 1) OR (i.kind = 'compare' AND $4::int = 1))
  AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.item_id = i.id AND a.user_id = $1 AND a.status <> 'retracted')
  AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.item_id = i.id AND l.user_id = $1 AND l.until > $2)
  AND NOT (i.id = ANY($5::text[]))`;
const OTHERS_LEASES = `(SELECT count(*) FROM leases l WHERE l.item_id = i.id AND l.user_id <> $1 AND l.until > $2::bigint)`;

/**
 * A query config; with `name`, a prepared statement: each connection parses and plans it once and then
 * sends only its name (node-postgres docs, "Prepared statements"). For the statements every answer runs.
 */
function named(text: string, values: unknown[], name?: string): pg.QueryConfig {
  return name ? { name: `pamstack_${name}`, text, values } : { text, values };
}

/** `c.query` of a (named) statement inside a transaction. */
function query<R extends pg.QueryResultRow>(c: Q, text: string, values: unknown[], name?: string): Promise<pg.QueryResult<R>> {
  return c.query<R>(named(text, values, name));
}

/**
 * A deadlock victim (40P01) or a serialization failure (40001): its transaction rolled back entirely
 * and may simply run again (PostgreSQL manual, "Serialization Failure Handling").
 */
function retryable(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === '40P01' || code === '40001';
}

/** A statement that lost to concurrent ones three times: the client may send it again later. */
function contended(e: unknown): StoreError {
  return new StoreError('unavailable', null, `the database is busy with conflicting work (${(e as { code?: string }).code}); send it again`);
}

const INSERT_ITEM_SQL = `INSERT INTO items (id, kind, task, ref_a, ref_b, payload, candidate_count, gold, min_annotations, priority, disagreement, created_at, min_watch_ms)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`;
function itemParams(r: ReturnType<typeof itemRow>): unknown[] {
  return [r.id, r.kind, r.task, r.ref_a, r.ref_b, r.payload, r.candidate_count, r.gold, r.min_annotations, r.priority, r.disagreement, r.created_at, r.min_watch_ms];
}

export class PgStore implements PreferenceStore {
  readonly engine = 'postgres' as const;
  readonly pool: pg.Pool;
  readonly display: string;
  #url: string;
  #leaseMs: number;
  #goldEvery: number;
  #now: () => number;
  #minWatch: 'shorter-clip' | number;
  #randomizeSides: boolean;

  private constructor(pool: pg.Pool, url: string, opts: PgOptions) {
    this.pool = pool;
    this.#url = url;
    this.display = maskUrl(url);
    this.#leaseMs = opts.leaseMs ?? 600_000;
    this.#goldEvery = opts.goldEvery ?? 10;
    this.#now = opts.now ?? Date.now;
    const mw = opts.minWatch ?? 'shorter-clip';
    if (mw !== 'shorter-clip' && !(Number.isInteger(mw) && mw >= 0))
      throw new StoreError('invalid', 'minWatch', `expected 'shorter-clip' or an integer ≥ 0 (ms), received ${JSON.stringify(mw)}`);
    this.#minWatch = mw;
    this.#randomizeSides = opts.randomizeSides ?? true;
  }

  /**
   * Connects to the database at `url` and migrates it. An unreachable server or a refused login is a
   * FieldError naming `flag` (the password masked).
   */
  static async open(url: string, opts: PgOptions = {}, flag = 'db'): Promise<PgStore> {
    const display = maskUrl(url);
    // The pool's timeout also bounds the wait for a free connection, which under load (hundreds of
    // requests per pool) is long and normal; the first connection gets a short one of its own.
    const pool = new pg.Pool({ connectionString: url, max: opts.maxConnections ?? 10, connectionTimeoutMillis: 60_000, types: TYPES });
    // An idle client's error (a server restart) is emitted on the pool and would crash the process
    // without a listener; the pool has already removed that client (node-postgres docs, Pool 'error').
    pool.on('error', () => {});
    let client: pg.PoolClient;
    try {
      client = await Promise.race([
        pool.connect(),
        new Promise<never>((_, reject) => setTimeout(() => reject(Object.assign(new Error('no answer within 5 s'), { code: 'ETIMEDOUT' })), 5000).unref()),
      ]);
    } catch (e) {
      await pool.end().catch(() => {});
      const err = e as NodeJS.ErrnoException;
      throw new FieldError(flag, 'a reachable PostgreSQL server', `${display} (${err.code ?? ''} ${err.message})`.replace(/\s+/g, ' '));
    }
    try {
      await migratePg(client);
    } finally {
      client.release();
    }
    return new PgStore(pool, url, opts);
  }

  get leaseMs(): number {
    return this.#leaseMs;
  }

  /** See StoreOptions.minWatch. */
  get minWatch(): 'shorter-clip' | number {
    return this.#minWatch;
  }

  /** Schema version (the highest applied migration). */
  async version(): Promise<number> {
    return (await this.pool.query<{ v: number }>('SELECT max(version) AS v FROM pamstack_schema')).rows[0]!.v;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /**
   * Runs `fn` in one transaction on one connection; committed before it resolves. A lost connection
   * rejects with StoreError `unavailable` (the outcome of a COMMIT cut off is unknown: a retry with the
   * same client id answers `duplicate` if it did commit).
   */
  async transaction<T>(fn: (c: Q) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#transactionOnce(fn);
      } catch (e) {
        if (!retryable(e)) throw e;
        if (attempt >= 3) throw contended(e);
      }
    }
  }

  async #transactionOnce<T>(fn: (c: Q) => Promise<T>): Promise<T> {
    // A checked-out client has no pool listener for 'error' (pg-pool removes its idle listener on
    // acquire), and a client emits 'error' for a server message that arrives between queries, e.g.
    // 57P01 when PostgreSQL shuts down. Ours is attached in connect's callback, not after an awaited
    // promise: pg-pool may hand over a client that another query just released while that client's
    // parser is still reading the same network chunk, whose next message can be that error; a
    // listener added a microtask later would miss it and the process would die of an unhandled 'error'.
    let broken: unknown = null;
    const onError = (e: Error) => (broken ??= e);
    let c: pg.PoolClient;
    try {
      c = await new Promise<pg.PoolClient>((resolve, reject) =>
        this.pool.connect((err, client) => {
          if (err || !client) return reject(err ?? new Error('no client'));
          client.on('error', onError);
          resolve(client);
        }),
      );
    } catch (e) {
      throw asStoreError(e);
    }
    try {
      await c.query('BEGIN');
      try {
        const out = await fn(c);
        await c.query('COMMIT');
        return out;
      } catch (e) {
        if (!isConnectionLoss(e) && !broken) await c.query('ROLLBACK').catch(() => {});
        throw e;
      }
    } catch (e) {
      if (isConnectionLoss(e)) broken ??= e;
      throw asStoreError(e);
    } finally {
      c.off('error', onError);
      // release(error) destroys the client instead of returning it to the pool (node-postgres docs, pool.connect).
      c.release(broken ? (broken as Error) : undefined);
    }
  }

  /**
   * One statement on any pooled connection (autocommit); a lost connection is StoreError `unavailable`.
   * `name` makes it a prepared statement (see named()).
   */
  async #query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], name?: string): Promise<pg.QueryResult<R>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.pool.query<R>(named(sql, params, name));
      } catch (e) {
        if (!retryable(e)) throw asStoreError(e);
        if (attempt >= 3) throw contended(e);
      }
    }
  }

  // ----------------------------------------------------------------------------------------- users

  async addUser(name: string, role: Role): Promise<{ user: User; token: string }> {
    if (!NAME_RE.test(name)) throw new StoreError('invalid', 'name', `expected 1–64 characters of A–Z a–z 0–9 _ . @ -, received ${JSON.stringify(name)}`);
    const r = RoleSchema.safeParse(role);
    if (!r.success) throw new StoreError('invalid', 'role', `expected one of ${ROLES.join(', ')}, received ${JSON.stringify(role)}`);
    const token = `pam_${randomBytes(32).toString('base64url')}`;
    const now = this.#now();
    try {
      const res = await this.#query<{ id: number }>('INSERT INTO users (name, role, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id', [
        name,
        r.data,
        hashToken(token),
        now,
      ]);
      return { user: { id: res.rows[0]!.id, name, role: r.data, createdAt: now, disabled: false }, token };
    } catch (e) {
      if ((e as { code?: string }).code === UNIQUE_VIOLATION) throw new StoreError('conflict', 'name', `a user named ${JSON.stringify(name)} exists`);
      throw e;
    }
  }

  /** The enabled user holding `token`, or null. */
  async authenticate(token: string): Promise<User | null> {
    const u = (await this.#query<UserRow>('SELECT id, name, role, created_at, disabled FROM users WHERE token_hash = $1', [hashToken(token)], 'authenticate')).rows[0];
    return u && u.disabled === 0 ? toUser(u) : null;
  }

  /**
   * Disables (or re-enables) a user: their token stops working at once, and every replica is told on
   * the users channel by the same statement (delivered when it commits), so it closes their sockets.
   */
  async setDisabled(name: string, disabled: boolean): Promise<User> {
    const r = await this.#query<UserRow>(
      `WITH u AS (UPDATE users SET disabled = $1 WHERE name = $2 RETURNING id, name, role, created_at, disabled)
       SELECT u.*, pg_notify('${USERS_CHANNEL}', u.id::text) FROM u`,
      [disabled ? 1 : 0, name],
    );
    if (!r.rows[0]) throw new StoreError('not_found', 'name', `no user named ${JSON.stringify(name)}`);
    return toUser(r.rows[0]);
  }

  /** Replaces a user's token; returns the new one. Every replica is told on the users channel (see setDisabled). */
  async rotateToken(name: string): Promise<string> {
    const token = `pam_${randomBytes(32).toString('base64url')}`;
    const r = await this.#query(
      `WITH u AS (UPDATE users SET token_hash = $1 WHERE name = $2 RETURNING id) SELECT pg_notify('${USERS_CHANNEL}', u.id::text) FROM u`,
      [hashToken(token), name],
    );
    if (r.rowCount === 0) throw new StoreError('not_found', 'name', `no user named ${JSON.stringify(name)}`);
    return token;
  }

  async listUsers(): Promise<User[]> {
    return (await this.#query<UserRow>('SELECT id, name, role, created_at, disabled FROM users ORDER BY id')).rows.map(toUser);
  }

  async activeTokenHashes(): Promise<Map<number, string>> {
    const r = await this.#query<{ id: number; token_hash: string }>('SELECT id, token_hash FROM users WHERE disabled = 0', [], 'active_tokens');
    return new Map(r.rows.map((x) => [x.id, x.token_hash]));
  }

  /** Listens on the users channel with a dedicated connection (see PgUserChannel); resolves with its stop function. */
  async watchUsers(listener: UserChangeListener, log?: (line: string) => void): Promise<() => Promise<void>> {
    const ch = await PgUserChannel.open(this.#url, listener, { log });
    return () => ch.close();
  }

  // ----------------------------------------------------------------------------------------- items

  /** Adds an item to the queue (validated as the SQLite store does); an existing id is a conflict. */
  async addItem(item: Item, opts: AddItemOptions = {}): Promise<string> {
    const r = itemRow(item, opts, this.#now());
    try {
      await this.pool.query(INSERT_ITEM_SQL, itemParams(r));
    } catch (e) {
      if ((e as { code?: string }).code === UNIQUE_VIOLATION) throw new StoreError('conflict', 'item.id', `an item ${JSON.stringify(r.id)} exists`);
      throw asStoreError(e);
    }
    return r.id;
  }

  async addItems(entries: readonly { item: Item; opts?: AddItemOptions }[]): Promise<string[]> {
    const now = this.#now();
    const rows = entries.map((e, i) => {
      try {
        return itemRow(e.item, e.opts ?? {}, now);
      } catch (err) {
        throw entryError(err, i);
      }
    });
    return this.transaction(async (c) => {
      for (const [i, r] of rows.entries()) {
        // A savepoint per item would cost a round trip each; a conflict aborts the whole batch anyway.
        try {
          await c.query(INSERT_ITEM_SQL, itemParams(r));
        } catch (e) {
          if ((e as { code?: string }).code === UNIQUE_VIOLATION) throw entryError(new StoreError('conflict', 'item.id', `an item ${JSON.stringify(r.id)} exists`), i);
          throw e;
        }
      }
      return rows.map((r) => r.id);
    });
  }

  async item(itemId: string): Promise<Item | null> {
    const r = await this.#query<{ payload: string }>('SELECT payload FROM items WHERE id = $1', [itemId]);
    return r.rows[0] ? (JSON.parse(r.rows[0].payload) as Item) : null;
  }

  // ----------------------------------------------------------------------------------------- queue

  /**
   * Leases up to `count` items to `user` (see Store.nextRaw). Candidates are locked with
   * FOR UPDATE SKIP LOCKED and their room re-checked under the lock, so concurrent calls on any
   * number of replicas never lease an item beyond its minAnnotations.
   */
  async nextRaw(user: User, opts: NextOptions): Promise<string[]> {
    const now = this.#now();
    const until = now + this.#leaseMs;
    const have = [...new Set(opts.have ?? [])];
    const kinds = opts.kinds ?? ['rank', 'compare'];
    const k = [kinds.includes('rank') ? 1 : 0, kinds.includes('compare') ? 1 : 0];
    return this.transaction(async (c) => {
      // One round trip for the preliminaries: expired leases go, held ones are renewed (data-modifying
      // WITH clauses run once and to completion whether or not the query reads them; PostgreSQL manual,
      // "Data-Modifying Statements in WITH"), and the user's other leases and answer count are read.
      // The read sees the snapshot from before those changes, which the filters make harmless.
      const pre = await query<{ submitted: number; id: string | null; payload: string | null; swapped: number | null }>(
        c,
        `WITH expired AS (DELETE FROM leases WHERE until <= $2),
              renewed AS (UPDATE leases SET until = $5 WHERE item_id = ANY($6::text[]) AND user_id = $1)
         SELECT s.n AS submitted, m.id, m.payload, m.swapped
         FROM (SELECT count(*) AS n FROM answers WHERE user_id = $1 AND status = 'submitted') s
         LEFT JOIN LATERAL (
           SELECT i.id, i.payload, l.swapped, l.until FROM leases l JOIN items i ON i.id = l.item_id
           WHERE l.user_id = $1 AND l.until > $2 AND i.status = 'open' AND NOT (i.id = ANY($6::text[]))
             AND ((i.kind = 'rank' AND $3::int = 1) OR (i.kind = 'compare' AND $4::int = 1))
             AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.item_id = i.id AND a.user_id = $1 AND a.status <> 'retracted')
         ) m ON true
         ORDER BY m.until`,
        [user.id, now, ...k, until, have],
        'next_pre',
      );
      const out: string[] = [];
      const taken: string[] = [];
      for (const r of pre.rows) {
        if (out.length >= opts.count || r.id === null) break;
        out.push(presentItem(r.payload!, r.swapped === 1));
        taken.push(r.id);
      }
      if (taken.length) await c.query('UPDATE leases SET until = $1 WHERE item_id = ANY($2::text[]) AND user_id = $3', [until, taken, user.id]);
      let position = pre.rows[0]!.submitted + have.length + out.length;
      const skipped: string[] = [];
      while (out.length < opts.count) {
        position++;
        const wantGold = this.#goldEvery > 0 && position % this.#goldEvery === 0;
        const exclude = [...have, ...taken, ...skipped];
        const row =
          (wantGold ? await this.#pick(c, user, now, k, exclude, 'gold') : undefined) ??
          (await this.#pick(c, user, now, k, exclude, 'skip-locked')) ??
          (await this.#pick(c, user, now, k, exclude, 'gold')) ??
          // SKIP LOCKED also passes over items that are only busy (another annotator's lease or answer
          // in progress); before answering "nothing left", wait for them once.
          (out.length === 0 ? await this.#pick(c, user, now, k, exclude, 'wait') : undefined);
        if (!row) break;
        const swapped = row.kind === 'compare' && this.#randomizeSides ? randomInt(2) : 0;
        // A regular item is leased only if it still has room: the room seen by the locking statement's
        // snapshot may predate a lease committed just before the lock was taken, and this statement,
        // run under the lock with a snapshot of its own, sees every committed lease.
        const leased = await query(
          c,
          `INSERT INTO leases (item_id, user_id, until, assigned_at, swapped)
           SELECT $3, $1, $4, $2, $5 FROM items i
           WHERE i.id = $3 AND (i.gold IS NOT NULL OR i.n_submitted + ${OTHERS_LEASES} < i.min_annotations)
           ON CONFLICT (item_id, user_id) DO UPDATE SET until = excluded.until`,
          [user.id, now, row.id, until, swapped],
          'next_lease',
        );
        if (leased.rowCount === 0) {
          skipped.push(row.id);
          position--;
          continue;
        }
        out.push(presentItem(row.payload, swapped === 1));
        taken.push(row.id);
      }
      return out;
    });
  }

  /**
   * The best eligible item: a gold one (shared by every annotator: not locked), or a regular one with
   * room, locked FOR UPDATE, skipping rows other transactions hold (`skip-locked`) or waiting for the
   * first one (`wait`). The waiting form chooses its row in a subquery and locks it by id: had the
   * room condition been on the locked row itself, READ COMMITTED would re-check it once the lock is
   * granted against the row as the holder committed it but the leases as this statement first saw
   * them, and an answer just counted whose lease was just dropped would count twice (a false "full").
   * Either way the caller's lease statement re-checks the room with a fresh snapshot.
   */
  async #pick(c: Q, user: User, now: number, k: number[], exclude: string[], how: 'gold' | 'skip-locked' | 'wait') {
    const best = `SELECT i.id, i.kind, i.payload, i.gold FROM items i WHERE i.gold IS NULL AND ${ELIGIBLE} AND i.n_submitted + ${OTHERS_LEASES} < i.min_annotations
           ORDER BY i.disagreement IS NULL, i.disagreement DESC, i.priority DESC, i.seq LIMIT 1`;
    const sql =
      how === 'gold'
        ? `SELECT i.id, i.kind, i.payload, i.gold FROM items i WHERE i.gold IS NOT NULL AND ${ELIGIBLE} ORDER BY i.seq LIMIT 1`
        : how === 'skip-locked'
          ? `${best} FOR UPDATE OF i SKIP LOCKED`
          : `SELECT w.id, w.kind, w.payload, w.gold FROM items w WHERE w.id = (SELECT b.id FROM (${best}) b) FOR UPDATE OF w`;
    const r = await query<{ id: string; kind: ItemKind; payload: string; gold: string | null }>(c, sql, [user.id, now, ...k, exclude], `next_pick_${how}`);
    return r.rows[0];
  }

  async next(user: User, opts: NextOptions): Promise<Item[]> {
    return (await this.nextRaw(user, opts)).map((s) => JSON.parse(s) as Item);
  }

  /**
   * Stores an answer; resolves after the commit. A retry with the same client id (even a concurrent
   * one, on another replica) returns the first receipt with `duplicate: true`. Two statements, each
   * its own transaction: one reads what the checks need, one stores the answer, drops the lease and
   * counts it (the item's row lock keeps the count exact).
   */
  async submit(user: User, s: SubmitInput): Promise<Receipt> {
    try {
      const ctx = await this.#answerContext(user, s.clientId, s.itemId);
      if ('duplicate' in ctx) return ctx;
      const { item, lease } = ctx;
      const answer = AnswerSchema.safeParse(s.answer);
      if (!answer.success) throw new StoreError('invalid', `answer.${issueField(answer.error.issues[0]!)}`, answer.error.issues[0]!.message);
      const payload = JSON.parse(item.payload) as Item;
      const workspace = (payload as { workspace?: WorkspaceBox }).workspace ?? null;
      checkAnswerFits(answer.data, item.kind, item.candidate_count, 'answer', payload.kind === 'rank' ? payload.primitive : null, workspace);
      if (item.kind === 'compare') this.#checkWatched(item, lease, ctx.lastAnswerAt);
      const swapped = lease?.swapped === 1;
      const value = swapped && answer.data.kind === 'compare' ? { ...answer.data, label: unswapLabel(answer.data.label) } : answer.data;
      const id = await this.#storeAnswer(user, s.clientId, item.id, 'submitted', JSON.stringify(value), s.durationMs, {
        assignedAt: lease?.assigned_at ?? null,
        swapped,
        client: s.client?.slice(0, 200) ?? null,
      });
      return { answerId: id, duplicate: false };
    } catch (e) {
      return this.#retryAsDuplicate(e, user, s.clientId, s.itemId);
    }
  }

  /** Records that `user` skipped an item: it is not offered to them again (until undone). */
  async skip(user: User, clientId: string, itemId: string, flag?: AnswerFlag): Promise<Receipt> {
    try {
      const ctx = await this.#answerContext(user, clientId, itemId);
      if ('duplicate' in ctx) return ctx;
      const meta = { assignedAt: ctx.lease?.assigned_at ?? null, swapped: ctx.lease?.swapped === 1, client: null };
      return { answerId: await this.#storeAnswer(user, clientId, itemId, 'skipped', flag ? JSON.stringify({ flag }) : null, null, meta), duplicate: false };
    } catch (e) {
      return this.#retryAsDuplicate(e, user, clientId, itemId);
    }
  }

  /** Retracts the user's answer or skip named by `clientId`; the item is leased back to them. */
  async undo(user: User, clientId: string): Promise<{ itemId: string }> {
    return this.transaction(async (c) => {
      const a = (await c.query<{ id: number; item_id: string; status: string; swapped: number }>(
        'SELECT id, item_id, status, swapped FROM answers WHERE user_id = $1 AND client_id = $2 FOR UPDATE',
        [user.id, clientId],
      )).rows[0];
      if (!a) throw new StoreError('not_found', 'clientId', `no answer of yours with client id ${JSON.stringify(clientId)}`);
      if (a.status === 'retracted') return { itemId: a.item_id };
      const now = this.#now();
      await c.query("UPDATE answers SET status = 'retracted', retracted_at = $1 WHERE id = $2", [now, a.id]);
      if (a.status === 'submitted') await this.#count(c, a.item_id, -1);
      await c.query(
        'INSERT INTO leases (item_id, user_id, until, assigned_at, swapped) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (item_id, user_id) DO UPDATE SET until = excluded.until',
        [a.item_id, user.id, now + this.#leaseMs, now, a.swapped],
      );
      return { itemId: a.item_id };
    });
  }

  /** The submitted answers as training records, oldest first, then the settled items (as exportRecords on SQLite). */
  async exportRecords(opts: ExportOptions = {}): Promise<(Ranking | SegmentPair)[]> {
    // One snapshot for both reads, so an item settled in between is neither missing nor doubled.
    return this.transaction(async (c) => {
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const r = await c.query<ExportRow>(EXPORT_ANSWERS_SQL, exportParams(opts));
      const s = await c.query<SettledRow>(SETTLED_EXPORT_SQL);
      return [...r.rows.map(exportRow), ...settledRecords(s.rows, opts)];
    });
  }

  async disagreements(opts: DisagreementOptions = {}): Promise<Disagreement[]> {
    return this.transaction(async (c) => {
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const rows = await c.query<ReviewAnswerRow>(REVIEW_ANSWERS_SQL);
      const st = await c.query<SettlementRow>(SETTLEMENTS_SQL);
      return disagreementsFromRows(rows.rows, st.rows, opts);
    });
  }

  /** See Store.settle; the item is locked, so concurrent settlements of one item apply one after the other. */
  async settle(reviewer: User, itemId: string, label: unknown, note?: string | null): Promise<Settlement> {
    return this.transaction(async (c) => {
      const item = (await c.query<{ payload: string; gold: string | null }>('SELECT payload, gold FROM items WHERE id = $1 FOR UPDATE', [itemId])).rows[0];
      if (!item) throw new StoreError('not_found', 'itemId', `no item ${JSON.stringify(itemId)}`);
      const answers = (await c.query<{ value: string }>("SELECT value FROM answers WHERE item_id = $1 AND status = 'submitted' ORDER BY id", [itemId])).rows.map((r) => r.value);
      const ok = checkSettlement(reviewer, JSON.parse(item.payload) as Item, item.gold !== null, answers, label, note);
      const now = this.#now();
      await c.query('UPDATE settlements SET replaced_at = $1 WHERE item_id = $2 AND replaced_at IS NULL', [now, itemId]);
      await c.query('INSERT INTO settlements (item_id, user_id, label, note, created_at) VALUES ($1, $2, $3, $4, $5)', [itemId, reviewer.id, JSON.stringify(ok.label), ok.note, now]);
      return { label: ok.label, reviewer: reviewer.name, note: ok.note, at: now };
    });
  }

  async rankedItemPayloads(): Promise<string[]> {
    const r = await this.#query<{ payload: string }>(RANKED_ITEMS_SQL);
    return r.rows.map((x) => x.payload);
  }

  /** Agreement per item and annotator, gold accuracy and queue counts (as agreementStats on SQLite). */
  async agreementStats(): Promise<AgreementStats> {
    const rows = await this.#query<AgreementRow>(
      `SELECT a.item_id, a.status, a.value, a.duration_ms, a.created_at, u.name, i.kind, i.gold, i.candidate_count
       FROM answers a JOIN users u ON u.id = a.user_id JOIN items i ON i.id = a.item_id ORDER BY a.id`,
    );
    const q = await this.#query<QueueStats>(
      `SELECT count(*) FILTER (WHERE status = 'open' AND gold IS NULL) AS open, count(*) FILTER (WHERE status = 'complete' AND gold IS NULL) AS complete,
              count(*) FILTER (WHERE status = 'retired') AS retired, count(*) FILTER (WHERE gold IS NOT NULL) AS gold,
              (SELECT count(*) FROM leases WHERE until > $1) AS leased,
              (SELECT count(DISTINCT item_id) FROM answers WHERE status <> 'retracted' AND (value::jsonb -> 'flag') IS NOT NULL) AS flagged
       FROM items`,
      [Date.now()],
    );
    const settled = await this.#query<{ item_id: string }>(SETTLED_ITEMS_SQL);
    return agreementFromRows(rows.rows, q.rows[0]!, new Set(settled.rows.map((r) => r.item_id)));
  }

  /** The user's counts and what is left in the queue for them (as Store.progress). */
  async progress(user: User): Promise<Progress> {
    const now = this.#now();
    const r = await this.#query<{ submitted: number; skipped: number; today: number; total: number; complete: number; available: number }>(
      `SELECT count(*) FILTER (WHERE status = 'submitted') AS submitted, count(*) FILTER (WHERE status = 'skipped') AS skipped,
              count(*) FILTER (WHERE status = 'submitted' AND created_at >= $3) AS today,
              (SELECT count(*) FROM items WHERE status <> 'retired' AND gold IS NULL) AS total,
              (SELECT count(*) FROM items WHERE status = 'complete' AND gold IS NULL) AS complete,
              (SELECT count(*) FROM items i
               WHERE i.status = 'open'
                 AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.item_id = i.id AND a.user_id = $1 AND a.status <> 'retracted')
                 AND (i.gold IS NOT NULL OR i.n_submitted + ${OTHERS_LEASES} < i.min_annotations)) AS available
       FROM answers WHERE user_id = $1`,
      [user.id, now, now - (now % 86_400_000)],
    );
    const x = r.rows[0]!;
    return { mine: { submitted: x.submitted, skipped: x.skipped, today: x.today }, queue: { total: x.total, complete: x.complete, available: x.available } };
  }

  // ----------------------------------------------------------------------------------------- teleop, guidelines, e-stop

  async teleopByClient(user: User, clientId: string): Promise<{ status: string; reason: string | null; duration_s: number | null } | null> {
    const r = await this.#query<{ status: string; reason: string | null; duration_s: number | null }>(
      'SELECT status, reason, duration_s FROM teleop WHERE user_id = $1 AND client_id = $2',
      [user.id, clientId],
    );
    return r.rows[0] ?? null;
  }

  async logTeleop(user: User, clientId: string, e: TeleopLogEntry): Promise<void> {
    await this.#query(
      `INSERT INTO teleop (user_id, client_id, task, primitive, status, reason, duration_s, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (user_id, client_id) DO NOTHING`,
      [user.id, clientId, e.task, JSON.stringify(e.primitive), e.status, e.reason ?? null, e.durationS ?? null, this.#now()],
    );
  }

  async guidelines(family: string): Promise<GuidelinesEdit | null> {
    const r = await this.#query<{ markdown: string; updated_by: string; updated_at: number }>('SELECT markdown, updated_by, updated_at FROM guidelines WHERE family = $1', [family]);
    const x = r.rows[0];
    return x ? { markdown: x.markdown, updatedBy: x.updated_by, updatedAt: x.updated_at } : null;
  }

  async setGuidelines(family: string, markdown: string, by: string): Promise<{ updatedAt: number }> {
    const now = this.#now();
    await this.#query(
      `INSERT INTO guidelines (family, markdown, updated_by, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (family) DO UPDATE SET markdown = excluded.markdown, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
      [family, markdown, by, now],
    );
    return { updatedAt: now };
  }

  async logEstop(e: EstopEvent): Promise<void> {
    await this.#query('INSERT INTO estop_log (user_name, role, action, latched_by, created_at) VALUES ($1, $2, $3, $4, $5)', [e.user, e.role, e.action, e.latchedBy, this.#now()]);
  }

  // ----------------------------------------------------------------------------------------- internals

  async #prior(c: Q | pg.Pool, user: User, clientId: string, itemId: string): Promise<Receipt | null> {
    const p = (await c.query<{ id: number; item_id: string }>('SELECT id, item_id FROM answers WHERE user_id = $1 AND client_id = $2', [user.id, clientId])).rows[0];
    if (!p) return null;
    if (p.item_id !== itemId) throw new StoreError('conflict', 'clientId', `already used for item ${JSON.stringify(p.item_id)}`);
    return { answerId: p.id, duplicate: true };
  }

  /** A concurrent retry lost the race on (user, client id): its transaction rolled back; answer as a duplicate. */
  async #retryAsDuplicate(e: unknown, user: User, clientId: string, itemId: string): Promise<Receipt> {
    if ((e as { constraint?: string }).constraint !== 'answers_user_client') throw asStoreError(e);
    let p: Receipt | null;
    try {
      p = await this.#prior(this.pool, user, clientId, itemId);
    } catch (e2) {
      throw asStoreError(e2);
    }
    if (!p) throw e;
    return p;
  }

  /**
   * What an answer's checks need, in one statement: an earlier answer with this client id (then its
   * receipt, as a duplicate), the item, the user's lease of it, and for a clip pair the time of the
   * user's last answer (the watch clock).
   */
  async #answerContext(
    user: User,
    clientId: string,
    itemId: string,
  ): Promise<Receipt | { item: ItemRow; lease: { assigned_at: number | null; swapped: number } | null; lastAnswerAt: number | null }> {
    const r = await this.#query<ItemRow & { prior_id: number | null; prior_item: string | null; assigned_at: number | null; swapped: number | null; leased: boolean; last_at: number | null }>(
      `SELECT p.id AS prior_id, p.item_id AS prior_item, i.id, i.kind, i.candidate_count, i.payload, i.min_watch_ms, i.status,
              l.item_id IS NOT NULL AS leased, l.assigned_at, l.swapped,
              CASE WHEN i.kind = 'compare' THEN (SELECT max(created_at) FROM answers WHERE user_id = $1 AND status <> 'retracted') END AS last_at
       FROM (SELECT 1) one
       LEFT JOIN answers p ON p.user_id = $1 AND p.client_id = $2
       LEFT JOIN items i ON i.id = $3
       LEFT JOIN leases l ON l.item_id = $3 AND l.user_id = $1`,
      [user.id, clientId, itemId],
      'answer_context',
    );
    const x = r.rows[0]!;
    if (x.prior_id !== null) {
      if (x.prior_item !== itemId) throw new StoreError('conflict', 'clientId', `already used for item ${JSON.stringify(x.prior_item)}`);
      return { answerId: x.prior_id, duplicate: true };
    }
    if (x.id === null) throw new StoreError('not_found', 'itemId', `no item ${JSON.stringify(itemId)}`);
    return { item: x, lease: x.leased ? { assigned_at: x.assigned_at, swapped: x.swapped ?? 0 } : null, lastAnswerAt: x.last_at };
  }

  #checkWatched(item: ItemRow, lease: { assigned_at: number | null } | null, lastAnswerAt: number | null): void {
    const need = this.#minWatch === 'shorter-clip' ? (item.min_watch_ms ?? 0) : this.#minWatch;
    if (need <= 0) return;
    if (!lease) throw new StoreError('conflict', 'itemId', `${JSON.stringify(item.id)} is not assigned to you now; ask for items with next first`);
    const elapsed = this.#now() - Math.max(lease.assigned_at ?? 0, lastAnswerAt ?? 0);
    if (elapsed < need - WATCH_TOLERANCE_MS)
      throw new StoreError('invalid', 'answer', `answered ${elapsed} ms after the clips appeared; watch at least one full play of the shorter clip (${(need / 1000).toFixed(2)} s) first`);
  }

  /**
   * Stores an answer or skip, drops the user's lease of the item and (for an answer) counts it toward
   * the item's completion, in one statement (one transaction, one round trip). A second live answer
   * of the user to the item is a conflict; a reused client id surfaces as answers_user_client.
   */
  async #storeAnswer(
    user: User,
    clientId: string,
    itemId: string,
    status: 'submitted' | 'skipped',
    value: string | null,
    durationMs: number | null,
    meta: { assignedAt: number | null; swapped: boolean; client: string | null },
  ): Promise<number> {
    try {
      const r = await this.#query<{ id: number }>(
        `WITH a AS (INSERT INTO answers (item_id, user_id, client_id, status, value, duration_ms, created_at, assigned_at, swapped, client)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id),
              d AS (DELETE FROM leases WHERE item_id = $1 AND user_id = $2),
              u AS (UPDATE items SET n_submitted = n_submitted + 1,
                      status = CASE WHEN status = 'retired' OR gold IS NOT NULL THEN status
                                    WHEN n_submitted + 1 >= min_annotations THEN 'complete' ELSE 'open' END
                    WHERE id = $1 AND $4 = 'submitted')
         SELECT id FROM a`,
        [itemId, user.id, clientId, status, value, durationMs, this.#now(), meta.assignedAt, meta.swapped ? 1 : 0, meta.client],
        'store_answer',
      );
      return r.rows[0]!.id;
    } catch (e) {
      if ((e as { constraint?: string }).constraint === 'answers_one_live_per_user')
        throw new StoreError('conflict', 'itemId', `you already answered or skipped ${JSON.stringify(itemId)}; undo that first`);
      throw e;
    }
  }

  async #count(c: Q, itemId: string, d: number): Promise<void> {
    await c.query(
      `UPDATE items SET n_submitted = n_submitted + $1,
         status = CASE WHEN status = 'retired' OR gold IS NOT NULL THEN status
                       WHEN n_submitted + $1 >= min_annotations THEN 'complete' ELSE 'open' END
       WHERE id = $2`,
      [d, itemId],
    );
  }
}
