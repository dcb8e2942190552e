// PostgreSQL for the store tests: PAMSTACK_TEST_PG names a server (`.ci/run` starts a throwaway
// cluster with .ci/pg-cluster and sets it); without it the PostgreSQL cases are skipped.
import { freshPgDatabase } from '../../bench/_pg.ts';

export const PG_URL = process.env.PAMSTACK_TEST_PG ?? '';

/** A new empty database on the test server; `drop` removes it (after every pool on it closed). */
export const freshDatabase = () => freshPgDatabase(PG_URL);
