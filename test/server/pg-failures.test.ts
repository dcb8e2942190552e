// Failures on PostgreSQL (runs when PAMSTACK_TEST_PG names a server): a `pamstack serve` replica killed
// with SIGKILL mid-submission loses no acknowledged answer and stores each resent one once (the clients
// resend to the other replica); PostgreSQL restarted under load does not take the server down, clients
// resend what was answered `unavailable`, and nothing acknowledged is lost or stored twice.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { Item } from '../../src/core/protocol.ts';
import { PgStore } from '../../src/store/pg-store.ts';
import { Store } from '../../src/store/store.ts';
import { spareTcpPort } from '../../bench/_pg.ts';
import { freshDatabase, PG_URL } from '../store/_pg.ts';
import { addRankItems, annotate, annotatorOf, connect, newLedger, requestRetrying, serveProcess, servers, type Ledger } from './_helpers.ts';

const CLUSTER = fileURLToPath(new URL('../../.ci/pg-cluster', import.meta.url));
const run = promisify(execFile);
const cleanups: (() => Promise<void> | void)[] = [];

afterAll(async () => {
  for (const c of servers) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const f of cleanups.reverse()) await f();
});

function rankItems(n: number): Item[] {
  const s = new Store(':memory:');
  const items = addRankItems(s, n, { points: 16 }).map((id) => s.item(id)!);
  s.close();
  return items;
}

/** Users and items on the database at `url`: `people` annotators and `items` rank items each answered by all of them. */
async function setUp(url: string, people: number, items: number) {
  const s = await PgStore.open(url);
  const users = [];
  for (let i = 0; i < people; i++) users.push({ who: `ann${i}`, token: (await s.addUser(`ann${i}`, 'annotator')).token });
  await s.addItems(rankItems(items).map((item) => ({ item, opts: { minAnnotations: people } })));
  return { store: s, users };
}

/** The submitted answers by client id, and how many there are. */
async function storedAnswers(s: PgStore) {
  const rows = (await s.pool.query<{ client_id: string; user_id: number; item_id: string }>("SELECT client_id, user_id, item_id FROM answers WHERE status = 'submitted'")).rows;
  return { rows, byClient: new Map(rows.map((r) => [r.client_id, r])) };
}

/** Every acknowledged answer is stored, every sent one exactly once, and no annotator answered an item twice. */
async function expectOnceEach(s: PgStore, ledger: Ledger, exportUrl: string, adminToken: string) {
  const { rows, byClient } = await storedAnswers(s);
  for (const id of ledger.acked) expect(byClient.has(id), `acknowledged ${id} lost`).toBe(true);
  expect(rows.length).toBe(ledger.sent.size);
  expect(byClient.size).toBe(rows.length);
  expect(new Set(rows.map((r) => `${r.user_id}|${r.item_id}`)).size).toBe(rows.length);
  const res = await fetch(new URL('/api/export', exportUrl), { headers: { authorization: `Bearer ${adminToken}` } });
  expect(res.status).toBe(200);
  expect((await res.text()).trim().split('\n')).toHaveLength(ledger.sent.size);
}

const until = async (cond: () => boolean, ms: number) => {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 5));
};

