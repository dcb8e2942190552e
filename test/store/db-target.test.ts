import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RANKINGS_FILE } from '../../src/preference/dataset.ts';
import { Store } from '../../src/store/store.ts';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FieldError } from '../../src/core/errors.ts';
import { maskUrl, parseDbTarget } from '../../src/store/db-target.ts';
import { openPreferenceStore } from '../../src/store/store-api.ts';
import { addRankItems, tempDir } from '../server/_helpers.ts';
import { freshDatabase, PG_URL } from './_pg.ts';
import { PgStore } from '../../src/store/pg-store.ts';

const BIN = fileURLToPath(new URL('../../bin/pamstack.js', import.meta.url));

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

  it('`pamstack serve --db postgres://…` on an unreachable server exits naming --db and creates nothing', () => {
    const tmp = tempDir();
    try {
      const r = spawnSync(process.execPath, [BIN, 'serve', '--no-web', '--port', '0', '--db', 'postgres://user:hunter2@127.0.0.1:1/prefs'], { cwd: tmp.dir, encoding: 'utf8', timeout: 60_000 });
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/db: expected a reachable PostgreSQL server, received "postgres:\/\/user:\*\*\*@127\.0\.0\.1:1\/prefs \(ECONNREFUSED/);
      expect(r.stderr).not.toContain('hunter2');
      expect(readdirSync(tmp.dir)).toEqual([]);
    } finally {
      tmp.cleanup();
    }
  }, 60_000);

  it.skipIf(!PG_URL)('`pamstack store import` and `store seed` queue items on PostgreSQL; a bad import names its line and stores nothing', async () => {
    const db = await freshDatabase();
    const tmp = tempDir();
    try {
      const scratch = new Store(':memory:');
      const [a, b, c] = addRankItems(scratch, 3).map((id) => scratch.item(id)!);
      scratch.close();
      const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, 'store', ...args, '--db', db.url], { cwd: tmp.dir, encoding: 'utf8', timeout: 120_000 });
      writeFileSync(join(tmp.dir, 'ok.jsonl'), `${JSON.stringify(a)}\n${JSON.stringify({ item: b, minAnnotations: 1 })}\n`);
      const ok = cli('import', '--in', 'ok.jsonl', '--json');
      expect(ok.status, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toEqual({ added: 2 });
      // Line 2 repeats an item already in the queue: the whole file is refused, line 1 included.
      writeFileSync(join(tmp.dir, 'bad.jsonl'), `${JSON.stringify(c)}\n\n${JSON.stringify(a)}\n`);
      const bad = cli('import', '--in', 'bad.jsonl');
      expect(bad.status).not.toBe(0);
      expect(bad.stderr).toContain(`bad.jsonl:3: item.id: an item "${a!.id}" exists`);
      const seeded = cli('seed', '--task', 'rope-circle', '--states', '1', '--pairs', '0', '--json');
      expect(seeded.status, seeded.stderr).toBe(0);
      expect(JSON.parse(seeded.stdout.trim().split('\n').at(-1)!)).toEqual({ rank: 1, compare: 0 });
      const s = await PgStore.open(db.url);
      expect((await s.item(a!.id))?.id).toBe(a!.id);
      expect(await s.item(c!.id)).toBeNull();
      const ids = (await s.pool.query<{ id: string; min_annotations: number }>('SELECT id, min_annotations FROM items ORDER BY seq')).rows;
      expect(ids.map((r) => r.id)).toEqual([a!.id, b!.id, "rank:rope-circle:seed0:step0"]);
      expect(ids[1]!.min_annotations).toBe(1);
      await s.close();
      expect(readdirSync(tmp.dir).sort()).toEqual(['bad.jsonl', 'ok.jsonl']);
    } finally {
      tmp.cleanup();
      await db.drop();
    }
  }, 180_000);

  it.skipIf(!PG_URL)('`pamstack users` adds, lists and disables users on PostgreSQL', async () => {
    const db = await freshDatabase();
    const tmp = tempDir();
    const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, 'users', ...args, '--db', db.url, '--json'], { cwd: tmp.dir, encoding: 'utf8', timeout: 60_000 });
    try {
      const add = cli('add', '--role', 'annotator');
      expect(add.status, add.stderr).toBe(0);
      const { name, token } = JSON.parse(add.stdout) as { name: string; token: string };
      expect(name).toBe('annotator-1');
      expect(JSON.parse(cli('list').stdout).users).toMatchObject([{ name: 'annotator-1', role: 'annotator', disabled: false }]);
      const s = await PgStore.open(db.url);
      expect((await s.authenticate(token))?.name).toBe('annotator-1');
      expect(cli('disable', '--name', 'annotator-1').status).toBe(0);
      expect(await s.authenticate(token)).toBeNull();
      const missing = cli('disable', '--name', 'nobody');
      expect(missing.status).not.toBe(0);
      expect(missing.stderr).toMatch(/--name: no user named "nobody"/);
      await s.close();
      expect(readdirSync(tmp.dir)).toEqual([]);
    } finally {
      tmp.cleanup();
      await db.drop();
    }
  }, 90_000);

  it.skipIf(!PG_URL)('`pamstack store export` writes the dataset from PostgreSQL', async () => {
    const db = await freshDatabase();
    const tmp = tempDir();
    try {
      const scratch = new Store(':memory:');
      const [id] = addRankItems(scratch, 1);
      const item = scratch.item(id!)!;
      scratch.close();
      const s = await PgStore.open(db.url, { minWatch: 0 });
      const u = (await s.addUser('alice', 'annotator')).user;
      await s.addItem(item);
      await s.submit(u, { clientId: 'c1', itemId: id!, answer: { kind: 'rank', groups: [[1], [0]], notComparable: [], idealBeatsAll: false }, durationMs: 9 });
      await s.close();
      const r = spawnSync(process.execPath, [BIN, 'store', 'export', '--out', 'ds', '--db', db.url, '--json'], { cwd: tmp.dir, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ rankings: 1, segment_pairs: 0, states: 1 });
      const rec = JSON.parse(readFileSync(join(tmp.dir, 'ds', RANKINGS_FILE), 'utf8').trim()) as { stateId: string; groups: number[][]; annotator: string };
      expect(rec).toMatchObject({ stateId: 'state-0', groups: [[1], [0]], annotator: 'alice' });
    } finally {
      tmp.cleanup();
      await db.drop();
    }
  }, 90_000);
});
