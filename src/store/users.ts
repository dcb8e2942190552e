// Users and their tokens: a token is shown once at creation; only its SHA-256 is stored.
import type Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { ROLES, RoleSchema, type Role } from '../core/protocol.ts';
import { StoreError } from './store-error.ts';

export interface User {
  id: number;
  name: string;
  role: Role;
  createdAt: number;
  disabled: boolean;
}

interface UserRow {
  id: number;
  name: string;
  role: string;
  created_at: number;
  disabled: number;
}

const NAME_RE = /^[A-Za-z0-9_.@-]{1,64}$/;

/** SHA-256 hex of a token. Tokens carry 256 random bits, so a fast hash is enough (no password stretching). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function toUser(r: UserRow): User {
  return { id: r.id, name: r.name, role: RoleSchema.parse(r.role), createdAt: r.created_at, disabled: r.disabled !== 0 };
}

/** Users table access; statements are prepared once. */
export class UserTable {
  #db: Database.Database;
  #byHash: Database.Statement<[string], UserRow>;
  #byName: Database.Statement<[string], UserRow>;

  constructor(db: Database.Database) {
    this.#db = db;
    this.#byHash = db.prepare('SELECT id, name, role, created_at, disabled FROM users WHERE token_hash = ?');
    this.#byName = db.prepare('SELECT id, name, role, created_at, disabled FROM users WHERE name = ?');
  }

  /** Creates a user and returns the token, which is not stored and cannot be shown again. */
  add(name: string, role: Role, now = Date.now()): { user: User; token: string } {
    if (!NAME_RE.test(name)) throw new StoreError('invalid', 'name', `expected 1–64 characters of A–Z a–z 0–9 _ . @ -, received ${JSON.stringify(name)}`);
    const r = RoleSchema.safeParse(role);
    if (!r.success) throw new StoreError('invalid', 'role', `expected one of ${ROLES.join(', ')}, received ${JSON.stringify(role)}`);
    if (this.#byName.get(name)) throw new StoreError('conflict', 'name', `a user named ${JSON.stringify(name)} exists`);
    const token = `pam_${randomBytes(32).toString('base64url')}`;
    const info = this.#db
      .prepare('INSERT INTO users (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)')
      .run(name, r.data, hashToken(token), now);
    return { user: { id: Number(info.lastInsertRowid), name, role: r.data, createdAt: now, disabled: false }, token };
  }

  /** The enabled user holding `token`, or null. */
  authenticate(token: string): User | null {
    const row = this.#byHash.get(hashToken(token));
    if (!row || row.disabled) return null;
    return toUser(row);
  }

  /**
   * Token hash of every enabled user by id (disabled users are absent): a server compares an open
   * session's hash with it to close sessions whose user was disabled or whose token was replaced,
   * also when another process (the `users` command) made the change.
   */
  activeTokenHashes(): Map<number, string> {
    const rows = this.#db.prepare('SELECT id, token_hash FROM users WHERE disabled = 0').all() as { id: number; token_hash: string }[];
    return new Map(rows.map((r) => [r.id, r.token_hash]));
  }

  byName(name: string): User | null {
    const row = this.#byName.get(name);
    return row ? toUser(row) : null;
  }

  list(): User[] {
    return (this.#db.prepare('SELECT id, name, role, created_at, disabled FROM users ORDER BY id').all() as UserRow[]).map(toUser);
  }

  /** Disables (or re-enables) a user: their token stops working at once; a running server closes their sockets within a second. */
  setDisabled(name: string, disabled: boolean): User {
    const info = this.#db.prepare('UPDATE users SET disabled = ? WHERE name = ?').run(disabled ? 1 : 0, name);
    if (info.changes === 0) throw new StoreError('not_found', 'name', `no user named ${JSON.stringify(name)}`);
    return this.byName(name)!;
  }

  /** Replaces a user's token; returns the new one. A running server closes sockets opened with the old one within a second. */
  rotateToken(name: string): string {
    const token = `pam_${randomBytes(32).toString('base64url')}`;
    const info = this.#db.prepare('UPDATE users SET token_hash = ? WHERE name = ?').run(hashToken(token), name);
    if (info.changes === 0) throw new StoreError('not_found', 'name', `no user named ${JSON.stringify(name)}`);
    return token;
  }
}
