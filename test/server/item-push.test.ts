// Robots push, annotators pull: POST /api/items on a real server (SQLite), the robot role's limits, and
// ItemPushClient's retries (server down, 503, an answer lost after the commit) storing each item once.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PUSH_BODY_BYTES } from '../../src/core/item-push.ts';
import { makeCloud } from '../../src/core/pointcloud.ts';
import { ClientMessageSchema, type ClientOp, type RankItem, type ServerMessage } from '../../src/core/protocol.ts';
import { Rng } from '../../src/core/rng.ts';
import { AccessGuard } from '../../src/server/access.ts';
import { handleItemPush } from '../../src/server/item-push.ts';
import { startServer, type PamServer } from '../../src/server/server.ts';
import { OP_ROLES } from '../../src/server/session.ts';
import { makeRankItem } from '../../src/store/items.ts';
import { ItemPushClient, pushEndpoint, readTokenFile } from '../../src/store/item-push-client.ts';
import { Store } from '../../src/store/store.ts';
import { openPreferenceStore, SqlitePreferenceStore } from '../../src/store/store-api.ts';
import { freshDatabase, PG_URL } from '../store/_pg.ts';
import { connect, ropeCloud, tempDir, TestClient, WORKSPACE } from './_helpers.ts';

/** A rank item of 4 candidates; `variant` changes its content, not its id. */
function rankItem(id: string, variant = 0): RankItem {
  const rng = new Rng(id.length * 31 + variant);
  const v3 = (x: number, y: number) => [x, y, 0.006] as [number, number, number];
  return makeRankItem({
    id: `rank:${id}`,
    stateId: id,
    task: 'rope-circle',
    primitive: 'pick_place',
    cloud: makeCloud(ropeCloud(32, rng), 'table'),
    candidates: Array.from({ length: 4 }, (_, i) => ({ primitive: { kind: 'pick_place' as const, a: v3(0.01 * i, 0), b: v3(0.1, 0.02 * i + variant * 0.001) } })),
    workspace: WORKSPACE,
  });
}

let tmp: ReturnType<typeof tempDir>;
let store: Store;
let server: PamServer;
const tokens: Record<string, string> = {};
const itemCount = (id: string) => (store.db.prepare('SELECT count(*) AS n FROM items WHERE id = ?').get(id) as { n: number }).n;

beforeAll(async () => {
  tmp = tempDir();
  store = new Store(join(tmp.dir, 'db.sqlite'), { goldEvery: 0 });
  for (const [name, role] of [
    ['cell1', 'robot'],
    ['cell2', 'robot'],
    ['ann', 'annotator'],
    ['ann2', 'annotator'],
    ['op', 'operator'],
    ['rev', 'reviewer'],
    ['adm', 'admin'],
  ] as const)
    tokens[name] = store.users.add(name, role).token;
  server = await startServer({ port: 0, store, webRoot: false, log: () => {} });
});
afterAll(async () => {
  await server.close();
  store.close();
  tmp.cleanup();
});

