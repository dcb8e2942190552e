// The store as both engines offer it (async): PgStore implements it directly, the SQLite Store through
// SqlitePreferenceStore in store-api.ts.
import type { Ranking, SegmentPair } from '../core/preference.ts';
import type { AnswerFlag, Item, Role } from '../core/protocol.ts';
import type { ExportOptions } from './export.ts';
import type { AddItemOptions, NextOptions, Receipt, SubmitInput } from './store.ts';
import type { Disagreement, DisagreementOptions, Settlement } from './review.ts';
import type { AgreementStats } from './stats.ts';
import type { User } from './users.ts';

export interface PreferenceStore {
  readonly engine: 'sqlite' | 'postgres';
  addUser(name: string, role: Role): Promise<{ user: User; token: string }>;
  authenticate(token: string): Promise<User | null>;
  setDisabled(name: string, disabled: boolean): Promise<User>;
  rotateToken(name: string): Promise<string>;
  listUsers(): Promise<User[]>;
  addItem(item: Item, opts?: AddItemOptions): Promise<string>;
  item(itemId: string): Promise<Item | null>;
  nextRaw(user: User, opts: NextOptions): Promise<string[]>;
  next(user: User, opts: NextOptions): Promise<Item[]>;
  submit(user: User, s: SubmitInput): Promise<Receipt>;
  skip(user: User, clientId: string, itemId: string, flag?: AnswerFlag): Promise<Receipt>;
  undo(user: User, clientId: string): Promise<{ itemId: string }>;
  exportRecords(opts?: ExportOptions): Promise<(Ranking | SegmentPair)[]>;
  agreementStats(): Promise<AgreementStats>;
  /** Items whose annotators disagree, with every original answer (review.ts). */
  disagreements(opts?: DisagreementOptions): Promise<Disagreement[]>;
  /** A reviewer's label for a disagreement; settling again replaces it (the earlier one is kept). */
  settle(reviewer: User, itemId: string, label: unknown, note?: string | null): Promise<Settlement>;
  /** Payload JSON of every rank item with a submitted answer, in queue order (the export's states). */
  rankedItemPayloads(): Promise<string[]>;
  close(): Promise<void>;
}
