import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RankingSchema, SegmentPairSchema } from '../../src/core/preference.ts';
import type { Answer } from '../../src/core/protocol.ts';
import { exportJsonl, exportRecords } from '../../src/store/export.ts';
import { pairDisagreement, rankDisagreement } from '../../src/store/items.ts';
import { migrate, MIGRATIONS } from '../../src/store/migrations.ts';
import { agreementStats, rankConcordance } from '../../src/store/stats.ts';
import { StoreError } from '../../src/store/store-error.ts';
import { Store } from '../../src/store/store.ts';
import type { User } from '../../src/store/users.ts';
import { addCompareItems, addRankItems, tempDir } from '../server/_helpers.ts';

let tmp: ReturnType<typeof tempDir>;
let clock: number;
let store: Store;
let alice: User, bob: User, carol: User;

beforeEach(() => {
  tmp = tempDir();
  clock = 1_700_000_000_000;
  store = new Store(join(tmp.dir, 'db.sqlite'), { now: () => clock, leaseMs: 60_000, goldEvery: 0, minWatch: 0 });
  alice = store.users.add('alice', 'annotator').user;
  bob = store.users.add('bob', 'annotator').user;
  carol = store.users.add('carol', 'annotator').user;
});

afterEach(() => {
  store.close();
  tmp.cleanup();
});

let cid = 0;
const nextCid = () => `client-${String(++cid).padStart(6, '0')}`;
const rank = (groups: number[][], extra: Partial<Extract<Answer, { kind: 'rank' }>> = {}): Answer => ({ kind: 'rank', groups, notComparable: [], idealBeatsAll: false, ...extra });

