// The store's migrations in PostgreSQL's dialect: the same versions and descriptions as migrations.ts
// (append only, in step with it), tracked in pamstack_schema and applied once under an advisory lock so
// that several replicas starting together migrate exactly once.
import type pg from 'pg';
import { MIGRATIONS, type Migration } from './migrations.ts';

const PG_SQL: Record<number, string> = {
  1: `
    CREATE TABLE users (
      id          BIGSERIAL PRIMARY KEY,
      name        TEXT NOT NULL UNIQUE,
      role        TEXT NOT NULL CHECK (role IN ('admin', 'annotator', 'operator')),
      token_hash  TEXT NOT NULL UNIQUE,
      created_at  BIGINT NOT NULL,
      disabled    INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE items (
      seq              BIGSERIAL PRIMARY KEY,
      id               TEXT NOT NULL UNIQUE,
      kind             TEXT NOT NULL CHECK (kind IN ('rank', 'compare')),
      task             TEXT NOT NULL,
      ref_a            TEXT NOT NULL,
      ref_b            TEXT,
      payload          TEXT NOT NULL,
      candidate_count  INTEGER,
      gold             TEXT,
      min_annotations  INTEGER NOT NULL CHECK (min_annotations >= 1),
      priority         DOUBLE PRECISION NOT NULL DEFAULT 0,
      disagreement     DOUBLE PRECISION,
      n_submitted      INTEGER NOT NULL DEFAULT 0,
      status           TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'complete', 'retired')),
      created_at       BIGINT NOT NULL
    );
    CREATE INDEX items_queue ON items (status, (gold IS NULL), disagreement DESC, priority DESC, seq);
    CREATE TABLE leases (
      item_id  TEXT NOT NULL REFERENCES items (id),
      user_id  BIGINT NOT NULL REFERENCES users (id),
      until    BIGINT NOT NULL,
      PRIMARY KEY (item_id, user_id)
    );
    CREATE INDEX leases_user ON leases (user_id, until);
    CREATE TABLE answers (
      id           BIGSERIAL PRIMARY KEY,
      item_id      TEXT NOT NULL REFERENCES items (id),
      user_id      BIGINT NOT NULL REFERENCES users (id),
      client_id    TEXT NOT NULL,
      status       TEXT NOT NULL CHECK (status IN ('submitted', 'skipped', 'retracted')),
      value        TEXT,
      duration_ms  INTEGER,
      created_at   BIGINT NOT NULL,
      retracted_at BIGINT,
      CONSTRAINT answers_user_client UNIQUE (user_id, client_id)
    );
    CREATE INDEX answers_item ON answers (item_id, status);
    CREATE UNIQUE INDEX answers_one_live_per_user ON answers (item_id, user_id) WHERE status <> 'retracted';
    CREATE TABLE teleop (
      id          BIGSERIAL PRIMARY KEY,
      user_id     BIGINT NOT NULL REFERENCES users (id),
      client_id   TEXT NOT NULL,
      task        TEXT,
      primitive   TEXT NOT NULL,
      status      TEXT NOT NULL CHECK (status IN ('executed', 'refused', 'failed')),
      reason      TEXT,
      duration_s  DOUBLE PRECISION,
      created_at  BIGINT NOT NULL,
      UNIQUE (user_id, client_id)
    );`,
  2: `
    CREATE TABLE estop_log (
      id          BIGSERIAL PRIMARY KEY,
      user_name   TEXT NOT NULL,
      role        TEXT,
      action      TEXT NOT NULL CHECK (action IN ('latch', 'reset', 'reset_refused')),
      latched_by  TEXT,
      created_at  BIGINT NOT NULL
    );`,
  3: `
    ALTER TABLE teleop DROP CONSTRAINT teleop_status_check;
    ALTER TABLE teleop ADD CONSTRAINT teleop_status_check CHECK (status IN ('executed', 'refused', 'failed', 'aborted'));`,
  4: `
    CREATE TABLE guidelines (
      family      TEXT PRIMARY KEY CHECK (family IN ('rope', 'granular', 'cloth')),
      markdown    TEXT NOT NULL,
      updated_by  TEXT NOT NULL,
      updated_at  BIGINT NOT NULL
    );`,
  5: `
    ALTER TABLE leases ADD COLUMN assigned_at BIGINT;
    ALTER TABLE leases ADD COLUMN swapped INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE answers ADD COLUMN assigned_at BIGINT;
    ALTER TABLE answers ADD COLUMN swapped INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE answers ADD COLUMN client TEXT;
    ALTER TABLE items ADD COLUMN min_watch_ms INTEGER;`,
  6: `
    ALTER TABLE users DROP CONSTRAINT users_role_check;
    ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'annotator', 'operator', 'reviewer', 'robot'));`,
  7: `
    CREATE TABLE settlements (
      id           BIGSERIAL PRIMARY KEY,
      item_id      TEXT NOT NULL REFERENCES items (id),
      user_id      BIGINT NOT NULL REFERENCES users (id),
      label        TEXT NOT NULL,
      note         TEXT,
      created_at   BIGINT NOT NULL,
      replaced_at  BIGINT
    );
    CREATE UNIQUE INDEX settlements_current ON settlements (item_id) WHERE replaced_at IS NULL;`,
  8: `
    DROP INDEX items_queue;
    CREATE INDEX items_open_queue ON items ((disagreement IS NULL), disagreement DESC, priority DESC, seq) WHERE status = 'open' AND gold IS NULL;
    CREATE INDEX items_open_gold ON items (seq) WHERE status = 'open' AND gold IS NOT NULL;`,
};

/** MIGRATIONS with each version's SQL in PostgreSQL's dialect. */
export const PG_MIGRATIONS: readonly Migration[] = MIGRATIONS.map((m) => {
  const sql = PG_SQL[m.version];
  if (sql === undefined) throw new Error(`store: migration ${m.version} has no PostgreSQL version in pg-migrations.ts`);
  return { ...m, sql };
});

/** An arbitrary constant: the advisory lock key every pamstack process migrates under. */
const MIGRATE_LOCK = 0x70616d73;

/**
 * Applies every migration above the database's version, each in its own transaction, holding a
 * session advisory lock so that concurrent starters wait and then find nothing left to do.
 * Returns the versions this call applied.
 */
export async function migratePg(client: pg.ClientBase, migrations: readonly Migration[] = PG_MIGRATIONS): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK]);
  try {
    await client.query('CREATE TABLE IF NOT EXISTS pamstack_schema (version INTEGER NOT NULL, applied_at BIGINT NOT NULL)');
    const cur = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM pamstack_schema');
    const current = cur.rows[0]?.v ?? 0;
    const latest = migrations.at(-1)?.version ?? 0;
    if (current > latest)
      throw new Error(`store: database schema version ${current} is newer than this pamstack knows (${latest}); upgrade pamstack`);
    const applied: number[] = [];
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO pamstack_schema (version, applied_at) VALUES ($1, $2)', [m.version, Date.now()]);
        await client.query('COMMIT');
      } catch (e) {
        await client.query('ROLLBACK');
        throw e;
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK]);
  }
}
