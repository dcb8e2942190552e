// The store's semantics on both engines through one interface: SQLite always, PostgreSQL when
// PAMSTACK_TEST_PG names a server (.ci/run starts one). Two PgStore instances on one database stand
// for two server replicas.
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Answer, Item } from '../../src/core/protocol.ts';
import { pushItems } from '../../src/store/item-push.ts';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import { migratePg, PG_MIGRATIONS } from '../../src/store/pg-migrations.ts';
import { PgStore } from '../../src/store/pg-store.ts';
import { openPreferenceStore, SqlitePreferenceStore, type PreferenceStore } from '../../src/store/store-api.ts';
import { StoreError } from '../../src/store/store-error.ts';
import { Store } from '../../src/store/store.ts';
import type { User } from '../../src/store/users.ts';
import { addCompareItems, addRankItems, tempDir } from '../server/_helpers.ts';
import { freshDatabase, PG_URL } from './_pg.ts';

/** Items made once with the test helpers on a scratch SQLite store, then added to either engine. */
function makeItems(kind: 'rank' | 'compare', n: number, prefix = 'state'): Item[] {
  const s = new Store(':memory:');
  const ids = kind === 'rank' ? addRankItems(s, n, { prefix }) : addCompareItems(s, n);
  const items = ids.map((id) => s.item(id)!);
  s.close();
  return items;
}
const RANK = makeItems('rank', 8);
const rank = (groups: number[][], notComparable: number[] = []): Answer => ({ kind: 'rank', groups, notComparable, idealBeatsAll: false });
let cid = 0;
const nextCid = () => `client-${String(++cid).padStart(6, '0')}`;

/**
 * Runs `statements` in a transaction on a connection of its own, starts `during` while it is open,
 * commits a moment later and resolves with what `during` resolved to.
 */
async function whileOpen<T>(store: PgStore, statements: [string, unknown[]][], during: () => Promise<T>): Promise<T> {
  const other = await store.pool.connect();
  try {
    await other.query('BEGIN');
    for (const [sql, params] of statements) await other.query(sql, params);
    const result = during();
    await new Promise((r) => setTimeout(r, 200));
    await other.query('COMMIT');
    return await result;
  } finally {
    other.release();
  }
}

interface Engine {
  name: 'sqlite' | 'postgres';
  /** Opens a store on a fresh database; `again` opens a second handle on the same one (a replica). */
  open(opts: Parameters<typeof openPreferenceStore>[1]): Promise<{ store: PreferenceStore; again: () => Promise<PreferenceStore>; cleanup: () => Promise<void> }>;
  /** Rows of a read-only query, for checking tables the interface only writes (e.g. the e-stop log). */
  rows(store: PreferenceStore, sql: string): Promise<Record<string, unknown>[]>;
}

const engines: Engine[] = [
  {
    name: 'sqlite',
    async open(opts) {
      const tmp = tempDir();
      const path = join(tmp.dir, 'db.sqlite');
      return { store: await openPreferenceStore(path, opts), again: () => openPreferenceStore(path, opts), cleanup: async () => tmp.cleanup() };
    },
    rows: async (store, sql) => (store as SqlitePreferenceStore).store.db.prepare(sql).all() as Record<string, unknown>[],
  },
];
if (PG_URL)
  engines.push({
    name: 'postgres',
    async open(opts) {
      const db = await freshDatabase();
      return { store: await openPreferenceStore(db.url, opts), again: () => openPreferenceStore(db.url, opts), cleanup: db.drop };
    },
    rows: async (store, sql) => (await (store as PgStore).pool.query(sql)).rows as Record<string, unknown>[],
  });

