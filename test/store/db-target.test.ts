import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FieldError } from '../../src/core/errors.ts';
import { maskUrl, parseDbTarget } from '../../src/store/db-target.ts';
import { openPreferenceStore } from '../../src/store/store-api.ts';
import { tempDir } from '../server/_helpers.ts';

describe('--db values', () => {
  it('takes a path for a SQLite file and a postgres URL for PostgreSQL, never a URL for a file', () => {
    expect(parseDbTarget('data/pamstack.db')).toEqual({ engine: 'sqlite', path: 'data/pamstack.db' });
    expect(parseDbTarget(':memory:')).toEqual({ engine: 'sqlite', path: ':memory:' });
    expect(parseDbTarget('postgres://user:pw@127.0.0.1:5432/prefs')).toEqual({
      engine: 'postgres',
      url: 'postgres://user:pw@127.0.0.1:5432/prefs',
      display: 'postgres://user:***@127.0.0.1:5432/prefs',
    });
    expect(parseDbTarget('postgresql://h/prefs').engine).toBe('postgres');
    expect(parseDbTarget('POSTGRES://h/prefs').engine).toBe('postgres');
  });

  it.each([
    ['mysql://user:pw@h/prefs', /db: expected a file path \(SQLite\) or a postgres:\/\/ \/ postgresql:\/\/ URL, received "a mysql:\/\/ URL"/],
    ['postgres://user:pw@h', /db: expected a postgres:\/\/ URL naming a database/],
    ['postgres:/user:pw@h/prefs', /db: expected a file path or postgres:\/\/user:password@host:port\/database/],
  ])('refuses %s naming --db, without the password', (v, msg) => {
    let err: unknown;
    try {
      parseDbTarget(v);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FieldError);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toContain('pw');
  });

  it('masks the password of a URL', () => {
    expect(maskUrl('postgres://a:s3cr%40t@h:1/d')).toBe('postgres://a:***@h:1/d');
    expect(maskUrl('postgres://a@h/d')).toBe('postgres://a@h/d');
  });

  it('an unreachable PostgreSQL is an error naming --db with the password masked, and writes no file', async () => {
    const tmp = tempDir();
    const cwd = process.cwd();
    process.chdir(tmp.dir);
    try {
      // Port 1 on loopback: nothing listens there, so the connection is refused at once.
      const p = openPreferenceStore('postgres://user:hunter2@127.0.0.1:1/prefs');
      await expect(p).rejects.toThrow(/^db: expected a reachable PostgreSQL server, received "postgres:\/\/user:\*\*\*@127\.0\.0\.1:1\/prefs \(ECONNREFUSED/);
      await p.catch((e: Error) => expect(e.message).not.toContain('hunter2'));
      expect(readdirSync(tmp.dir)).toEqual([]);
      expect(existsSync('postgres:')).toBe(false);
    } finally {
      process.chdir(cwd);
      tmp.cleanup();
    }
  });
});
