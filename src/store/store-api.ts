// The store as both engines offer it: one async interface, implemented by PgStore directly and by the
// SQLite Store through SqlitePreferenceStore (its synchronous calls, resolved; answers group-committed).
import type { AnswerFlag, Item, Role } from '../core/protocol.ts';
import { exportRecords, RANKED_ITEMS_SQL, type ExportOptions } from './export.ts';
import { PgStore } from './pg-store.ts';
import { parseDbTarget } from './db-target.ts';
import { GroupCommit } from './group-commit.ts';
import type { PreferenceStore, UserChangeListener } from './preference-store.ts';
import type { DisagreementOptions } from './review.ts';
import { entryError } from './store-error.ts';
import { Store, type AddItemOptions, type EstopEvent, type NextOptions, type StoreOptions, type SubmitInput, type TeleopLogEntry } from './store.ts';
import { agreementStats } from './stats.ts';
import type { User } from './users.ts';

export interface SqlitePreferenceStoreOptions {
  /** Close the Store with this wrapper (false: the caller keeps it, e.g. a Store passed to the server). @default true */
  ownsStore?: boolean;
  /** How long the first answer of a group waits for others to share its commit, ms (see GroupCommit). @default 2 */
  groupWindowMs?: number;
}

/**
 * The SQLite Store behind the async interface. Leases and answers (next, submit, skip, undo) go
 * through a group commit: those arriving within a couple of milliseconds share one transaction and
 * one fsync, each resolving after it committed, in the order they were called.
 */
export class SqlitePreferenceStore implements PreferenceStore {
  readonly engine = 'sqlite' as const;
  readonly store: Store;
  #group: GroupCommit;
  #ownsStore: boolean;

  constructor(store: Store, opts: SqlitePreferenceStoreOptions = {}) {
    this.store = store;
    this.#ownsStore = opts.ownsStore ?? true;
    this.#group = new GroupCommit((fn) => store.transaction(fn), opts.groupWindowMs);
  }
  get leaseMs() {
    return this.store.leaseMs;
  }
  get minWatch() {
    return this.store.minWatch;
  }
  /** Commits and transactions so far of the group commit (several answers per commit under load). */
  get groupStats() {
    return this.#group.stats;
  }
  async addUser(name: string, role: Role) {
    return this.store.users.add(name, role);
  }
  async authenticate(token: string) {
    return this.store.users.authenticate(token);
  }
  async setDisabled(name: string, disabled: boolean) {
    return this.store.users.setDisabled(name, disabled);
  }
  async rotateToken(name: string) {
    return this.store.users.rotateToken(name);
  }
  async listUsers() {
    return this.store.users.list();
  }
  async activeTokenHashes() {
    return this.store.users.activeTokenHashes();
  }
  /** SQLite has no notifications across processes: the server polls activeTokenHashes. */
  async watchUsers(_listener: UserChangeListener) {
    return null;
  }
  async addItem(item: Item, opts?: AddItemOptions) {
    return this.store.addItem(item, opts);
  }
  async addItems(entries: readonly { item: Item; opts?: AddItemOptions }[]) {
    return this.store.transaction(() =>
      entries.map((e, i) => {
        try {
          return this.store.addItem(e.item, e.opts);
        } catch (err) {
          throw entryError(err, i);
        }
      }),
    );
  }
  async item(itemId: string) {
    return this.store.item(itemId);
  }
  nextRaw(user: User, opts: NextOptions) {
    return this.#group.enqueue(() => this.store.nextRaw(user, opts));
  }
  async next(user: User, opts: NextOptions) {
    return (await this.nextRaw(user, opts)).map((s) => JSON.parse(s) as Item);
  }
  submit(user: User, s: SubmitInput) {
    return this.#group.enqueue(() => this.store.submit(user, s));
  }
  skip(user: User, clientId: string, itemId: string, flag?: AnswerFlag) {
    return this.#group.enqueue(() => this.store.skip(user, clientId, itemId, flag));
  }
  undo(user: User, clientId: string) {
    return this.#group.enqueue(() => this.store.undo(user, clientId));
  }
  async progress(user: User) {
    return this.store.progress(user);
  }
  async exportRecords(opts?: ExportOptions) {
    return [...exportRecords(this.store, opts)];
  }
  async agreementStats() {
    return agreementStats(this.store);
  }
  async disagreements(opts?: DisagreementOptions) {
    return this.store.disagreements(opts);
  }
  async settle(reviewer: User, itemId: string, label: unknown, note?: string | null) {
    return this.store.settle(reviewer, itemId, label, note);
  }
  async rankedItemPayloads() {
    return (this.store.db.prepare(RANKED_ITEMS_SQL).all() as { payload: string }[]).map((r) => r.payload);
  }
  async teleopByClient(user: User, clientId: string) {
    return this.store.teleopByClient(user, clientId);
  }
  async logTeleop(user: User, clientId: string, e: TeleopLogEntry) {
    this.store.logTeleop(user, clientId, e);
  }
  async guidelines(family: string) {
    return this.store.guidelines(family);
  }
  async setGuidelines(family: string, markdown: string, by: string) {
    return this.store.setGuidelines(family, markdown, by);
  }
  async logEstop(e: EstopEvent) {
    this.store.logEstop(e);
  }
  /** Commits the answers still waiting for their group; closes the Store when this wrapper owns it. */
  async close() {
    if (!this.store.db.open) return;
    this.#group.drain();
    if (this.#ownsStore) this.store.close();
  }
}

/** Opens the store a `--db` value names (a file: SQLite; a postgres:// URL: PostgreSQL). */
export async function openPreferenceStore(db: string, opts: Omit<StoreOptions, 'synchronous'> = {}, flag = 'db'): Promise<PreferenceStore> {
  const t = parseDbTarget(db, flag);
  if (t.engine === 'sqlite') return new SqlitePreferenceStore(new Store(t.path, opts));
  return PgStore.open(t.url, opts, flag);
}

export type { PreferenceStore };
