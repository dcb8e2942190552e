// Reliability: SIGKILL of `pamstack serve` while annotators submit loses no acknowledged answer and stores retries once;
// 50 concurrent annotators × 200 answers each lose nothing.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/server/server.ts';
import { Store } from '../../src/store/store.ts';
import { addRankItems, annotate, annotatorOf, connect, newLedger, serveProcess, servers, tempDir } from './_helpers.ts';

const dirs: ReturnType<typeof tempDir>[] = [];

afterAll(() => {
  for (const c of servers) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) d.cleanup();
});

describe('reliability', () => {
  it('keeps every acknowledged answer across a SIGKILL and stores retried ones exactly once', async () => {
    const tmp = tempDir();
    dirs.push(tmp);
    const db = join(tmp.dir, 'db.sqlite');
    const setup = new Store(db);
    const people = Array.from({ length: 10 }, (_, i) => ({ who: `ann${i}`, token: setup.users.add(`ann${i}`, 'annotator').token }));
    addRankItems(setup, 400, { minAnnotations: 10, points: 16 });
    setup.close();

    const first = await serveProcess(db);
    const ledger = newLedger();
    const clients = await Promise.all(people.map((p) => connect(first.url, p.token)));
    const running = clients.map((c, i) => annotate(c, people[i]!.who, ledger, { limit: 400, batch: 4 }));
    // Kill while answers are flowing: once a few hundred are acknowledged.
    const t0 = Date.now();
    while (ledger.acked.size < 300 && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 2));
    first.child.kill('SIGKILL');
    await Promise.all(running);
    const ackedBeforeKill = new Set(ledger.acked);
    const unacked = [...ledger.sent.keys()].filter((k) => !ackedBeforeKill.has(k));
    expect(ackedBeforeKill.size).toBeGreaterThanOrEqual(300);
    // What was in flight at the kill is retried; so are some acknowledged answers (a client that never
    // saw its ack), which must come back as duplicates. On a loaded machine the kill can land between
    // batches, with nothing in flight: the acknowledged retries still exercise the path.
    const resentAcked = [...ackedBeforeKill].slice(0, 20);

    // Restart on the same file; each annotator resends what was not acknowledged, with the same client ids.
    const second = await serveProcess(db);
    const again = await Promise.all(people.map((p) => connect(second.url, p.token)));
    const retried = new Map<string, boolean>();
    await Promise.all(
      [...unacked, ...resentAcked].map(async (clientId) => {
        const who = annotatorOf(clientId);
        const c = again[people.findIndex((p) => p.who === who)]!;
        const r = await c.request({ op: 'submit', clientId, itemId: ledger.sent.get(clientId), answer: { kind: 'rank', groups: [[0]] }, durationMs: 100 }, 30_000);
        expect(r.op).toBe('ack');
        retried.set(clientId, (r as { duplicate: boolean }).duplicate);
      }),
    );
    for (const c of again) c.close();
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));

    const check = new Store(db);
    const rows = check.db.prepare("SELECT client_id, user_id, item_id FROM answers WHERE status = 'submitted'").all() as { client_id: string; user_id: number; item_id: string }[];
    const stored = new Map(rows.map((r) => [r.client_id, r]));
    for (const id of ackedBeforeKill) expect(stored.has(id), `acknowledged ${id} lost`).toBe(true);
    expect(rows.length).toBe(ledger.sent.size); // every sent answer stored exactly once (acked or retried)
    expect(new Set(rows.map((r) => `${r.user_id}|${r.item_id}`)).size).toBe(rows.length);
    // Some in-flight answers had been committed before the kill (their retry was a duplicate), or none were; either way once.
    expect([...retried.values()].every((d) => typeof d === 'boolean')).toBe(true);
    for (const id of resentAcked) expect(retried.get(id), `acknowledged ${id} resent`).toBe(true);
    check.close();
  });

  it('50 concurrent annotators × 200 answers: none lost', async () => {
    const tmp = tempDir();
    dirs.push(tmp);
    const store = new Store(join(tmp.dir, 'db.sqlite'));
    const people = Array.from({ length: 50 }, (_, i) => ({ who: `c${i}`, token: store.users.add(`c${i}`, 'annotator').token }));
    addRankItems(store, 200, { minAnnotations: 50, points: 16 });
    const server = await startServer({ port: 0, store, webRoot: false, log: () => {} });
    const ledger = newLedger();
    const clients = await Promise.all(people.map((p) => connect(server.url, p.token)));
    const t0 = performance.now();
    await Promise.all(clients.map((c, i) => annotate(c, people[i]!.who, ledger, { limit: 200, batch: 5 })));
    const seconds = (performance.now() - t0) / 1000;
    for (const c of clients) c.close();
    await server.close();
    expect(ledger.sent.size).toBe(50 * 200);
    expect(ledger.acked.size).toBe(50 * 200);
    const n = store.db.prepare("SELECT count(*) AS n, count(DISTINCT client_id) AS d FROM answers WHERE status = 'submitted'").get() as { n: number; d: number };
    expect(n).toEqual({ n: 10_000, d: 10_000 });
    expect(store.db.prepare("SELECT count(*) AS n FROM items WHERE status = 'complete'").get()).toEqual({ n: 200 });
    store.close();
    console.log(`50×200 answers in ${seconds.toFixed(1)} s (${(10_000 / seconds).toFixed(0)} answers/s)`);
  });
});
