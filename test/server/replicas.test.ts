// Two server replicas on one PostgreSQL database (runs when PAMSTACK_TEST_PG names a server): they share
// the queue, users and tokens; an answer given on one is exported from the other; disabling a user from
// another process closes that user's sockets on both (LISTEN/NOTIFY, with polling set far apart); 1,000
// concurrent `next` requests spread over both never lease one item to two annotators.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Item, ServerMessage } from '../../src/core/protocol.ts';
import { startServer, type PamServer } from '../../src/server/server.ts';
import { PgStore } from '../../src/store/pg-store.ts';
import { Store } from '../../src/store/store.ts';
import { freshDatabase, PG_URL } from '../store/_pg.ts';
import { addRankItems, connect, TestClient } from './_helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/pamstack.js', import.meta.url));
const run = promisify(execFile);

/** Rank items made with the test helpers on a scratch SQLite store, to add to PostgreSQL. */
function rankItems(n: number, prefix: string): Item[] {
  const s = new Store(':memory:');
  const items = addRankItems(s, n, { points: 16, prefix }).map((id) => s.item(id)!);
  s.close();
  return items;
}

const closedWithin = async (c: TestClient, ms: number) => {
  const t0 = Date.now();
  while (!c.closed && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 10));
  return c.closed;
};

describe.skipIf(!PG_URL)('two replicas on one PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let stores: PgStore[] = [];
  let servers: PamServer[] = [];
  let adminToken = '';
  const logs: string[] = [];

  beforeAll(async () => {
    db = await freshDatabase();
    // Each replica has its own pool, as two `pamstack serve` processes would.
    stores = [await PgStore.open(db.url, { goldEvery: 0, minWatch: 0 }), await PgStore.open(db.url, { goldEvery: 0, minWatch: 0 })];
    servers = await Promise.all(
      stores.map((store, i) =>
        startServer({
          port: 0,
          store,
          webRoot: false,
          // Polling a minute apart: only a notification can close a socket within the test.
          revalidateMs: 60_000,
          access: { maxConnections: 2000, maxPerAddress: 2000 },
          log: (l) => logs.push(`${'AB'[i]}: ${l}`),
        }),
      ),
    );
    adminToken = (await stores[0]!.addUser('adm', 'admin')).token;
  }, 60_000);

  afterAll(async () => {
    for (const s of servers) await s.close();
    for (const s of stores) await s.close();
    await db?.drop();
  });

  it('an answer given over the WebSocket of replica A is in the export of replica B', async () => {
    const [item] = rankItems(1, 'export');
    await stores[1]!.addItem(item!, { minAnnotations: 1 });
    const { token } = await stores[1]!.addUser('exa', 'annotator');
    const a = await connect(servers[0]!.url, token);
    const got = (await a.request({ op: 'next', count: 1 })) as Extract<ServerMessage, { op: 'items' }>;
    expect(got.items.map((i) => i.id)).toEqual([item!.id]);
    const ack = await a.request({ op: 'submit', clientId: 'export-answer-1', itemId: item!.id, answer: { kind: 'rank', groups: [[4], [2]], notComparable: [], idealBeatsAll: false }, durationMs: 300 });
    expect(ack).toMatchObject({ op: 'ack', clientId: 'export-answer-1', duplicate: false });
    a.close();
    const res = await fetch(new URL('/api/export', servers[1]!.url), { headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status).toBe(200);
    const records = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { stateId: string; groups: number[][]; annotator: string });
    expect(records).toEqual([expect.objectContaining({ stateId: 'export-0', groups: [[4], [2]], annotator: 'exa' })]);
  });

  it('`pamstack users disable` in another process closes the user’s sockets on both replicas within a second; a new token does the same', async () => {
    const { token } = await stores[0]!.addUser('alice', 'annotator');
    const bob = await stores[1]!.addUser('bob', 'annotator');
    const onA = await connect(servers[0]!.url, token);
    const onB = await connect(servers[1]!.url, token);
    const bobOnB = await connect(servers[1]!.url, bob.token);
    await run(process.execPath, [BIN, 'users', 'disable', '--name', 'alice', '--db', db.url], { timeout: 60_000 });
    // The command has exited, so its transaction (and the notification) committed.
    const [a, b] = await Promise.all([closedWithin(onA, 1000), closedWithin(onB, 1000)]);
    expect(a).toEqual({ code: 1008, reason: 'user disabled' });
    expect(b).toEqual({ code: 1008, reason: 'user disabled' });
    expect(bobOnB.closed).toBeNull();
    expect(await bobOnB.request({ op: 'ping' })).toMatchObject({ op: 'pong' });
    await expect(connect(servers[1]!.url, token)).rejects.toThrow(/auth refused/);
    // A token replaced through replica B's store closes bob's socket on B and one opened on A.
    const bobOnA = await connect(servers[0]!.url, bob.token);
    const fresh = await stores[1]!.rotateToken('bob');
    expect(await Promise.all([closedWithin(bobOnA, 1000), closedWithin(bobOnB, 1000)])).toEqual([
      { code: 1008, reason: 'token replaced' },
      { code: 1008, reason: 'token replaced' },
    ]);
    const again = await connect(servers[0]!.url, fresh);
    expect(await again.request({ op: 'ping' })).toMatchObject({ op: 'pong' });
    again.close();
  }, 90_000);

  it('never leases one item to two annotators over 1,000 concurrent next requests spread over both replicas', async () => {
    const items = rankItems(600, 'lease');
    await stores[0]!.addItems(items.map((item) => ({ item, opts: { minAnnotations: 1 } })));
    const people = await Promise.all(Array.from({ length: 1000 }, (_, i) => stores[i % 2]!.addUser(`lease${i}`, 'annotator')));
    const clients = await Promise.all(people.map((p, i) => connect(servers[i % 2]!.url, p.token)));
    const replies = await Promise.all(clients.map((c) => c.request({ op: 'next', count: 1, kinds: ['rank'] }, 60_000)));
    for (const c of clients) c.close();
    const handed = replies.flatMap((r) => (r.op === 'items' ? r.items.map((i) => i.id) : []));
    expect(replies.every((r) => r.op === 'items')).toBe(true);
    expect(handed).toHaveLength(600);
    expect(new Set(handed).size).toBe(600);
    const leases = await stores[1]!.pool.query<{ item_id: string; n: number }>(
      `SELECT item_id, count(*) AS n FROM leases WHERE item_id LIKE 'rank:lease-%' GROUP BY item_id HAVING count(*) > 1`,
    );
    expect(leases.rows).toEqual([]);
  }, 180_000);
});