/** POST /api/items as `token` with a JSON body (or raw text). */
async function post(body: unknown, token?: string, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}api/items`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('POST /api/items', () => {
  it('queues a robot’s item, and an annotator is served it as pushed', async () => {
    const item = rankItem('served');
    expect(await post({ item, minAnnotations: 1 }, tokens.cell1)).toEqual({ status: 200, json: { results: [{ id: item.id, duplicate: false }] } });
    const ann = await connect(server.url, tokens.ann!);
    const m = await ann.request({ op: 'next', count: 5 });
    expect(m.op === 'items' && m.items.find((i) => i.id === item.id)).toEqual(item);
    ann.close();
  });

  it('stores a retried item once (duplicate: true) and refuses other content under its id with 409 naming item.id', async () => {
    const item = rankItem('retried');
    expect((await post({ item }, tokens.cell1)).json).toEqual({ results: [{ id: item.id, duplicate: false }] });
    // Another robot's retry of the same content, even with other options, is the same item.
    expect(await post({ item, priority: 5 }, tokens.cell2)).toEqual({ status: 200, json: { results: [{ id: item.id, duplicate: true }] } });
    expect(itemCount(item.id)).toBe(1);
    const other = await post({ item: rankItem('retried', 1) }, tokens.cell1);
    expect(other.status).toBe(409);
    expect(other.json).toMatchObject({ results: [], index: 0, error: { code: 'conflict', field: 'item.id' } });
    expect(store.item(item.id)).toEqual(item);
  });

  it('adds a batch in order; a conflict stops it at that entry, named items.<k>.item.id, with the results before it', async () => {
    const [a, b, c] = ['batch-a', 'batch-b', 'batch-c'].map((id) => rankItem(id));
    await post({ item: b }, tokens.cell1);
    const r = await post({ items: [{ item: a }, { item: rankItem('batch-b', 2) }, { item: c }] }, tokens.cell1);
    expect(r.status).toBe(409);
    expect(r.json).toMatchObject({ results: [{ id: a!.id, duplicate: false }], index: 1, error: { code: 'conflict', field: 'items.1.item.id' } });
    expect([a, c].map((x) => itemCount(x!.id))).toEqual([1, 0]);
    // The retry of the rest: a is a duplicate now, c is new.
    expect((await post({ items: [{ item: a }, { item: c }] }, tokens.cell1)).json).toEqual({
      results: [
        { id: a!.id, duplicate: true },
        { id: c!.id, duplicate: false },
      ],
    });
    expect((await post({ items: [] }, tokens.cell1)).json).toEqual({ results: [] });
  });

  it.each([
    ['no token', undefined, 401, 'authorization', /Bearer <robot token>/],
    ['an unknown token', 'pam_nobody-holds-this-token', 401, 'authorization', /unknown or disabled token/],
    ['an annotator', 'ann', 403, 'authorization', /needs role robot or admin; you are annotator/],
    ['an operator', 'op', 403, 'authorization', /you are operator/],
    ['a reviewer', 'rev', 403, 'authorization', /you are reviewer/],
  ])('refuses %s (%i) and stores nothing', async (_what, who, status, field, message) => {
    const item = rankItem(`refused-${status}-${who}`);
    const r = await post({ item }, who && (tokens[who] ?? who));
    expect(r.status).toBe(status);
    expect(r.json).toMatchObject({ results: [], error: { field } });
    expect((r.json.error as { message: string }).message).toMatch(message);
    expect(itemCount(item.id)).toBe(0);
  });

  it('an admin may push too', async () => {
    expect((await post({ item: rankItem('by-admin') }, tokens.adm)).status).toBe(200);
  });

  it.each([
    ['a missing item', {}, 'item', /expected object/],
    ['too few candidates', { item: { ...rankItem('few'), candidates: rankItem('few').candidates.slice(0, 1) } }, 'item.candidates', /too small|>=2/i],
    ['a bad task in a batch', { items: [{ item: rankItem('ok-1') }, { item: { ...rankItem('bad-task'), task: 'rope-square-ish' } }] }, 'items.1.item.task', /rope-circle/],
    ['a gold answer', { item: rankItem('gold'), gold: { kind: 'rank', groups: [[0]] } }, 'gold', /store import/],
    ['minAnnotations 0', { item: rankItem('min0'), minAnnotations: 0 }, 'minAnnotations', />=1/],
    ['a candidate of another primitive', { item: { ...rankItem('mixed'), primitive: 'sweep' } }, 'item.candidates.0.primitive.kind', /expected sweep/],
    ['too many entries', { items: Array.from({ length: 65 }, (_, i) => ({ item: rankItem(`many-${i}`) })) }, 'items', /<=64/],
    ['not JSON', '{"item": ', '(body)', /expected JSON/],
  ])('answers 400 for %s, naming the field, and stores nothing', async (_what, body, field, message) => {
    const r = await post(body, tokens.cell1);
    expect(r.status).toBe(400);
    expect((r.json.error as { field: string }).field).toBe(field);
    expect((r.json.error as { message: string }).message).toMatch(message);
    expect(r.json.results).toEqual([]);
    for (const id of ['rank:ok-1', 'rank:gold', 'rank:mixed', 'rank:many-0']) expect(itemCount(id)).toBe(0);
  });

  it('answers 405 to GET, 415 to another content type, 413 to a declared body over the limit', async () => {
    const get = await fetch(`${server.url}api/items`, { headers: { authorization: `Bearer ${tokens.cell1}` } });
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    expect((await post(JSON.stringify({ item: rankItem('ct') }), tokens.cell1, { 'content-type': 'text/plain' })).status).toBe(415);
    // Headers only: the server refuses by Content-Length before reading anything.
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${server.url}api/items`);
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { authorization: `Bearer ${tokens.cell1}`, 'content-type': 'application/json', 'content-length': MAX_PUSH_BODY_BYTES + 1 } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(status).toBe(413);
  });

  it('counts a body as it arrives and stops at the limit (chunked, no Content-Length)', async () => {
    const s2 = new Store(':memory:');
    const { token } = s2.users.add('r', 'robot');
    const http = createServer((req, res) => void handleItemPush(req, res, { store: new SqlitePreferenceStore(s2), access: new AccessGuard(), log: () => {}, maxBodyBytes: 300 }));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/api/items`;
      const send = async (body: string) => {
        const stream = new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode(body)), c.close()) });
        const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
        return res.status;
      };
      expect(await send(JSON.stringify({ items: [] }))).toBe(200);
      expect(await send(JSON.stringify({ item: rankItem('big') }))).toBe(413);
      expect(s2.item('rank:big')).toBeNull();
    } finally {
      await new Promise<void>((r) => http.close(() => r()));
      s2.close();
    }
  });
});

describe('the robot role', () => {
  /** A valid frame of every op (a Record: a new op must be added here). */
  const FRAMES: Record<Exclude<ClientOp, 'auth'>, Record<string, unknown>> = {
    ping: {},
    next: { count: 1 },
    submit: { clientId: 'robot-submit-1', itemId: 'rank:served', answer: { kind: 'rank', groups: [[0], [1, 2, 3]] }, durationMs: 1000 },
    skip: { clientId: 'robot-skip-01', itemId: 'rank:served' },
    undo: { clientId: 'robot-submit-1' },
    progress: {},
    live: { subscribe: true },
    'live.ack': { seq: 1 },
    'teleop.check': { primitive: { kind: 'pick_place', a: [0, 0, 0.01], b: [0.1, 0, 0.01] } },
    'teleop.execute': { clientId: 'robot-teleop-1', primitive: { kind: 'pick_place', a: [0, 0, 0.01], b: [0.1, 0, 0.01] } },
    estop: { engaged: true },
    stats: {},
    guidelines: { task: 'rope-circle' },
    'guidelines.set': { task: 'rope-circle', markdown: 'robots write this' },
    disagreements: {},
    'review.item': { itemId: 'rank:served' },
    settle: { itemId: 'rank:served', label: { kind: 'rank', groups: [[0], [1, 2, 3]] } },
  };

  it('no op admits the robot role', () => {
    for (const [op, roles] of Object.entries(OP_ROLES)) if (roles !== 'anyone') expect(roles, op).not.toContain('robot');
  });

  it.each(Object.entries(FRAMES))('refuses a robot token, and answers nothing to %s sent right after auth', async (op, fields) => {
    const frame = { op, id: 2, ...fields };
    expect(ClientMessageSchema.safeParse(frame).success).toBe(true);
    const c = new TestClient(server.url);
    await c.opened();
    const closed = new Promise<void>((r) => c.ws.once('close', () => r()));
    const first = c.nextMessage();
    // Both frames leave before any answer: a robot session, had it opened, would answer the op.
    c.ws.send(JSON.stringify({ op: 'auth', id: 1, token: tokens.cell1 }));
    c.ws.send(JSON.stringify(frame));
    expect(await first).toMatchObject({ op: 'error', id: 1, code: 'forbidden' });
    await closed;
    expect(c.received as ServerMessage[]).toEqual([
      { op: 'error', id: 1, code: 'forbidden', field: 'token', message: 'a robot token only adds items (POST /api/items); it opens no WebSocket session' },
    ]);
    expect(c.closed).toEqual({ code: 1008, reason: 'robot tokens only add items' });
    expect(server.teleop.estopped).toBe(false);
  });

  it('cannot export', async () => {
    const res = await fetch(`${server.url}api/export`, { headers: { authorization: `Bearer ${tokens.cell1}` } });
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/admin/);
  });
});

/** A proxy in front of the server; each request takes the next step: 'refuse' answers 503, 'lose' forwards and then drops the answer, 'pass' forwards. */
async function flakyProxy(steps: ('refuse' | 'lose' | 'pass')[]): Promise<{ url: string; seen: string[]; close: () => Promise<void> }> {
  const target = new URL(server.url);
  const seen: string[] = [];
  const http: Server = createServer((req: IncomingMessage, res) => {
    const step = steps.shift() ?? 'pass';
    seen.push(step);
    if (step === 'refuse') {
      req.resume();
      res.writeHead(503, { 'content-type': 'text/plain' }).end('maintenance\n');
      return;
    }
    const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      if (step === 'lose') {
        // The server has committed; the robot never hears so.
        r.resume();
        r.on('end', () => res.socket?.destroy());
        return;
      }
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/`,
    seen,
    close: () => new Promise<void>((r) => (http.closeAllConnections(), http.close(() => r()))),
  };
}

