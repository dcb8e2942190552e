// PostgreSQL for the store tests: PAMSTACK_TEST_PG names a server (`.ci/run` starts a throwaway
// cluster with .ci/pg-cluster and sets it); without it the PostgreSQL cases are skipped.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.PAMSTACK_TEST_PG ?? '';

/** A new empty database on the test server; `drop` removes it (after every pool on it closed). */
export async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `pamstack_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
