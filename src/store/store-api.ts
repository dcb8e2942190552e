// The store as both engines offer it: one async interface, implemented by PgStore directly and by the
// SQLite Store through SqlitePreferenceStore (its synchronous calls, resolved; nothing else changes).
import { FieldError } from '../core/errors.ts';
import type { AnswerFlag, Item, Role } from '../core/protocol.ts';
import { exportRecords, RANKED_ITEMS_SQL, type ExportOptions } from './export.ts';
import { PgStore } from './pg-store.ts';
import { parseDbTarget } from './db-target.ts';
import type { PreferenceStore } from './preference-store.ts';
import type { DisagreementOptions } from './review.ts';
import { Store, type AddItemOptions, type NextOptions, type StoreOptions, type SubmitInput } from './store.ts';
import { agreementStats } from './stats.ts';
import type { User } from './users.ts';

/** The SQLite Store behind the async interface. */
export class SqlitePreferenceStore implements PreferenceStore {
  readonly engine = 'sqlite' as const;
  constructor(readonly store: Store) {}
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
  async addItem(item: Item, opts?: AddItemOptions) {
    return this.store.addItem(item, opts);
  }
  async item(itemId: string) {
    return this.store.item(itemId);
  }
  async nextRaw(user: User, opts: NextOptions) {
    return this.store.nextRaw(user, opts);
  }
  async next(user: User, opts: NextOptions) {
    return this.store.next(user, opts);
  }
  async submit(user: User, s: SubmitInput) {
    return this.store.submit(user, s);
  }
  async skip(user: User, clientId: string, itemId: string, flag?: AnswerFlag) {
    return this.store.skip(user, clientId, itemId, flag);
  }
  async undo(user: User, clientId: string) {
    return this.store.undo(user, clientId);
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
  async close() {
    this.store.close();
  }
}

/** Opens the store a `--db` value names (a file: SQLite; a postgres:// URL: PostgreSQL). */
export async function openPreferenceStore(db: string, opts: Omit<StoreOptions, 'synchronous'> = {}, flag = 'db'): Promise<PreferenceStore> {
  const t = parseDbTarget(db, flag);
  if (t.engine === 'sqlite') return new SqlitePreferenceStore(new Store(t.path, opts));
  return PgStore.open(t.url, opts, flag);
}

/**
 * The SQLite file a `--db` value names, for commands whose store calls are synchronous (serve, store,
 * users). A postgres:// URL is checked for reachability (an unreachable server is named as such) and
 * then refused with the reason, so it never becomes a file name.
 */
export async function sqliteDbPath(db: string, command: string, flag = 'db'): Promise<string> {
  const t = parseDbTarget(db, flag);
  if (t.engine === 'sqlite') return t.path;
  await PgStore.probe(t.url, flag);
  throw new FieldError(
    flag,
    `a SQLite file for \`pamstack ${command}\` (its store calls are synchronous; see docs/store-postgres.md)`,
    t.display,
  );
}

export type { PreferenceStore };