describe('ItemPushClient', () => {
  const fast = { retryBaseMs: 5, retryMaxMs: 50 };

  it('retries a 503 and an answer lost after the commit: each item stored once, the lost one answered as a duplicate', async () => {
    const proxy = await flakyProxy(['refuse', 'lose', 'pass']);
    const retries: string[] = [];
    const client = new ItemPushClient({ url: proxy.url, token: tokens.cell1!, ...fast, maxBatch: 2, onRetry: (e) => retries.push(e) });
    try {
      const items = ['lost-a', 'lost-b'].map((id) => rankItem(id));
      for (const it of items) expect(client.push(it)).toBe(true);
      const s = await client.flush(30_000);
      expect(s).toEqual({ added: 0, duplicates: 2, rejected: 0, dropped: 0, pending: 0, error: null, stopped: false });
      expect(proxy.seen).toEqual(['refuse', 'lose', 'pass']);
      expect(retries[0]).toMatch(/answered 503 \(maintenance\)/);
      expect(retries[1]).toMatch(/unreachable/);
      for (const it of items) expect(itemCount(it.id)).toBe(1);
    } finally {
      await client.close();
      await proxy.close();
    }
  });

  it('queues while the server is down and delivers exactly once when it is back', async () => {
    const s0 = new Store(join(tmp.dir, 'restart.sqlite'), { goldEvery: 0 });
    const { token } = s0.users.add('cell9', 'robot');
    let srv = await startServer({ port: 0, store: s0, webRoot: false, log: () => {} });
    const port = srv.port;
    await srv.close();
    let failed!: () => void;
    const sawFailure = new Promise<void>((r) => (failed = r));
    const client = new ItemPushClient({ url: `http://127.0.0.1:${port}/`, token, ...fast, onRetry: () => failed() });
    try {
      const items = ['down-a', 'down-b', 'down-c'].map((id) => rankItem(id));
      for (const it of items) client.push(it);
      await sawFailure;
      expect(client.summary()).toMatchObject({ added: 0, pending: 3, error: expect.stringMatching(/unreachable \(ECONNREFUSED\)/) });
      srv = await startServer({ port, store: s0, webRoot: false, log: () => {} });
      expect(await client.flush(30_000)).toEqual({ added: 3, duplicates: 0, rejected: 0, dropped: 0, pending: 0, error: null, stopped: false });
      expect((s0.db.prepare('SELECT id FROM items ORDER BY seq').all() as { id: string }[]).map((r) => r.id)).toEqual(items.map((i) => i.id));
    } finally {
      await client.close();
      await srv.close();
      s0.close();
    }
  });

  it('drops an item the server refuses for good (409) and goes on with the rest', async () => {
    const rejected: [string, string][] = [];
    const client = new ItemPushClient({ url: server.url, token: tokens.cell2!, ...fast, onRejected: (id, e) => rejected.push([id, e]) });
    client.push(rankItem('first-content'));
    await client.flush(30_000);
    client.push(rankItem('first-content', 3));
    client.push(rankItem('after-conflict'));
    expect(await client.flush(30_000)).toMatchObject({ added: 2, rejected: 1, pending: 0 });
    expect(rejected).toEqual([['rank:first-content', expect.stringMatching(/^409 items\.0\.item\.id: an item "rank:first-content" exists with other content/)]]);
    expect(itemCount('rank:after-conflict')).toBe(1);
    await client.close();
  });

  it('stops on a refused token, naming 401 or 403; check() says so before anything is queued', async () => {
    const bad = new ItemPushClient({ url: server.url, token: 'pam_revoked-or-never-issued', ...fast });
    await expect(bad.check()).rejects.toThrow(/refused the token: 401 unauthorized \(authorization: unknown or disabled token\)/);
    const ann = new ItemPushClient({ url: server.url, token: tokens.ann!, ...fast });
    await expect(ann.check()).rejects.toThrow(/refused the token: 403 forbidden .*you are annotator/);
    ann.push(rankItem('by-annotator'));
    expect(await ann.flush(30_000)).toMatchObject({ added: 0, pending: 1, stopped: true, error: expect.stringMatching(/403 forbidden/) });
    expect(itemCount('rank:by-annotator')).toBe(0);
    await new ItemPushClient({ url: server.url, token: tokens.cell1!, ...fast }).check();
    await bad.close();
    await ann.close();
  });

  it('holds at most maxQueue items and refuses more (push returns false)', async () => {
    const client = new ItemPushClient({ url: 'http://127.0.0.1:9/', token: 'pam_x', retryBaseMs: 60_000, maxQueue: 2 });
    expect([client.push(rankItem('q1')), client.push(rankItem('q2')), client.push(rankItem('q3'))]).toEqual([true, true, false]);
    expect(client.summary()).toMatchObject({ pending: 2, dropped: 1 });
    expect(await client.close(0)).toMatchObject({ pending: 2 });
  });

  it('refuses a bad item, URL or token file, naming the field', () => {
    const client = new ItemPushClient({ url: server.url, token: 'pam_x' });
    expect(() => client.push({ ...rankItem('bad'), candidates: [] })).toThrow(/pushed item "rank:bad".*\n.*item\.candidates/);
    void client.close();
    expect(() => pushEndpoint('ftp://host/', 'push')).toThrow('push: expected an http:// or https:// URL of a pamstack server (as `pamstack serve` prints it), received "ftp://host/"');
    expect(() => pushEndpoint('not a url', 'push')).toThrow(/^push: expected an http/);
    expect(() => pushEndpoint('http://robot:secret@host:8080/', 'push')).toThrow('push: expected a URL without user or password (the token comes from the token file), received "http://***@host:8080/"');
    expect(pushEndpoint('https://lab.example/pamstack').href).toBe('https://lab.example/pamstack/api/items');
    expect(pushEndpoint('http://127.0.0.1:8080/').href).toBe('http://127.0.0.1:8080/api/items');
    const f = join(tmp.dir, 'token');
    expect(() => readTokenFile(f, 'token-file')).toThrow(`token-file: expected a readable file holding a token (\`pamstack users add --role robot\` prints one), received "${f} (ENOENT)"`);
    writeFileSync(f, '\n');
    expect(() => readTokenFile(f, 'token-file')).toThrow(`token-file: expected a file holding a token, received "${f} (empty)"`);
    writeFileSync(f, 'pam_abc\n');
    expect(readTokenFile(f, 'token-file')).toBe('pam_abc');
  });
});