describe.skipIf(!PG_URL)('failures on PostgreSQL', () => {
  it('SIGKILL of one replica mid-submission: no acknowledged answer lost, resent ones stored once via the other replica', async () => {
    const db = await freshDatabase();
    cleanups.push(db.drop);
    const { store, users } = await setUp(db.url, 10, 400);
    cleanups.push(() => store.close());
    const adminToken = (await store.addUser('adm', 'admin')).token;
    const [a, b] = await Promise.all([serveProcess(db.url), serveProcess(db.url)]);
    const ledger = newLedger();
    // Half the annotators work on A, half on B, several answers in flight each.
    const onA = users.slice(0, 5);
    const onB = users.slice(5);
    const clientsA = await Promise.all(onA.map((p) => connect(a.url, p.token)));
    const clientsB = await Promise.all(onB.map((p) => connect(b.url, p.token)));
    const runningA = clientsA.map((c, i) => annotate(c, onA[i]!.who, ledger, { limit: 400, batch: 4 }));
    const runningB = clientsB.map((c, i) => annotate(c, onB[i]!.who, ledger, { limit: 400, batch: 4 }));
    await until(() => ledger.acked.size >= 300, 120_000);
    a.child.kill('SIGKILL');
    await Promise.all(runningA);
    const ackedAtKill = new Set(ledger.acked);
    expect(ackedAtKill.size).toBeGreaterThanOrEqual(300);
    // A's annotators move to B and resend what A did not acknowledge, with the same client ids, and
    // some acknowledged ones (a client that never saw its ack): those must come back as duplicates.
    const fromA = new Set(onA.map((p) => p.who));
    const unacked = [...ledger.sent.keys()].filter((k) => fromA.has(annotatorOf(k)) && !ledger.acked.has(k));
    const resentAcked = [...ackedAtKill].filter((k) => fromA.has(annotatorOf(k))).slice(0, 20);
    const moved = await Promise.all(onA.map((p) => connect(b.url, p.token)));
    const duplicate = new Map<string, boolean>();
    await Promise.all(
      [...unacked, ...resentAcked].map(async (clientId) => {
        const c = moved[onA.findIndex((p) => p.who === annotatorOf(clientId))]!;
        const r = await requestRetrying(c, { op: 'submit', clientId, itemId: ledger.sent.get(clientId), answer: { kind: 'rank', groups: [[0]] }, durationMs: 100 }, ledger);
        expect(r).toMatchObject({ op: 'ack', clientId });
        ledger.acked.add(clientId);
        duplicate.set(clientId, (r as { duplicate: boolean }).duplicate);
      }),
    );
    await Promise.all(runningB);
    for (const c of [...clientsB, ...moved]) c.close();
    for (const id of resentAcked) expect(duplicate.get(id), `acknowledged ${id} resent`).toBe(true);
    expect(b.child.exitCode).toBeNull();
    await expectOnceEach(store, ledger, b.url, adminToken);
    b.child.kill('SIGTERM');
  }, 240_000);

  it('PostgreSQL restarted under load: the server stays up, clients resend what was answered unavailable, nothing acknowledged is lost', async () => {
    // A cluster of its own, to restart without disturbing the other tests' server.
    const dir = mkdtempSync(join(tmpdir(), 'pam-pg-restart-'));
    chmodSync(dir, 0o755);
    const url = execFileSync(CLUSTER, ['start', dir, String(await spareTcpPort(Number(new URL(PG_URL).port) + 1))], { encoding: 'utf8' }).trim();
    cleanups.push(() => {
      try {
        execFileSync(CLUSTER, ['stop', dir]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
    const { store, users } = await setUp(url, 10, 150);
    const adminToken = (await store.addUser('adm', 'admin')).token;
    await store.close();
    const srv = await serveProcess(url);
    const ledger = newLedger();
    const clients = await Promise.all(users.map((p) => connect(srv.url, p.token)));
    const running = clients.map((c, i) => annotate(c, users[i]!.who, ledger, { limit: 150, batch: 4 }));
    await until(() => ledger.acked.size >= 200, 120_000);
    const ackedBefore = ledger.acked.size;
    await run(CLUSTER, ['restart', dir], { timeout: 60_000 });
    await Promise.all(running);
    // The process survived the restart and every client finished its work over the same socket.
    expect(srv.child.exitCode, srv.stderr()).toBeNull();
    expect(srv.child.signalCode, srv.stderr()).toBeNull();
    expect(clients.map((c) => c.closed)).toEqual(clients.map(() => null));
    for (const c of clients) c.close();
    expect(srv.stderr()).not.toMatch(/internal error/);
    expect(ackedBefore).toBeLessThan(1500);
    expect(ledger.unavailable).toBeGreaterThan(0);
    expect(ledger.sent.size, srv.stderr()).toBe(1500);
    expect(ledger.acked.size).toBe(1500);
    const check = await PgStore.open(url);
    try {
      await expectOnceEach(check, ledger, srv.url, adminToken);
    } finally {
      await check.close();
    }
    srv.child.kill('SIGTERM');
    await new Promise((r) => srv.child.once('exit', r));
    console.log(`restart under load: ${ledger.unavailable} requests answered unavailable and resent`);
  }, 240_000);
});
