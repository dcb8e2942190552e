// The store as both engines offer it (async): PgStore implements it directly, the SQLite Store through
// SqlitePreferenceStore in store-api.ts. Every write resolves only after its transaction committed.
import type { Ranking, SegmentPair } from '../core/preference.ts';
import type { AnswerFlag, Item, Role } from '../core/protocol.ts';
import type { ExportOptions } from './export.ts';
import type { AddItemOptions, EstopEvent, NextOptions, Progress, Receipt, SubmitInput, TeleopLogEntry } from './store.ts';
import type { Disagreement, DisagreementOptions, Settlement } from './review.ts';
import type { AgreementStats } from './stats.ts';
import type { User } from './users.ts';

/** An admin's edit of a task family's guidelines. */
export interface GuidelinesEdit {
  markdown: string;
  updatedBy: string;
  updatedAt: number;
}

/**
 * Told when a user was disabled, enabled or given a new token, by any process on the same database:
 * `userId`, or null when changes may have been missed (the listening connection was lost) and every
 * session should be checked.
 */
export type UserChangeListener = (userId: number | null) => void;

export interface PreferenceStore {
  readonly engine: 'sqlite' | 'postgres';
  /** How long an item handed to an annotator stays reserved for them, ms. */
  readonly leaseMs: number;
  /** See StoreOptions.minWatch. */
  readonly minWatch: 'shorter-clip' | number;
  addUser(name: string, role: Role): Promise<{ user: User; token: string }>;
  authenticate(token: string): Promise<User | null>;
  setDisabled(name: string, disabled: boolean): Promise<User>;
  rotateToken(name: string): Promise<string>;
  listUsers(): Promise<User[]>;
  /** Token hash of every enabled user by id: a session whose user is absent or whose hash differs is revoked. */
  activeTokenHashes(): Promise<Map<number, string>>;
  /**
   * Calls `listener` when users change in any process (PostgreSQL: LISTEN/NOTIFY). Resolves with a
   * function that stops listening, or null when the engine cannot tell (the caller polls
   * activeTokenHashes instead).
   */
  watchUsers(listener: UserChangeListener, log?: (line: string) => void): Promise<(() => Promise<void>) | null>;
  addItem(item: Item, opts?: AddItemOptions): Promise<string>;
  /** Adds several items in one transaction: all or none. A StoreError names the entry (`items.<i>.…`). */
  addItems(entries: readonly { item: Item; opts?: AddItemOptions }[]): Promise<string[]>;
  item(itemId: string): Promise<Item | null>;
  nextRaw(user: User, opts: NextOptions): Promise<string[]>;
  next(user: User, opts: NextOptions): Promise<Item[]>;
  submit(user: User, s: SubmitInput): Promise<Receipt>;
  skip(user: User, clientId: string, itemId: string, flag?: AnswerFlag): Promise<Receipt>;
  undo(user: User, clientId: string): Promise<{ itemId: string }>;
  progress(user: User): Promise<Progress>;
  exportRecords(opts?: ExportOptions): Promise<(Ranking | SegmentPair)[]>;
  agreementStats(): Promise<AgreementStats>;
  /** Items whose annotators disagree, with every original answer (review.ts). */
  disagreements(opts?: DisagreementOptions): Promise<Disagreement[]>;
  /** A reviewer's label for a disagreement; settling again replaces it (the earlier one is kept). */
  settle(reviewer: User, itemId: string, label: unknown, note?: string | null): Promise<Settlement>;
  /** Payload JSON of every rank item with a submitted answer, in queue order (the export's states). */
  rankedItemPayloads(): Promise<string[]>;
  /** The logged outcome of a teleop command with this client id, if any (a retry must not move twice). */
  teleopByClient(user: User, clientId: string): Promise<{ status: string; reason: string | null; duration_s: number | null } | null>;
  logTeleop(user: User, clientId: string, e: TeleopLogEntry): Promise<void>;
  /** An admin's edit of a task family's guidelines, or null (then the repo's file stands). */
  guidelines(family: string): Promise<GuidelinesEdit | null>;
  setGuidelines(family: string, markdown: string, by: string): Promise<{ updatedAt: number }>;
  logEstop(e: EstopEvent): Promise<void>;
  close(): Promise<void>;
}