describe.each(engines)('store on $name', (engine) => {
  let clock: number;
  let store: PreferenceStore;
  let extra: PreferenceStore[];
  let again: () => Promise<PreferenceStore>;
  let cleanup: () => Promise<void>;
  let alice: User, bob: User, carol: User;

  beforeEach(async () => {
    clock = 1_700_000_000_000;
    ({ store, again, cleanup } = await engine.open({ now: () => clock, leaseMs: 60_000, goldEvery: 0, minWatch: 0 }));
    extra = [];
    alice = (await store.addUser('alice', 'annotator')).user;
    bob = (await store.addUser('bob', 'annotator')).user;
    carol = (await store.addUser('carol', 'annotator')).user;
  });
  afterEach(async () => {
    for (const s of [store, ...extra]) await s.close();
    await cleanup();
  });
  const replica = async () => {
    const s = await again();
    extra.push(s);
    return s;
  };

  it('authenticates by token, refuses a disabled user, and refuses a taken name and a bad role', async () => {
    const { user, token } = await store.addUser('dave', 'operator');
    void user;
    expect(await store.authenticate(token)).toMatchObject({ id: user.id, name: 'dave', role: 'operator' });
    const fresh = await store.rotateToken('dave');
    expect(await store.authenticate(token)).toBeNull();
    expect((await store.authenticate(fresh))?.name).toBe('dave');
    expect(await store.setDisabled('dave', true)).toMatchObject({ name: 'dave', disabled: true });
    expect(await store.authenticate(fresh)).toBeNull();
    expect((await store.listUsers()).map((u) => [u.name, u.disabled])).toEqual([['alice', false], ['bob', false], ['carol', false], ['dave', true]]);
    await expect(store.setDisabled('nobody', true)).rejects.toThrow(/^name: no user named "nobody"/);
    await expect(store.rotateToken('nobody')).rejects.toThrow(/^name: no user named "nobody"/);
    await expect(store.addUser('dave', 'annotator')).rejects.toThrow(/^name: a user named "dave" exists/);
    await expect(store.addUser('eve', 'root' as never)).rejects.toThrow(/^role: expected one of admin, annotator, operator/);
  });

  it('validates items and names the bad field; a taken id is a conflict', async () => {
    await store.addItem(RANK[0]!);
    await expect(store.addItem(RANK[0]!)).rejects.toThrow(/^item.id: an item "rank:state-0" exists/);
    await expect(store.addItem({ ...RANK[1]!, task: 'nope' } as never)).rejects.toThrow(/^item.task/);
    await expect(store.addItem(RANK[1]!, { gold: rank([[7]]) })).rejects.toThrow(/gold.groups.0.0: expected a candidate index in \[0, 5\]/);
    expect((await store.item(RANK[0]!.id))?.id).toBe(RANK[0]!.id);
  });

  it('adds a batch of items all or none; a refusal names the entry', async () => {
    await store.addItem(RANK[2]!);
    expect(await store.addItems([{ item: RANK[0]! }, { item: RANK[1]!, opts: { minAnnotations: 1 } }])).toEqual([RANK[0]!.id, RANK[1]!.id]);
    const taken = await store.addItems([{ item: RANK[3]! }, { item: RANK[2]! }]).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(StoreError);
    expect(taken).toMatchObject({ code: 'conflict', field: 'items.1.item.id', detail: `an item "${RANK[2]!.id}" exists` });
    await expect(store.addItems([{ item: RANK[4]! }, { item: RANK[5]!, opts: { minAnnotations: 0 } }])).rejects.toThrow(/^items\.1\.minAnnotations: expected an integer ≥ 1/);
    expect(await store.item(RANK[3]!.id)).toBeNull();
    expect(await store.item(RANK[4]!.id)).toBeNull();
    expect((await store.next(alice, { count: 8 })).map((i) => i.id).sort()).toEqual([RANK[0]!.id, RANK[1]!.id, RANK[2]!.id].sort());
  });

  it("counts an annotator's answers and what the queue still holds for them", async () => {
    const [a, b] = [await store.addItem(RANK[0]!, { minAnnotations: 1 }), await store.addItem(RANK[1]!, { minAnnotations: 2 })];
    await store.addItem({ ...RANK[2]!, id: 'gold-p' }, { gold: rank([[0]]) });
    expect(await store.progress(alice)).toEqual({ mine: { submitted: 0, skipped: 0, today: 0 }, queue: { total: 2, complete: 0, available: 3 } });
    await store.next(bob, { count: 1 });
    await store.submit(alice, { clientId: nextCid(), itemId: a, answer: rank([[0]]), durationMs: 1 });
    await store.skip(alice, nextCid(), b);
    expect(await store.progress(alice)).toEqual({ mine: { submitted: 1, skipped: 1, today: 1 }, queue: { total: 2, complete: 1, available: 1 } });
    // bob holds a lease on b (minAnnotations 2): carol still finds room there.
    expect((await store.progress(carol)).queue).toEqual({ total: 2, complete: 1, available: 2 });
  });

  it('logs teleop commands once per client id, keeps guidelines edits and the e-stop log', async () => {
    expect(await store.teleopByClient(alice, 'cmd-1')).toBeNull();
    await store.logTeleop(alice, 'cmd-1', { task: 'rope-circle', primitive: { kind: 'pick_place' }, status: 'executed', durationS: 1.5 });
    await store.logTeleop(alice, 'cmd-1', { task: 'rope-circle', primitive: { kind: 'pick_place' }, status: 'failed', reason: 'again' });
    expect(await store.teleopByClient(alice, 'cmd-1')).toEqual({ status: 'executed', reason: null, duration_s: 1.5 });
    expect(await store.teleopByClient(bob, 'cmd-1')).toBeNull();
    expect(await store.guidelines('rope')).toBeNull();
    await store.setGuidelines('rope', '# one', 'alice');
    clock += 5;
    expect(await store.setGuidelines('rope', '# two', 'bob')).toEqual({ updatedAt: clock });
    expect(await store.guidelines('rope')).toEqual({ markdown: '# two', updatedBy: 'bob', updatedAt: clock });
    await store.logEstop({ user: 'op', role: 'operator', action: 'latch', latchedBy: 'op' });
    await store.logEstop({ user: 'adm', role: 'admin', action: 'reset', latchedBy: null });
    expect(await engine.rows(store, 'SELECT user_name, action FROM estop_log ORDER BY id')).toEqual([
      { user_name: 'op', action: 'latch' },
      { user_name: 'adm', action: 'reset' },
    ]);
  });

  it('lists the token hash of every enabled user, and (PostgreSQL) tells every handle who changed', async () => {
    const before = await store.activeTokenHashes();
    expect([...before.keys()].sort()).toEqual([alice.id, bob.id, carol.id].sort());
    const r2 = await replica();
    const heard: (number | null)[] = [];
    const stop = await r2.watchUsers((id) => heard.push(id));
    await store.setDisabled('bob', true);
    await store.rotateToken('carol');
    const after = await r2.activeTokenHashes();
    expect(after.has(bob.id)).toBe(false);
    expect(after.get(carol.id)).not.toBe(before.get(carol.id));
    expect(after.get(alice.id)).toBe(before.get(alice.id));
    if (engine.name === 'sqlite') {
      // No notifications across SQLite connections: the server polls activeTokenHashes.
      expect(stop).toBeNull();
      return;
    }
    for (let i = 0; i < 200 && heard.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(heard).toEqual([bob.id, carol.id]);
    await expect(store.setDisabled('nobody', true)).rejects.toThrow(/^name: no user named/);
    await stop!();
    await store.setDisabled('bob', false);
    await new Promise((r) => setTimeout(r, 100));
    expect(heard).toEqual([bob.id, carol.id]);
  });

  it('leases each item to at most minAnnotations annotators at a time and leases expire', async () => {
    await store.addItem(RANK[0]!, { minAnnotations: 2 });
    expect((await store.next(alice, { count: 3 })).length).toBe(1);
    expect((await store.next(bob, { count: 3 })).length).toBe(1);
    expect((await store.next(carol, { count: 3 })).length).toBe(0);
    clock += 61_000;
    expect((await store.next(carol, { count: 3 })).length).toBe(1);
  });

  it('waits for an item that is only busy (locked by another transaction) instead of answering that nothing is left', async () => {
    const id = await store.addItem(RANK[0]!, { minAnnotations: 2 });
    // SQLite has one writer at a time: nothing is ever "busy" between transactions there.
    if (engine.name !== 'postgres') return void expect((await store.next(alice, { count: 1 })).map((i) => i.id)).toEqual([id]);
    const got = await whileOpen(store as PgStore, [['SELECT 1 FROM items WHERE id = $1 FOR UPDATE', [id]]], () => store.next(alice, { count: 1 }));
    expect(got.map((i) => i.id)).toEqual([id]);
  });

  it("waits for another annotator's answer in progress and counts it once: the item still has room after it", async () => {
    const id = await store.addItem(RANK[0]!, { minAnnotations: 2 });
    expect((await store.next(bob, { count: 1 })).map((i) => i.id)).toEqual([id]);
    if (engine.name !== 'postgres') {
      await store.submit(bob, { clientId: nextCid(), itemId: id, answer: rank([[0]]), durationMs: 1 });
      return void expect((await store.next(alice, { count: 1 })).map((i) => i.id)).toEqual([id]);
    }
    // Bob's answer, written as the store writes one (count it, drop his lease), not yet committed.
    const bobsAnswer: [string, unknown[]][] = [
      ['UPDATE items SET n_submitted = n_submitted + 1 WHERE id = $1', [id]],
      ['DELETE FROM leases WHERE item_id = $1 AND user_id = $2', [id, bob.id]],
    ];
    const got = await whileOpen(store as PgStore, bobsAnswer, () => store.next(alice, { count: 1 }));
    // Rechecked against the row as committed but the leases as first seen, Bob would count twice.
    expect(got.map((i) => i.id)).toEqual([id]);
  });

  it('gives back leased items the client does not hold, and renews the held ones', async () => {
    for (const it of RANK.slice(0, 3)) await store.addItem(it, { minAnnotations: 1 });
    const ids = RANK.slice(0, 3).map((i) => i.id);
    expect((await store.next(alice, { count: 2 })).map((i) => i.id)).toEqual(ids.slice(0, 2));
    expect((await store.next(alice, { count: 2 })).map((i) => i.id)).toEqual(ids.slice(0, 2));
    clock += 50_000;
    expect((await store.next(alice, { count: 1, have: ids.slice(0, 2) })).map((i) => i.id)).toEqual([ids[2]]);
    clock += 50_000;
    expect((await store.next(bob, { count: 3 })).length).toBe(0);
  });

  it('completes an item after minAnnotations answers and reopens it on undo', async () => {
    const id = await store.addItem(RANK[0]!, { minAnnotations: 2 });
    await store.next(alice, { count: 1 });
    const c1 = nextCid();
    await store.submit(alice, { clientId: c1, itemId: id, answer: rank([[0]]), durationMs: 1000 });
    await store.submit(bob, { clientId: nextCid(), itemId: id, answer: rank([[1], [0]]), durationMs: 1000 });
    expect(await store.next(carol, { count: 1 })).toEqual([]);
    expect(await store.undo(alice, c1)).toEqual({ itemId: id });
    expect(await store.undo(alice, c1)).toEqual({ itemId: id });
    expect(await store.next(carol, { count: 1 })).toEqual([]);
    expect((await store.next(alice, { count: 1 })).map((i) => i.id)).toEqual([id]);
    clock += 61_000;
    expect((await store.next(carol, { count: 1 })).map((i) => i.id)).toEqual([id]);
    await expect(store.undo(alice, 'nope')).rejects.toThrow(/^clientId: no answer of yours/);
  });

  it('stores a retried submission once and refuses a second answer to the same item, with the same errors', async () => {
    const id = await store.addItem(RANK[0]!);
    const c = nextCid();
    const a = await store.submit(alice, { clientId: c, itemId: id, answer: rank([[2]]), durationMs: 5 });
    const b = await store.submit(alice, { clientId: c, itemId: id, answer: rank([[2]]), durationMs: 5 });
    expect(a.duplicate).toBe(false);
    expect(b).toEqual({ answerId: a.answerId, duplicate: true });
    await expect(store.submit(alice, { clientId: nextCid(), itemId: id, answer: rank([[1]]), durationMs: 5 })).rejects.toThrow(/^itemId: you already answered/);
    await expect(store.submit(alice, { clientId: c, itemId: 'other', answer: rank([[1]]), durationMs: 5 })).rejects.toThrow(/^clientId: already used/);
    await expect(store.submit(alice, { clientId: nextCid(), itemId: 'nope', answer: rank([[0]]), durationMs: 1 })).rejects.toThrow(/^itemId: no item "nope"/);
    const err = await store.submit(bob, { clientId: nextCid(), itemId: id, answer: rank([[6]]), durationMs: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).field).toBe('answer.groups.0.0');
    expect(await store.exportRecords()).toHaveLength(1);
  });

  it('concurrent retries of one submission (two replicas) store it once', async () => {
    const r2 = await replica();
    const id = await store.addItem(RANK[0]!);
    const c = nextCid();
    const rs = await Promise.all(
      Array.from({ length: 8 }, (_, k) => (k % 2 ? r2 : store).submit(alice, { clientId: c, itemId: id, answer: rank([[1]]), durationMs: 5 })),
    );
    expect(rs.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(rs.map((r) => r.answerId)).size).toBe(1);
    expect(await r2.exportRecords()).toHaveLength(1);
  });

  it('skips are not offered again and do not count toward completion', async () => {
    const id = await store.addItem(RANK[0]!, { minAnnotations: 1 });
    await store.skip(alice, nextCid(), id, { reason: 'broken', comment: 'gripper hidden' });
    expect(await store.next(alice, { count: 1 })).toEqual([]);
    expect((await store.next(bob, { count: 1 })).map((i) => i.id)).toEqual([id]);
    expect(await store.exportRecords()).toEqual([]);
  });

  it('mixes in gold items every goldEvery-th item, each once per annotator', async () => {
    const s2 = await (async () => {
      const o = await engine.open({ goldEvery: 3, minWatch: 0 });
      extra.push(o.store);
      const prev = cleanup;
      cleanup = async () => {
        await prev();
        await o.cleanup();
      };
      return o.store;
    })();
    const u = (await s2.addUser('x', 'annotator')).user;
    for (const it of RANK.slice(0, 6)) await s2.addItem(it, { minAnnotations: 1 });
    await s2.addItem({ ...RANK[6]!, id: 'gold-item' }, { gold: rank([[0], [1]]) });
    const got = (await s2.next(u, { count: 5 })).map((i) => i.id);
    expect(got.indexOf('gold-item')).toBe(2);
    await s2.submit(u, { clientId: nextCid(), itemId: 'gold-item', answer: rank([[0], [1]]), durationMs: 1 });
    expect((await s2.next(u, { count: 5, have: got.filter((x) => x !== 'gold-item') })).map((i) => i.id)).not.toContain('gold-item');
    expect(await s2.exportRecords({ includeGold: false })).toEqual([]);
    expect(await s2.exportRecords()).toHaveLength(1);
  });

  it('stores a compare label given on swapped sides in the item order, and exports it', async () => {
    const [pair] = makeItems('compare', 1);
    const ps = await engine.open({ minWatch: 0, randomizeSides: true });
    extra.push(ps.store);
    const prev = cleanup;
    cleanup = async () => {
      await prev();
      await ps.cleanup();
    };
    const u = (await ps.store.addUser('x', 'annotator')).user;
    await ps.store.addItem(pair!);
    const [shown] = await ps.store.next(u, { count: 1 });
    const swapped = shown!.kind === 'compare' && pair!.kind === 'compare' && shown!.left.id !== pair!.left.id;
    await ps.store.submit(u, { clientId: nextCid(), itemId: pair!.id, answer: { kind: 'compare', label: 'left' }, durationMs: 1 });
    const [rec] = await ps.store.exportRecords();
    expect(rec).toMatchObject({ kind: 'segment_pair', label: swapped ? 'right' : 'left', annotation: { shownSwapped: swapped } });
  });

  it('an answer given on one replica is exported from the other', async () => {
    const r2 = await replica();
    const id = await store.addItem(RANK[0]!);
    await store.submit(alice, { clientId: nextCid(), itemId: id, answer: rank([[3], [1]]), durationMs: 7 });
    const [rec] = await r2.exportRecords();
    expect(rec).toMatchObject({ kind: 'ranking', stateId: 'state-0', groups: [[3], [1]], annotator: 'alice' });
  });

  it('pushed items (two replicas): concurrent retries store one, other content under a taken id is a conflict, answers export from either', async () => {
    const r2 = await replica();
    const other = { ...RANK[1]!, id: RANK[0]!.id };
    const replies = await Promise.all(Array.from({ length: 6 }, (_, k) => pushItems(k % 2 ? r2 : store, { item: RANK[0]!, minAnnotations: 1 })));
    expect(replies.map((r) => r.results[0]!.duplicate).filter((d) => !d)).toHaveLength(1);
    expect(await pushItems(r2, { items: [{ item: RANK[2]! }, { item: other }, { item: RANK[3]! }] })).toMatchObject({
      results: [{ id: RANK[2]!.id, duplicate: false }],
      index: 1,
      error: { code: 'conflict', field: 'items.1.item.id', message: `an item "${RANK[0]!.id}" exists with other content; a new item needs a new id` },
    });
    expect(await store.item(RANK[3]!.id)).toBeNull();
    expect((await store.next(alice, { count: 5 })).map((i) => i.id)).toEqual([RANK[0]!.id, RANK[2]!.id]);
    await r2.submit(alice, { clientId: nextCid(), itemId: RANK[0]!.id, answer: rank([[1], [0]]), durationMs: 5 });
    expect((await store.exportRecords()).map((r) => r.kind === 'ranking' && r.stateId)).toEqual(['state-0']);
  });

  it('computes agreement per item and annotator, gold accuracy and queue counts', async () => {
    const [r0, r1] = [await store.addItem(RANK[0]!), await store.addItem(RANK[1]!)];
    const [pair] = makeItems('compare', 1);
    const c0 = await store.addItem(pair!);
    await store.addItem({ ...RANK[2]!, id: 'gold-1' }, { gold: rank([[0], [1]]) });
    await store.submit(alice, { clientId: nextCid(), itemId: r0, answer: rank([[0], [1, 2]], [5]), durationMs: 1200 });
    await store.submit(bob, { clientId: nextCid(), itemId: r0, answer: rank([[0], [2], [1]]), durationMs: 800 });
    for (const [u, label] of [[alice, 'left'], [bob, 'left'], [carol, 'right']] as const)
      await store.submit(u, { clientId: nextCid(), itemId: c0, answer: { kind: 'compare', label }, durationMs: 900 });
    const undone = nextCid();
    await store.submit(carol, { clientId: undone, itemId: r1, answer: rank([[3]]), durationMs: 1 });
    await store.undo(carol, undone);
    await store.skip(carol, nextCid(), r0, { reason: 'unclear', comment: '' });
    await store.submit(alice, { clientId: nextCid(), itemId: 'gold-1', answer: rank([[0], [1]]), durationMs: 5 });
    const st = await store.agreementStats();
    expect(st.items.find((i) => i.itemId === c0)).toMatchObject({ agreement: 2 / 3, labels: { left: 2, right: 1 } });
    expect(st.items.find((i) => i.itemId === r0)!.agreement).toBeCloseTo(8 / 9);
    expect(st.annotators.find((a) => a.annotator === 'carol')).toMatchObject({ submitted: 1, skipped: 1, retracted: 1, agreement: 0 });
    expect(st.annotators.find((a) => a.annotator === 'alice')).toMatchObject({ medianDurationMs: 900, gold: { answered: 1, accuracy: 1 } });
    expect(st.queue).toMatchObject({ open: 2, complete: 1, retired: 0, gold: 1, flagged: 1 });
  });

  it('lists disagreements with every original answer, and a settled item exports one record with the settled label', async () => {
    const rev = (await store.addUser('rita', 'reviewer')).user;
    const [r0, r1, r2] = [await store.addItem(RANK[0]!), await store.addItem(RANK[1]!), await store.addItem(RANK[2]!)];
    const [pair] = makeItems('compare', 1);
    const c0 = await store.addItem(pair!);
    // r0: the rankings differ; r1: identical rankings (no disagreement); r2: one answer only; c0: left vs right.
    await store.submit(alice, { clientId: nextCid(), itemId: r0, answer: rank([[0], [1], [2]]), durationMs: 10 });
    await store.submit(bob, { clientId: nextCid(), itemId: r0, answer: rank([[2], [1], [0]]), durationMs: 20 });
    await store.submit(alice, { clientId: nextCid(), itemId: r1, answer: rank([[1], [0]]), durationMs: 10 });
    await store.submit(bob, { clientId: nextCid(), itemId: r1, answer: rank([[1], [0]]), durationMs: 10 });
    await store.submit(alice, { clientId: nextCid(), itemId: r2, answer: rank([[0]]), durationMs: 10 });
    for (const [u, label] of [[alice, 'left'], [bob, 'right'], [carol, 'left']] as const)
      await store.submit(u, { clientId: nextCid(), itemId: c0, answer: { kind: 'compare', label }, durationMs: 900 });

    const list = await store.disagreements();
    // c0: 2 of 3 agree; r0: 3 of the 12 candidate pairs are ordered the other way (the three unplaced
    // are below the placed ones for both), most disagreement first.
    expect(list.map((d) => [d.itemId, d.answers, +d.disagreement.toFixed(3)])).toEqual([[c0, 3, 0.333], [r0, 2, 0.25]]);
    expect(list[1]!.originals.map((o) => [o.annotator, o.answer])).toEqual([['alice', rank([[0], [1], [2]])], ['bob', rank([[2], [1], [0]])]]);
    expect(list[0]).toMatchObject({ kind: 'compare', task: pair!.task, labels: { left: 2, right: 1 }, settled: null });

    // Bad input names the field and what is allowed.
    await expect(store.settle(rev, 'nope', rank([[0]]))).rejects.toThrow(/^itemId: no item "nope"/);
    await expect(store.settle(rev, r1, rank([[0]]))).rejects.toThrow(/^itemId: "rank:state-1" has no disagreement to settle \(2 submitted answers, agreement 1\.000\)/);
    await expect(store.settle(rev, r2, rank([[0]]))).rejects.toThrow(/^itemId: .*no disagreement to settle \(1 submitted answer,/);
    const g = await store.addItem({ ...RANK[3]!, id: 'gold-r' }, { gold: rank([[0], [1]]) });
    await store.submit(alice, { clientId: nextCid(), itemId: g, answer: rank([[0], [1]]), durationMs: 1 });
    await store.submit(bob, { clientId: nextCid(), itemId: g, answer: rank([[1], [0]]), durationMs: 1 });
    await expect(store.settle(rev, g, rank([[0]]))).rejects.toThrow(/^itemId: "gold-r" is a gold item \(its answer is known\)/);
    await expect(store.settle(rev, r0, rank([[0], [6]]))).rejects.toThrow(/^label.groups.1.0: expected a candidate index in \[0, 5\], received 6/);
    await expect(store.settle(rev, r0, { kind: 'compare', label: 'left' })).rejects.toThrow(/^label.kind: expected rank \(the item's kind\), received compare/);
    await expect(store.settle(rev, c0, { kind: 'compare', label: 'up' })).rejects.toThrow(/^label.label: .*"left"\|"right"\|"tie"\|"cant_tell"/);
    await expect(store.settle(rev, c0, { kind: 'compare', label: 'left' }, 'x'.repeat(501))).rejects.toThrow(/^note: expected text of at most 500 characters/);
    const err = await store.settle(alice, c0, { kind: 'compare', label: 'left' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'forbidden', field: 'reviewer' });

    clock += 1000;
    const s1 = await store.settle(rev, c0, { kind: 'compare', label: 'right' }, 'first take');
    expect(s1).toMatchObject({ reviewer: 'rita', note: 'first take', at: clock, label: { kind: 'compare', label: 'right' } });
    clock += 1000;
    // Settling again replaces the label; the earlier one is kept as history.
    await store.settle(rev, c0, { kind: 'compare', label: 'left', strength: 'clear' }, 'the right clip drops the rope');
    expect((await store.disagreements()).map((d) => d.itemId)).toEqual([r0]);
    const all = await store.disagreements({ includeSettled: true });
    expect(all.find((d) => d.itemId === c0)).toMatchObject({
      settled: { reviewer: 'rita', label: { label: 'left' }, note: 'the right clip drops the rope' },
      replaced: [{ label: { label: 'right' }, note: 'first take' }],
    });
    expect(all.find((d) => d.itemId === c0)!.originals).toHaveLength(3);

    // Export: one settled record for c0 instead of its three answers; originals only when asked, marked.
    const recs = await store.exportRecords();
    const pairs = recs.filter((r) => r.kind === 'segment_pair');
    expect(pairs).toEqual([
      {
        kind: 'segment_pair',
        left: pair!.kind === 'compare' ? pair!.left.id : '',
        right: pair!.kind === 'compare' ? pair!.right.id : '',
        label: 'left',
        annotator: 'rita',
        source: 'human',
        time: clock,
        annotation: {
          itemId: c0,
          assignedAt: null,
          durationMs: null,
          client: null,
          shownSwapped: false,
          strength: 'clear',
          settled: { by: 'rita', at: clock, note: 'the right clip drops the rope', answers: 3 },
        },
      },
    ]);
    expect(recs.filter((r) => r.kind === 'ranking')).toHaveLength(7);
    const withOriginals = await store.exportRecords({ originals: true, kind: 'segment_pair' });
    expect(withOriginals.map((r) => [r.annotator, r.kind === 'segment_pair' ? r.label : '', !!r.annotation?.original, !!r.annotation?.settled])).toEqual([
      ['alice', 'left', true, false],
      ['bob', 'right', true, false],
      ['carol', 'left', true, false],
      ['rita', 'left', false, true],
    ]);
    expect(await store.exportRecords({ kind: 'ranking', originals: true })).toHaveLength(7);
    expect(await store.exportRecords({ since: clock + 1 })).toEqual([]);

    const st = await store.agreementStats();
    expect(st.review).toEqual({ disagreements: 2, settled: 1, open: 1 });
    expect(st.items.find((i) => i.itemId === c0)!.settled).toBe(true);
  });

  it("gives each annotator Krippendorff's α over the candidates of the items they ranked (hand-computed)", async () => {
    const [r0, r1] = [await store.addItem(RANK[0]!), await store.addItem(RANK[1]!)];
    // r0: alice 0 > 1 > 2, bob 0 > 2 > 1 → units (fractional positions) {0,0}, {½,1}, {1,½}; the other
    // candidates are marked not comparable (missing values). r1: bob and carol rank alike.
    await store.submit(alice, { clientId: nextCid(), itemId: r0, answer: rank([[0], [1], [2]], [3, 4, 5]), durationMs: 1 });
    await store.submit(bob, { clientId: nextCid(), itemId: r0, answer: rank([[0], [2], [1]], [3, 4, 5]), durationMs: 1 });
    await store.submit(bob, { clientId: nextCid(), itemId: r1, answer: rank([[0], [1]], [2, 3, 4, 5]), durationMs: 1 });
    await store.submit(carol, { clientId: nextCid(), itemId: r1, answer: rank([[0], [1]], [2, 3, 4, 5]), durationMs: 1 });
    const st = await store.agreementStats();
    const alpha = (who: string) => st.annotators.find((a) => a.annotator === who)!.rankAlpha;
    // alice (r0 only): n = 6 values, D_o = (0 + 2·¼ + 2·¼)/6 = 1/6; D_e = (2·6·2.5 − 2·3²)/(6·5) = 0.4; α = 1 − (1/6)/0.4 = 7/12.
    expect(alpha('alice')).toBeCloseTo(7 / 12, 10);
    // carol (r1 only): perfect agreement.
    expect(alpha('carol')).toBe(1);
    // bob (both items): r0's units plus {0,0}, {1,1}: n = 10, D_o = 1/10, Σv = 5, Σv² = 4.5 → D_e = (2·10·4.5 − 2·25)/90 = 4/9; α = 1 − 0.1/(4/9) = 31/40.
    expect(alpha('bob')).toBeCloseTo(31 / 40, 10);
    expect(st.rankAlpha).toBeCloseTo(31 / 40, 10);
  });

  it('never leases one item to two annotators over 1,000 concurrent next requests on two replicas', async () => {
    const r2 = await replica();
    const many = makeItems('rank', 600, 'load');
    for (const it of many) await store.addItem(it, { minAnnotations: 1 });
    const users: User[] = [];
    for (let k = 0; k < 1000; k++) users.push((await store.addUser(`u${k}`, 'annotator')).user);
    // One request per annotator, all at once, alternating between the replicas.
    const got = await Promise.all(users.map((u, k) => (k % 2 ? r2 : store).nextRaw(u, { count: 1 })));
    const owner = new Map<string, number>();
    for (const [k, out] of got.entries())
      for (const s of out) {
        const id = (JSON.parse(s) as Item).id;
        expect(owner.has(id), `${id} leased twice`).toBe(false);
        owner.set(id, users[k]!.id);
      }
    // 1,000 requests for 600 items: every item was handed out, each to exactly one annotator.
    expect(owner.size).toBe(600);
    expect(got.filter((o) => o.length === 0)).toHaveLength(400);
  }, 60_000);
});

describe.skipIf(!PG_URL)('PostgreSQL migrations', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  beforeAll(async () => {
    db = await freshDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('has every SQLite migration version, and four replicas starting together migrate once', async () => {
    expect(PG_MIGRATIONS.map((m) => [m.version, m.description])).toEqual(MIGRATIONS.map((m) => [m.version, m.description]));
    const stores = await Promise.all(Array.from({ length: 4 }, () => PgStore.open(db.url)));
    const v = await stores[0]!.version();
    expect(v).toBe(MIGRATIONS.at(-1)!.version);
    const rows = await stores[0]!.pool.query<{ version: number }>('SELECT version FROM pamstack_schema ORDER BY version');
    expect(rows.rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    const c = await stores[0]!.pool.connect();
    expect(await migratePg(c)).toEqual([]);
    // A database newer than this code is refused.
    await c.query('INSERT INTO pamstack_schema (version, applied_at) VALUES (99, 0)');
    await expect(migratePg(c)).rejects.toThrow(/schema version 99 is newer/);
    await c.query('DELETE FROM pamstack_schema WHERE version = 99');
    c.release();
    for (const s of stores) await s.close();
  });

  it('applies each version atomically: a failing migration leaves the previous version', async () => {
    const d2 = await freshDatabase();
    const c = new pg.Client({ connectionString: d2.url });
    await c.connect();
    const ms = [
      { version: 1, description: 'a', sql: 'CREATE TABLE a (x int)' },
      { version: 2, description: 'b', sql: 'CREATE TABLE b (x int); CREATE TABLE a (x int)' },
    ];
    await expect(migratePg(c, ms)).rejects.toThrow(/"a" already exists/);
    const t = await c.query("SELECT to_regclass('b') AS b");
    expect(t.rows[0].b).toBeNull();
    expect((await c.query('SELECT max(version) AS v FROM pamstack_schema')).rows[0].v).toBe(1);
    await c.end();
    await d2.drop();
  });
});
