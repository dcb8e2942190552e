// Versioned schema migrations of the SQLite store: applied in order, each in its own transaction, tracked by `PRAGMA user_version`.
import type Database from 'better-sqlite3';

export interface Migration {
  version: number;
  description: string;
  sql: string;
  /**
   * The migration rebuilds a table other tables reference (SQLite cannot alter a CHECK constraint), so
   * it runs with foreign keys off and checks them before committing: SQLite's documented procedure
   * for "making other kinds of table schema changes" (sqlite.org/lang_altertable.html, section 7).
   */
  rebuildsTables?: boolean;
}

/** Append only: never edit a migration that has shipped; add the next version instead. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'users, items, leases, answers, teleop log',
    sql: `
      CREATE TABLE users (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        role        TEXT NOT NULL CHECK (role IN ('admin', 'annotator', 'operator')),
        token_hash  TEXT NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL,
        disabled    INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE items (
        seq              INTEGER PRIMARY KEY,
        id               TEXT NOT NULL UNIQUE,
        kind             TEXT NOT NULL CHECK (kind IN ('rank', 'compare')),
        task             TEXT NOT NULL,
        ref_a            TEXT NOT NULL,
        ref_b            TEXT,
        payload          TEXT NOT NULL,
        candidate_count  INTEGER,
        gold             TEXT,
        min_annotations  INTEGER NOT NULL CHECK (min_annotations >= 1),
        priority         REAL NOT NULL DEFAULT 0,
        disagreement     REAL,
        n_submitted      INTEGER NOT NULL DEFAULT 0,
        status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'complete', 'retired')),
        created_at       INTEGER NOT NULL
      );
      CREATE INDEX items_queue ON items (status, gold, disagreement DESC, priority DESC, seq);
      CREATE TABLE leases (
        item_id  TEXT NOT NULL REFERENCES items (id),
        user_id  INTEGER NOT NULL REFERENCES users (id),
        until    INTEGER NOT NULL,
        PRIMARY KEY (item_id, user_id)
      );
      CREATE INDEX leases_user ON leases (user_id, until);
      CREATE TABLE answers (
        id           INTEGER PRIMARY KEY,
        item_id      TEXT NOT NULL REFERENCES items (id),
        user_id      INTEGER NOT NULL REFERENCES users (id),
        client_id    TEXT NOT NULL,
        status       TEXT NOT NULL CHECK (status IN ('submitted', 'skipped', 'retracted')),
        value        TEXT,
        duration_ms  INTEGER,
        created_at   INTEGER NOT NULL,
        retracted_at INTEGER,
        UNIQUE (user_id, client_id)
      );
      CREATE INDEX answers_item ON answers (item_id, status);
      CREATE UNIQUE INDEX answers_one_live_per_user ON answers (item_id, user_id) WHERE status <> 'retracted';
      CREATE TABLE teleop (
        id          INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL REFERENCES users (id),
        client_id   TEXT NOT NULL,
        task        TEXT,
        primitive   TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('executed', 'refused', 'failed')),
        reason      TEXT,
        duration_s  REAL,
        created_at  INTEGER NOT NULL,
        UNIQUE (user_id, client_id)
      );
    `,
  },
  {
    version: 2,
    description: 'e-stop log: who latched and who reset, and resets refused by the policy',
    sql: `
      CREATE TABLE estop_log (
        id          INTEGER PRIMARY KEY,
        user_name   TEXT NOT NULL,
        role        TEXT,
        action      TEXT NOT NULL CHECK (action IN ('latch', 'reset', 'reset_refused')),
        latched_by  TEXT,
        created_at  INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    description: "teleop log: status 'aborted' (an e-stop stopped the primitive partway)",
    sql: `
      CREATE TABLE teleop_v3 (
        id          INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL REFERENCES users (id),
        client_id   TEXT NOT NULL,
        task        TEXT,
        primitive   TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('executed', 'refused', 'failed', 'aborted')),
        reason      TEXT,
        duration_s  REAL,
        created_at  INTEGER NOT NULL,
        UNIQUE (user_id, client_id)
      );
      INSERT INTO teleop_v3 (id, user_id, client_id, task, primitive, status, reason, duration_s, created_at)
        SELECT id, user_id, client_id, task, primitive, status, reason, duration_s, created_at FROM teleop;
      DROP TABLE teleop;
      ALTER TABLE teleop_v3 RENAME TO teleop;
    `,
  },
  {
    version: 4,
    description: 'annotation guidelines per task family, edited by admins (the repo file is the default)',
    sql: `
      CREATE TABLE guidelines (
        family      TEXT PRIMARY KEY CHECK (family IN ('rope', 'granular', 'cloth')),
        markdown    TEXT NOT NULL,
        updated_by  TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
      );
    `,
  },
  {
    version: 5,
    description: 'answer quality: when an item was assigned, left/right shown swapped, the client, the minimum watch time of a clip pair',
    sql: `
      ALTER TABLE leases ADD COLUMN assigned_at INTEGER;
      ALTER TABLE leases ADD COLUMN swapped INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE answers ADD COLUMN assigned_at INTEGER;
      ALTER TABLE answers ADD COLUMN swapped INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE answers ADD COLUMN client TEXT;
      ALTER TABLE items ADD COLUMN min_watch_ms INTEGER;
    `,
  },
  {
    version: 6,
    description: "roles 'reviewer' (settles disagreements) and 'robot' (may only add items)",
    rebuildsTables: true,
    sql: `
      CREATE TABLE users_v6 (
        id          INTEGER PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        role        TEXT NOT NULL CHECK (role IN ('admin', 'annotator', 'operator', 'reviewer', 'robot')),
        token_hash  TEXT NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL,
        disabled    INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO users_v6 (id, name, role, token_hash, created_at, disabled)
        SELECT id, name, role, token_hash, created_at, disabled FROM users;
      DROP TABLE users;
      ALTER TABLE users_v6 RENAME TO users;
    `,
  },
  {
    version: 7,
    description: 'settlements: a reviewer settles a disagreement with a label; settling again replaces it and keeps the earlier one',
    sql: `
      CREATE TABLE settlements (
        id           INTEGER PRIMARY KEY,
        item_id      TEXT NOT NULL REFERENCES items (id),
        user_id      INTEGER NOT NULL REFERENCES users (id),
        label        TEXT NOT NULL,
        note         TEXT,
        created_at   INTEGER NOT NULL,
        replaced_at  INTEGER
      );
      CREATE UNIQUE INDEX settlements_current ON settlements (item_id) WHERE replaced_at IS NULL;
    `,
  },
  {
    version: 8,
    description: "queue order over open items: next walks the queue in serving order and stops at the first item it may lease, instead of sorting every open item",
    // The old index stays out of the planner's way: without statistics SQLite preferred it and sorted.
    sql: `
      DROP INDEX items_queue;
      CREATE INDEX items_open_queue ON items (disagreement IS NULL, disagreement DESC, priority DESC, seq) WHERE status = 'open' AND gold IS NULL;
      CREATE INDEX items_open_gold ON items (seq) WHERE status = 'open' AND gold IS NOT NULL;
    `,
  },
];

/** Applies every migration above the database's version; returns the versions applied. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest)
    throw new Error(`store: database schema version ${current} is newer than this pamstack knows (${latest}); upgrade pamstack`);
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current) continue;
    // PRAGMA foreign_keys is a no-op inside a transaction, so it is switched around it.
    const fkWasOn = db.pragma('foreign_keys', { simple: true }) === 1;
    if (m.rebuildsTables && fkWasOn) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        db.exec(m.sql);
        if (m.rebuildsTables) {
          const broken = db.pragma('foreign_key_check') as unknown[];
          if (broken.length) throw new Error(`store: migration ${m.version} would break ${broken.length} foreign key(s); nothing was changed`);
        }
        db.pragma(`user_version = ${m.version}`);
      })();
    } finally {
      if (m.rebuildsTables && fkWasOn) db.pragma('foreign_keys = ON');
    }
    applied.push(m.version);
  }
  return applied;
}