describe('store export gives the training data of every robot', () => {
  it('exports the answers to both robots’ items', async () => {
    const from = (cell: string) => rankItem(`${cell}/boot/0`);
    for (const cell of ['cell1', 'cell2']) {
      const c = new ItemPushClient({ url: server.url, token: tokens[cell]!, retryBaseMs: 5 });
      c.push(from(cell), { minAnnotations: 1, priority: 100 });
      expect(await c.close(30_000)).toMatchObject({ added: 1, pending: 0 });
    }
    const ann = await connect(server.url, tokens.ann2!);
    const m = await ann.request({ op: 'next', count: 2 });
    expect(m.op === 'items' && m.items.map((i) => i.id).sort()).toEqual(['rank:cell1/boot/0', 'rank:cell2/boot/0']);
    for (const [k, id] of ['rank:cell1/boot/0', 'rank:cell2/boot/0'].entries())
      expect(await ann.request({ op: 'submit', clientId: `export-${k}-abcdef`, itemId: id, answer: { kind: 'rank', groups: [[0], [1, 2, 3]], notComparable: [], idealBeatsAll: false }, durationMs: 2000 })).toMatchObject({ op: 'ack' });
    ann.close();
    const text = await (await fetch(`${server.url}api/export`, { headers: { authorization: `Bearer ${tokens.adm}` } })).text();
    const states = text.trim().split('\n').map((l) => (JSON.parse(l) as { stateId?: string }).stateId);
    expect(states).toEqual(expect.arrayContaining(['cell1/boot/0', 'cell2/boot/0']));
  });
});

