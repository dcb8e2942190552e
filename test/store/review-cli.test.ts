// `pamstack store disagreements` and `store settle`: scripted review, then `store export` gives the settled label and `store stats` counts it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { PgStore } from '../../src/store/pg-store.ts';
import { Store } from '../../src/store/store.ts';
import { addCompareItems, addRankItems, tempDir } from '../server/_helpers.ts';
import { runCli } from '../stack/run-cli.ts';
import { freshDatabase, PG_URL } from './_pg.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const last = (out: string) => JSON.parse(out.trim().split('\n').at(-1)!);

it('lists disagreements, settles one from the command line, and the export and stats follow', async () => {
  const db = join(tmp.dir, 'db.sqlite');
  const s = new Store(db, { minWatch: 0 });
  const a = s.users.add('alice', 'annotator').user;
  const b = s.users.add('bob', 'annotator').user;
  s.users.add('rita', 'reviewer');
  const [r0] = addRankItems(s, 1);
  const [c0] = addCompareItems(s, 1);
  const rank = (groups: number[][]) => ({ kind: 'rank' as const, groups, notComparable: [], idealBeatsAll: false });
  s.submit(a, { clientId: 'review-cli-001', itemId: r0!, answer: rank([[0], [1]]), durationMs: 3 });
  s.submit(b, { clientId: 'review-cli-002', itemId: r0!, answer: rank([[1], [0]]), durationMs: 3 });
  s.submit(a, { clientId: 'review-cli-003', itemId: c0!, answer: { kind: 'compare', label: 'left' }, durationMs: 3 });
  s.submit(b, { clientId: 'review-cli-004', itemId: c0!, answer: { kind: 'compare', label: 'right' }, durationMs: 3 });
  s.close();

  const table = await runCli(['store', 'disagreements', '--db', db]);
  expect(table.code).toBe(0);
  expect(table.out).toContain(c0);
  expect(table.out).toContain('alice: left | bob: right');
  const list = await runCli(['store', 'disagreements', '--db', db, '--json']);
  expect(last(list.out).disagreements.map((d: { itemId: string }) => d.itemId).sort()).toEqual([c0, r0].sort());

  // Bad input names the flag and what is allowed.
  const bad = async (args: string[], re: RegExp) => {
    const r = await runCli(['store', 'settle', '--db', db, ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(re);
  };
  await bad(['--item', c0!, '--label', 'up', '--as', 'rita'], /--label: label.label: .*"left"\|"right"\|"tie"\|"cant_tell"/);
  await bad(['--item', r0!, '--label', '[[0],[7]]', '--as', 'rita'], /--label: label.groups.1.0: expected a candidate index in \[0, 5\], received 7/);
  await bad(['--item', 'nope', '--label', 'left', '--as', 'rita'], /--item: itemId: no item "nope"/);
  await bad(['--item', c0!, '--label', 'left', '--as', 'alice'], /--as: reviewer: settling needs role reviewer or admin; alice is annotator/);
  await bad(['--item', c0!, '--label', 'left', '--as', 'nobody'], /--as: no user named "nobody"/);
  await bad(['--item', c0!, '--label', '{"kind":', '--as', 'rita'], /--label: expected JSON/);

  const ok = await runCli(['store', 'settle', '--db', db, '--item', c0!, '--label', 'right', '--as', 'rita', '--note', 'left clip slips', '--json']);
  expect(ok.code).toBe(0);
  expect(last(ok.out)).toMatchObject({ itemId: c0, settlement: { reviewer: 'rita', label: { kind: 'compare', label: 'right' }, note: 'left clip slips' } });
  const after = await runCli(['store', 'disagreements', '--db', db, '--json']);
  expect(last(after.out).disagreements.map((d: { itemId: string }) => d.itemId)).toEqual([r0]);

  const out = join(tmp.dir, 'dataset');
  expect((await runCli(['store', 'export', '--db', db, '--out', out])).code).toBe(0);
  const pairs = readFileSync(join(out, 'segment_pairs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(pairs).toMatchObject([{ label: 'right', annotator: 'rita', annotation: { itemId: c0, settled: { by: 'rita', note: 'left clip slips', answers: 2 } } }]);
  const out2 = join(tmp.dir, 'dataset-originals');
  expect((await runCli(['store', 'export', '--db', db, '--out', out2, '--originals'])).code).toBe(0);
  const all = readFileSync(join(out2, 'segment_pairs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(all.map((p) => [p.annotator, p.label, p.annotation.original ?? false])).toEqual([
    ['alice', 'left', true],
    ['bob', 'right', true],
    ['rita', 'right', false],
  ]);

  const st = await runCli(['store', 'stats', '--db', db]);
  expect(st.out).toContain('disagreements: 2 (1 settled, 1 to settle)');
  expect(last((await runCli(['store', 'stats', '--db', db, '--json'])).out).review).toEqual({ disagreements: 2, settled: 1, open: 1 });
});

it.skipIf(!PG_URL)('does the same on PostgreSQL (--db postgres://…)', async () => {
  const db = await freshDatabase();
  const pg = await PgStore.open(db.url, { minWatch: 0 });
  try {
    // Items made on a scratch SQLite store, then queued on PostgreSQL.
    const scratch = new Store(':memory:');
    const [c0] = addCompareItems(scratch, 1);
    const item = scratch.item(c0!)!;
    scratch.close();
    await pg.addItem(item);
    const a = (await pg.addUser('alice', 'annotator')).user;
    const b = (await pg.addUser('bob', 'annotator')).user;
    await pg.addUser('rita', 'reviewer');
    await pg.submit(a, { clientId: 'review-pg-001', itemId: c0!, answer: { kind: 'compare', label: 'left' }, durationMs: 3 });
    await pg.submit(b, { clientId: 'review-pg-002', itemId: c0!, answer: { kind: 'compare', label: 'tie' }, durationMs: 3 });
    const list = await runCli(['store', 'disagreements', '--db', db.url, '--json']);
    expect(list.code, list.err).toBe(0);
    expect(last(list.out).disagreements).toMatchObject([{ itemId: c0, answers: 2, labels: { left: 1, tie: 1 } }]);
    const ok = await runCli(['store', 'settle', '--db', db.url, '--item', c0!, '--label', '{"kind":"compare","label":"tie"}', '--as', 'rita', '--json']);
    expect(ok.code, ok.err).toBe(0);
    expect(last((await runCli(['store', 'stats', '--db', db.url, '--json'])).out).review).toEqual({ disagreements: 1, settled: 1, open: 0 });
    expect((await pg.exportRecords()).map((r) => [r.annotator, r.kind === 'segment_pair' ? r.label : ''])).toEqual([['rita', 'tie']]);
  } finally {
    await pg.close();
    await db.drop();
  }
}, 60_000);