describe('migrations', () => {
  it('creates the schema at the latest version and re-opening applies nothing', () => {
    expect(store.version).toBe(MIGRATIONS.at(-1)!.version);
    expect(migrate(store.db)).toEqual([]);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('refuses a database newer than this code', () => {
    const db = new Database(':memory:');
    db.pragma('user_version = 99');
    expect(() => migrate(db)).toThrow(/schema version 99 is newer/);
    db.close();
  });

  it('applies only the missing versions, in order, each atomically', () => {
    const db = new Database(':memory:');
    const ms = [
      { version: 1, description: 'a', sql: 'CREATE TABLE a (x)' },
      { version: 2, description: 'b', sql: 'CREATE TABLE b (x)' },
    ];
    expect(migrate(db, ms.slice(0, 1))).toEqual([1]);
    expect(migrate(db, ms)).toEqual([2]);
    expect(() => migrate(db, [...ms, { version: 3, description: 'bad', sql: 'CREATE TABLE c (x); SELECT nonsense(' }])).toThrow();
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'c'").get()).toEqual({ n: 0 });
    db.close();
  });
  it("widens the roles on a version-5 database with answers, keeping every user and reference", () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    expect(migrate(db, MIGRATIONS.filter((m) => m.version <= 5))).toEqual([1, 2, 3, 4, 5]);
    db.prepare("INSERT INTO users (id, name, role, token_hash, created_at) VALUES (7, 'ann', 'annotator', 'h7', 1)").run();
    db.prepare("INSERT INTO teleop (user_id, client_id, primitive, status, created_at) VALUES (7, 'c1', 'pick_place', 'executed', 2)").run();
    expect(() => db.prepare("INSERT INTO users (name, role, token_hash, created_at) VALUES ('r', 'robot', 'h8', 1)").run()).toThrow(/CHECK/);
    expect(migrate(db, MIGRATIONS.filter((m) => m.version <= 6))).toEqual([6]);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.prepare("INSERT INTO users (name, role, token_hash, created_at) VALUES ('r', 'robot', 'h8', 1)").run();
    db.prepare("INSERT INTO users (name, role, token_hash, created_at) VALUES ('v', 'reviewer', 'h9', 1)").run();
    expect(() => db.prepare("INSERT INTO users (name, role, token_hash, created_at) VALUES ('x', 'boss', 'h10', 1)").run()).toThrow(/CHECK/);
    expect(db.prepare('SELECT u.name FROM teleop t JOIN users u ON u.id = t.user_id').get()).toEqual({ name: 'ann' });
    // The teleop log still references users: a teleop row for a missing user is refused.
    expect(() => db.prepare("INSERT INTO teleop (user_id, client_id, primitive, status, created_at) VALUES (99, 'c2', 'sweep', 'executed', 3)").run()).toThrow(/FOREIGN KEY/);
    db.close();
  });
});

describe('users', () => {
  it('stores only the token hash and authenticates by token', () => {
    const { user, token } = store.users.add('dave', 'operator');
    expect(token).toMatch(/^pam_[A-Za-z0-9_-]{43}$/);
    expect(store.users.authenticate(token)?.name).toBe('dave');
    expect(store.users.authenticate(token + 'x')).toBeNull();
    store.db.pragma('wal_checkpoint(TRUNCATE)');
    expect(readFileSync(store.path).includes(Buffer.from(token))).toBe(false);
    store.users.setDisabled('dave', true);
    expect(store.users.authenticate(token)).toBeNull();
    expect(user.role).toBe('operator');
  });

  it.each([
    ['', 'name'],
    ['has space', 'name'],
    ['alice', 'name'],
  ])('refuses name %j naming field %s', (name, field) => {
    try {
      store.users.add(name, 'annotator');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(StoreError);
      expect((e as StoreError).field).toBe(field);
    }
  });

  it('refuses an unknown role', () => {
    expect(() => store.users.add('eve', 'root' as never)).toThrow(/role: expected one of admin, annotator, operator/);
  });
});

describe('items', () => {
  it('validates items and names the bad field', () => {
    const [id] = addRankItems(store, 1);
    const item = store.item(id!)!;
    expect(() => store.addItem(item)).toThrow(/item.id: an item/);
    const bad = { ...item, id: 'x', candidates: [item.kind === 'rank' ? item.candidates[0]! : null, { primitive: { kind: 'sweep', a: [0, 0, 0], b: [1, 0, 0] } }] };
    expect(() => store.addItem(bad as never)).toThrow(/item.candidates.1.primitive.kind: expected pick_place/);
    expect(() => store.addItem({ ...item, id: 'y', task: 'nope' } as never)).toThrow(/item.task/);
    expect(() => store.addItem({ ...item, id: 'z' }, { gold: rank([[7]]) })).toThrow(/gold.groups.0.0: expected a candidate index in \[0, 5\]/);
  });
});

describe('queue', () => {
  it('leases each item to at most minAnnotations annotators at a time and leases expire', () => {
    addRankItems(store, 1, { minAnnotations: 2 });
    expect(store.next(alice, { count: 3 }).length).toBe(1);
    expect(store.next(bob, { count: 3 }).length).toBe(1);
    expect(store.next(carol, { count: 3 }).length).toBe(0);
    clock += 61_000;
    expect(store.next(carol, { count: 3 }).length).toBe(1);
  });

  it('gives back items leased to the user that the client does not hold, and renews the held ones', () => {
    const ids = addRankItems(store, 3, { minAnnotations: 1 });
    const first = store.next(alice, { count: 2 }).map((i) => i.id);
    expect(first).toEqual(ids.slice(0, 2));
    // A reconnecting client holding nothing gets its leased items again before new ones.
    expect(store.next(alice, { count: 2 }).map((i) => i.id)).toEqual(ids.slice(0, 2));
    clock += 50_000;
    expect(store.next(alice, { count: 1, have: ids.slice(0, 2) }).map((i) => i.id)).toEqual([ids[2]]);
    clock += 50_000; // the held ones were renewed at the last call, so bob still cannot have them
    expect(store.next(bob, { count: 3 }).length).toBe(0);
  });

  it('completes an item after minAnnotations answers and reopens it on undo', () => {
    const [id] = addRankItems(store, 1, { minAnnotations: 2 });
    store.next(alice, { count: 1 });
    const c1 = nextCid();
    store.submit(alice, { clientId: c1, itemId: id!, answer: rank([[0]]), durationMs: 1000 });
    store.submit(bob, { clientId: nextCid(), itemId: id!, answer: rank([[1], [0]]), durationMs: 1000 });
    expect(store.progress(carol).queue).toEqual({ total: 1, complete: 1, available: 0 });
    expect(store.next(carol, { count: 1 })).toEqual([]);
    expect(store.undo(alice, c1)).toEqual({ itemId: id });
    expect(store.progress(carol).queue.complete).toBe(0);
    // The undo leases the item back to alice (her client shows it again), so it is not free for carol yet.
    expect(store.next(carol, { count: 1 })).toEqual([]);
    expect(store.next(alice, { count: 1 }).map((i) => i.id)).toEqual([id]);
    clock += 61_000;
    expect(store.next(carol, { count: 1 }).map((i) => i.id)).toEqual([id]);
  });

  it('stores a retried submission once and refuses a second answer to the same item', () => {
    const [id] = addRankItems(store, 1);
    const c = nextCid();
    const a = store.submit(alice, { clientId: c, itemId: id!, answer: rank([[2]]), durationMs: 5 });
    const b = store.submit(alice, { clientId: c, itemId: id!, answer: rank([[2]]), durationMs: 5 });
    expect(a.duplicate).toBe(false);
    expect(b).toEqual({ answerId: a.answerId, duplicate: true });
    expect(() => store.submit(alice, { clientId: nextCid(), itemId: id!, answer: rank([[1]]), durationMs: 5 })).toThrow(/itemId: you already answered/);
    expect(() => store.submit(alice, { clientId: c, itemId: 'other', answer: rank([[1]]), durationMs: 5 })).toThrow(/clientId: already used/);
    expect(store.db.prepare('SELECT count(*) AS n FROM answers').get()).toEqual({ n: 1 });
  });

  it.each([
    [rank([[6]]), 'answer.groups.0.0', /expected a candidate index in \[0, 5\]/],
    [rank([[1], [1]]), 'answer.groups.1.0', /placed twice/],
    [rank([[1]], { notComparable: [1] }), 'answer.notComparable.0', /placed twice/],
    [{ kind: 'compare', label: 'left' } as Answer, 'answer.kind', /expected rank/],
    [rank([[0]], { ideal: { kind: 'sweep', a: [0, 0, 0], b: [0.1, 0, 0] } }), 'answer.ideal.kind', /expected pick_place/],
    [{ kind: 'rank', groups: [] } as unknown as Answer, 'answer.groups', /too small|>=1/i],
  ])('refuses answer %j naming %s', (answer, field, msg) => {
    const [id] = addRankItems(store, 1);
    try {
      store.submit(alice, { clientId: nextCid(), itemId: id!, answer, durationMs: 1 });
      expect.unreachable();
    } catch (e) {
      expect((e as StoreError).field).toBe(field);
      expect((e as StoreError).message).toMatch(msg);
    }
    expect(store.db.prepare('SELECT count(*) AS n FROM answers').get()).toEqual({ n: 0 });
  });

  it('refuses an unknown item', () => {
    expect(() => store.submit(alice, { clientId: nextCid(), itemId: 'nope', answer: rank([[0]]), durationMs: 1 })).toThrow(/itemId: no item "nope"/);
  });

  it('skips are not offered again and do not count toward completion', () => {
    const [id] = addRankItems(store, 1, { minAnnotations: 1 });
    store.skip(alice, nextCid(), id!);
    expect(store.next(alice, { count: 1 })).toEqual([]);
    expect(store.next(bob, { count: 1 }).map((i) => i.id)).toEqual([id]);
    expect(store.progress(alice).mine).toEqual({ submitted: 0, skipped: 1, today: 0 });
  });

  it('serves the items where reward models disagree most first (active ordering hook)', () => {
    const ids = addRankItems(store, 4, { minAnnotations: 2 });
    store.setDisagreement(ids[2]!, 0.9);
    store.setDisagreement(ids[1]!, 0.4);
    expect(store.next(alice, { count: 4 }).map((i) => i.id)).toEqual([ids[2], ids[1], ids[0], ids[3]]);
    // reorder() recomputes every open item's key, e.g. from several reward models' scores.
    store.reorder((it) => (it.id === ids[3] ? 1 : 0));
    expect(store.next(bob, { count: 1 }).map((i) => i.id)).toEqual([ids[3]]);
  });

  it('mixes in gold items every goldEvery-th item, each once per annotator', () => {
    const s2 = new Store(join(tmp.dir, 'gold.sqlite'), { goldEvery: 3 });
    const u = s2.users.add('x', 'annotator').user;
    const ids = addRankItems(s2, 6, { minAnnotations: 1 });
    const [gi] = addRankItems(s2, 1, { prefix: 'gold' });
    s2.retireItem(gi!);
    const g = s2.item(gi!)!;
    s2.addItem({ ...g, id: 'gold-item' }, { gold: rank([[0], [1]]) });
    const got = s2.next(u, { count: 5 }).map((i) => i.id);
    expect(got.indexOf('gold-item')).toBe(2);
    expect(got.filter((x) => ids.includes(x)).length).toBe(4);
    s2.submit(u, { clientId: nextCid(), itemId: 'gold-item', answer: rank([[0], [1]]), durationMs: 1 });
    expect(s2.next(u, { count: 5, have: got.filter((x) => x !== 'gold-item') }).map((i) => i.id)).not.toContain('gold-item');
    s2.close();
  });
});

describe('export and statistics', () => {
  function answerSome(): { r: string[]; c: string[] } {
    const r = addRankItems(store, 2, { minAnnotations: 3 });
    const c = addCompareItems(store, 1, { minAnnotations: 3 });
    store.submit(alice, { clientId: nextCid(), itemId: r[0]!, answer: rank([[0], [1, 2]], { notComparable: [5], ideal: { kind: 'pick_place', a: [0, 0, 0.01], b: [0.1, 0, 0.01] }, idealBeatsAll: true }), durationMs: 1200 });
    store.submit(bob, { clientId: nextCid(), itemId: r[0]!, answer: rank([[0], [2], [1]]), durationMs: 800 });
    store.submit(alice, { clientId: nextCid(), itemId: c[0]!, answer: { kind: 'compare', label: 'left' }, durationMs: 900 });
    store.submit(bob, { clientId: nextCid(), itemId: c[0]!, answer: { kind: 'compare', label: 'left' }, durationMs: 900 });
    store.submit(carol, { clientId: nextCid(), itemId: c[0]!, answer: { kind: 'compare', label: 'right' }, durationMs: 900 });
    const undone = nextCid();
    store.submit(carol, { clientId: undone, itemId: r[1]!, answer: rank([[3]]), durationMs: 1 });
    store.undo(carol, undone);
    store.skip(carol, nextCid(), r[0]!);
    return { r, c };
  }

  it('exports exactly the submitted answers as Ranking and SegmentPair records', () => {
    answerSome();
    const recs = [...exportRecords(store)];
    expect(recs.map((r) => r.kind)).toEqual(['ranking', 'ranking', 'segment_pair', 'segment_pair', 'segment_pair']);
    const first = RankingSchema.parse(recs[0]);
    expect(first).toMatchObject({ stateId: 'state-0', candidateCount: 6, groups: [[0], [1, 2]], notComparable: [5], idealBeatsAll: true, annotator: 'alice', source: 'human' });
    expect(first.ideal).toEqual({ kind: 'pick_place', a: [0, 0, 0.01], b: [0.1, 0, 0.01] });
    const pair = SegmentPairSchema.parse(recs[2]);
    expect(pair).toMatchObject({ left: 'seg-0-a', right: 'seg-0-b', label: 'left', annotator: 'alice' });

    const path = join(tmp.dir, 'out.jsonl');
    expect(exportJsonl(store, path, { kind: 'ranking' })).toEqual({ rankings: 2, segmentPairs: 0 });
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.map((l) => RankingSchema.parse(JSON.parse(l)).annotator)).toEqual(['alice', 'bob']);
  });

  it('computes agreement per item and per annotator, and gold accuracy', () => {
    const { c } = answerSome();
    const st = agreementStats(store);
    const pair = st.items.find((i) => i.itemId === c[0])!;
    expect(pair.agreement).toBeCloseTo(2 / 3);
    expect(pair.labels).toEqual({ left: 2, right: 1 });
    const r0 = st.items.find((i) => i.itemId === 'rank:state-0')!;
    // alice: 0 > {1,2} > rest(3,4), 5 n/c; bob: 0 > 2 > 1 > rest(3,4,5). Comparable pairs by both: 9, agree on 8 (1 vs 2 differs).
    expect(r0.agreement).toBeCloseTo(8 / 9);
    const carolStats = st.annotators.find((a) => a.annotator === 'carol')!;
    expect(carolStats).toMatchObject({ submitted: 1, skipped: 1, retracted: 1, agreement: 0 });
    expect(st.annotators.find((a) => a.annotator === 'alice')!.medianDurationMs).toBe(1200);
  });

  it('rank concordance ignores candidates left in "the rest" by both and not-comparable ones', () => {
    expect(rankConcordance(rank([[0]]) as never, rank([[0]]) as never, 3)).toBe(1);
    expect(rankConcordance(rank([[0], [1]]) as never, rank([[1], [0]]) as never, 2)).toBe(0);
    expect(rankConcordance(rank([[0]], { notComparable: [1] }) as never, rank([[1]]) as never, 2)).toBeNull();
  });

  it('reward-model disagreement is 0 when models agree and grows with discordance', () => {
    expect(rankDisagreement([[1, 2, 3], [2, 4, 6]])).toBe(0);
    expect(rankDisagreement([[1, 2, 3], [3, 2, 1]])).toBe(1);
    expect(pairDisagreement([0.5, 0.5])).toBe(0);
    expect(pairDisagreement([0, 1])).toBe(1);
  });
});