describe.skipIf(!PG_URL)('on PostgreSQL (the handler on one PgStore, export from another)', () => {
  it('stores two robots’ pushes and retries once; their answers export from the other replica', async () => {
    const db = await freshDatabase();
    const [pg1, pg2] = [await openPreferenceStore(db.url), await openPreferenceStore(db.url)];
    const http = createServer((req, res) => void handleItemPush(req, res, { store: pg1, access: new AccessGuard(), log: () => {} }));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
      const items = ['pg-cell1/0', 'pg-cell2/0'].map((id) => rankItem(id));
      for (const [k, it] of items.entries()) {
        const { token } = await pg1.addUser(`pgcell${k + 1}`, 'robot');
        const c = new ItemPushClient({ url, token, retryBaseMs: 5 });
        c.push(it, { minAnnotations: 1 });
        c.push(it, { minAnnotations: 1 }); // a caller's own retry: stored once
        expect(await c.close(30_000)).toMatchObject({ added: 1, duplicates: 1, pending: 0 });
      }
      const { user } = await pg2.addUser('pgann', 'annotator');
      const got = await pg2.next(user, { count: 5 });
      expect(got.map((i) => i.id)).toEqual(items.map((i) => i.id));
      for (const [k, it] of items.entries())
        await pg2.submit(user, { clientId: `pg-export-${k}-abc`, itemId: it.id, answer: { kind: 'rank', groups: [[0], [1, 2, 3]], notComparable: [], idealBeatsAll: false }, durationMs: 10 });
      expect((await pg1.exportRecords()).map((r) => r.kind === 'ranking' && r.stateId)).toEqual(['pg-cell1/0', 'pg-cell2/0']);
    } finally {
      await new Promise<void>((r) => http.close(() => r()));
      await pg1.close();
      await pg2.close();
      await db.drop();
    }
  });
});
