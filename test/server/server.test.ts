import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCloud } from '../../src/core/pointcloud.ts';
import { decodeLiveFrame, decodeMotionFrame, liveFrameType, MAX_CLIENT_FRAME_BYTES, MOTION_FRAME_TYPE, type Item } from '../../src/core/protocol.ts';
import { Rng } from '../../src/core/rng.ts';
import { startServer, type PamServer } from '../../src/server/server.ts';
import { Store } from '../../src/store/store.ts';
import { addCompareItems, addRankItems, connect, ropeCloud, tempDir, TestClient } from './_helpers.ts';

let tmp: ReturnType<typeof tempDir>;
let store: Store;
let server: PamServer;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  tmp = tempDir();
  store = new Store(join(tmp.dir, 'db.sqlite'), { goldEvery: 0 });
  for (const [name, role] of [
    ['ann', 'annotator'],
    ['ann2', 'annotator'],
    ['op', 'operator'],
    ['adm', 'admin'],
  ] as const)
    tokens[name] = store.users.add(name, role).token;
  addRankItems(store, 6, { minAnnotations: 2 });
  addCompareItems(store, 2);
  server = await startServer({ port: 0, store, webRoot: false, log: () => {}, allowedOrigins: ['http://dev.example:5173'] });
});

afterAll(async () => {
  await server.close();
  store.close();
  tmp.cleanup();
});

const ok = (x: unknown) => x;

describe('auth and roles', () => {
  it('refuses every op before auth, and a bad token', async () => {
    const c = new TestClient(server.url);
    await c.opened();
    expect(await c.request({ op: 'next', count: 1 })).toMatchObject({ op: 'error', code: 'unauthorized', field: 'token' });
    expect(await c.request({ op: 'auth', token: 'pam_not-a-real-token-at-all' })).toMatchObject({ op: 'error', code: 'unauthorized' });
    expect(await c.request({ op: 'progress' })).toMatchObject({ code: 'unauthorized' });
    c.close();
  });

  it('handles frames sent right behind auth after it, in the order sent', async () => {
    const c = new TestClient(server.url);
    await c.opened();
    const [welcome, pong] = await Promise.all([c.request({ op: 'auth', token: tokens.ann }), c.request({ op: 'ping' })]);
    expect(welcome).toMatchObject({ op: 'welcome', user: { name: 'ann' } });
    expect(pong).toMatchObject({ op: 'pong' });
    expect(c.received.map((m) => (Buffer.isBuffer(m) ? 'binary' : m.op))).toEqual(['welcome', 'pong']);
    c.close();
  });

  it('closes a connection after 10 refused tokens', async () => {
    const c = new TestClient(server.url);
    await c.opened();
    for (let i = 0; i < 10; i++) await c.request({ op: 'auth', token: `pam_wrong-token-number-${i}` }).catch(ok);
    await new Promise((r) => setTimeout(r, 100));
    expect(c.closed?.code).toBe(1008);
  });

  it.each([
    ['ann', 'teleop.execute', { clientId: 'abcdefgh12', primitive: { kind: 'pick_place', a: [0, 0, 0], b: [0.1, 0, 0] } }],
    ['ann', 'estop', { engaged: true }],
    ['ann', 'stats', {}],
    ['op', 'next', { count: 1 }],
    ['op', 'submit', { clientId: 'abcdefgh12', itemId: 'x', answer: { kind: 'compare', label: 'left' }, durationMs: 1 }],
  ])('%s may not send %s', async (who, op, rest) => {
    const c = await connect(server.url, tokens[who]!);
    const r = await c.request({ op, ...rest });
    expect(r).toMatchObject({ op: 'error', code: 'forbidden', field: 'op' });
    expect((r as { message: string }).message).toMatch(new RegExp(`${op} needs role`));
    expect(await c.request({ op: 'ping' })).toMatchObject({ op: 'pong' });
    c.close();
  });

  it('never runs a teleop command from an annotator (no log row, e-stop untouched)', async () => {
    const c = await connect(server.url, tokens.ann!);
    await c.request({ op: 'teleop.execute', clientId: 'annotator-try-1', primitive: { kind: 'pick_place', a: [0, 0, 0], b: [0.1, 0, 0] } });
    await c.request({ op: 'estop', engaged: true });
    expect(store.db.prepare('SELECT count(*) AS n FROM teleop').get()).toEqual({ n: 0 });
    expect(server.teleop.estopped).toBe(false);
    c.close();
  });
});

describe('frame validation', () => {
  it.each([
    ['not json', '{op:', '(frame)', /expected JSON/],
    ['a number', '42', '(frame)', /expected object/],
    ['unknown op', '{"op":"fly","id":1}', 'op', /Expected 'auth' \| 'ping'/],
    ['missing id', '{"op":"ping"}', 'id', /expected number/],
    ['extra key', '{"op":"ping","id":1,"x":2}', 'x', /Unrecognized key/],
    ['bad count', '{"op":"next","id":1,"count":99}', 'count', /<=5/],
    ['bad label', '{"op":"submit","id":1,"clientId":"abcdefgh12","itemId":"a","durationMs":1,"answer":{"kind":"compare","label":"up"}}', 'answer.label', /left/],
    ['bad client id', '{"op":"skip","id":1,"clientId":"no spaces allowed","itemId":"a"}', 'clientId', /8–64 characters/],
    ['NaN point', '{"op":"teleop.check","id":1,"primitive":{"kind":"pick_place","a":[0,0,null],"b":[0,0,0]}}', 'primitive.a.2', /expected number/],
  ])('answers %s with an error naming %s and keeps the connection', async (_what, frame, field, msg) => {
    const c = await connect(server.url, tokens.adm!);
    const reply = c.nextMessage();
    c.ws.send(frame);
    const r = (await reply) as { op: string; code: string; field: string; message: string };
    expect(r).toMatchObject({ op: 'error', code: 'invalid', field });
    expect(r.message).toMatch(msg);
    expect(await c.request({ op: 'ping' })).toMatchObject({ op: 'pong' });
    c.close();
  });

  it('refuses binary frames from clients', async () => {
    const c = await connect(server.url, tokens.ann!);
    const reply = c.nextMessage();
    c.ws.send(Buffer.from([1, 2, 3]));
    expect(await reply).toMatchObject({ op: 'error', field: '(frame)', message: expect.stringMatching(/binary frames are not accepted/) });
    c.close();
  });

  it(`closes (1009) a frame over ${MAX_CLIENT_FRAME_BYTES} bytes and stays up`, async () => {
    const c = await connect(server.url, tokens.ann!);
    c.ws.send(JSON.stringify({ op: 'ping', id: 1, pad: 'x'.repeat(MAX_CLIENT_FRAME_BYTES) }));
    await new Promise((r) => c.ws.once('close', r));
    expect(c.closed?.code).toBe(1009);
    const d = await connect(server.url, tokens.ann!);
    expect(await d.request({ op: 'ping' })).toMatchObject({ op: 'pong' });
    d.close();
  });
});

describe('origin check', () => {
  const attempt = (origin?: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(server.url.replace('http', 'ws') + 'ws', origin ? { origin } : {});
      ws.on('open', () => (ws.close(), resolve(101)));
      ws.on('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });
  it('accepts no Origin (not a browser), its own origin and allowed ones; refuses others', async () => {
    expect(await attempt()).toBe(101);
    expect(await attempt(server.url.replace(/\/$/, ''))).toBe(101);
    expect(await attempt('http://dev.example:5173')).toBe(101);
    expect(await attempt('http://evil.example')).toBe(403);
  });
});

describe('annotation over the socket', () => {
  it('leases items, acknowledges after commit, dedups retries, undoes', async () => {
    const c = await connect(server.url, tokens.ann2!);
    const items = (await c.request({ op: 'next', count: 2, kinds: ['rank'] })) as { op: 'items'; items: Item[] };
    expect(items.op).toBe('items');
    expect(items.items.map((i) => i.kind)).toEqual(['rank', 'rank']);
    const itemId = items.items[0]!.id;
    const submit = { op: 'submit', clientId: 'retry-test-0001', itemId, answer: { kind: 'rank', groups: [[3], [0, 1]] }, durationMs: 1500 };
    const ack = await c.request(submit);
    expect(ack).toMatchObject({ op: 'ack', clientId: 'retry-test-0001', duplicate: false });
    // The ack came after the commit: a second connection to the file sees the row.
    const reader = new Store(store.path);
    expect(reader.db.prepare("SELECT count(*) AS n FROM answers WHERE client_id = 'retry-test-0001'").get()).toEqual({ n: 1 });
    reader.close();
    expect(await c.request(submit)).toMatchObject({ op: 'ack', duplicate: true, answerId: (ack as { answerId: number }).answerId });
    expect(await c.request({ op: 'undo', clientId: 'retry-test-0001' })).toMatchObject({ op: 'undone', itemId });
    expect(await c.request({ op: 'progress' })).toMatchObject({ op: 'progress', mine: { submitted: 0 } });
    expect(await c.request({ ...submit, clientId: 'retry-test-0002', answer: { kind: 'compare', label: 'left' } })).toMatchObject({
      op: 'error',
      code: 'invalid',
      field: 'answer.kind',
    });
    c.close();
  });

  it('gives agreement statistics to admins', async () => {
    const c = await connect(server.url, tokens.adm!);
    const r = (await c.request({ op: 'stats' })) as { op: string; stats: { annotators: unknown[] } };
    expect(r.op).toBe('stats');
    expect(Array.isArray(r.stats.annotators)).toBe(true);
    c.close();
  });

  it('exports JSONL over HTTP for admins only', async () => {
    const get = (token?: string) => fetch(`${server.url}api/export`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    expect((await get()).status).toBe(401);
    expect((await get(tokens.ann)).status).toBe(403);
    const res = await get(tokens.adm);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
  });
});

describe('live view', () => {
  it('streams binary frames that decode to the published cloud and metadata', async () => {
    const c = await connect(server.url, tokens.op!);
    expect(await c.request({ op: 'live', subscribe: true })).toMatchObject({ op: 'live', subscribed: true });
    const pts = ropeCloud(1000, new Rng(3));
    const rgb = new Uint8Array(3000).fill(200);
    const got = new Promise<Buffer>((resolve) => c.ws.on('message', (d, bin) => bin && resolve(d as Buffer)));
    server.publishLive({ cloud: makeCloud(pts, 'table', 1.5, rgb), task: 'rope-circle', candidates: [{ primitive: { kind: 'pick_place', a: [0, 0, 0], b: [0.1, 0, 0] }, score: 0.7 }], chosen: 0, step: 3 });
    const buf = await got;
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
    const f = decodeLiveFrame(ab);
    expect(f.n).toBe(1000);
    expect(f.points).toEqual(pts);
    expect(f.rgb![5]).toBe(200);
    expect(f.stamp).toBe(1.5);
    expect(f.meta).toMatchObject({ task: 'rope-circle', chosen: 0, step: 3 });
    expect(f.meta.candidates![0]!.score).toBe(0.7);
    expect(Date.now() - f.sentAt).toBeLessThan(5000);
    c.close();
  });

  it('refuses a malformed frame from the embedding with the field named', () => {
    expect(() => server.publishLive({ cloud: makeCloud(new Float32Array(3), 'table'), chosen: 1.5 })).toThrow(/live frame chosen/);
  });

  it('keeps memory bounded for a client that stops reading (latest frame wins)', async () => {
    const c = await connect(server.url, tokens.op!);
    await c.request({ op: 'live', subscribe: true });
    // Stop reading: the socket's buffers fill, then frames for this client are dropped, not queued.
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const pts = ropeCloud(50_000, new Rng(4));
    const before = server.liveStats();
    for (let i = 0; i < 150; i++) {
      server.publishLive({ cloud: makeCloud(pts, 'table', i) });
      await new Promise((r) => setImmediate(r));
    }
    const after = server.liveStats();
    expect(after.dropped - before.dropped).toBeGreaterThan(100);
    // At most one frame pending plus what the socket holds (bounded by the 4 MiB budget + one frame).
    expect(after.heldBytes).toBeLessThan(4 * 1024 * 1024 + 2 * after.lastFrameBytes);
    c.close();
  });

  it('streams motion frames; a pending cloud frame is never displaced by motion, and a new client gets the cloud', async () => {
    const c = await connect(server.url, tokens.op!);
    const frames: ArrayBuffer[] = [];
    c.ws.on('message', (d, bin) => {
      if (!bin) return;
      const b = d as Buffer;
      frames.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
    });
    await c.request({ op: 'live', subscribe: true, ack: true });
    const wait = async (n: number) => {
      for (let i = 0; i < 200 && frames.length < n; i++) await new Promise((r) => setTimeout(r, 10));
      expect(frames).toHaveLength(n);
    };
    const ack = (seq: number) => c.ws.send(JSON.stringify({ op: 'live.ack', id: 0, seq }));
    const motion = (t: number) =>
      server.publishMotion({ stamp: t, step: 2, points: ropeCloud(200, new Rng(t)), tools: Float32Array.of(0, 0, t), holding: [1] });
    const before = server.liveStats();
    const a = server.publishLive({ cloud: makeCloud(ropeCloud(10, new Rng(1)), 'table'), step: 1 });
    await wait(1);
    motion(1); // waits in the slot (window full until the cloud is drawn)
    const b = server.publishLive({ cloud: makeCloud(ropeCloud(10, new Rng(2)), 'table'), step: 2 }); // replaces it
    motion(2); // dropped: the slot holds a cloud
    ack(a);
    await wait(2);
    expect(decodeLiveFrame(frames[1]!).seq).toBe(b);
    ack(b);
    await new Promise((r) => setTimeout(r, 30));
    const m = motion(3);
    await wait(3);
    expect(liveFrameType(frames[2]!)).toBe(MOTION_FRAME_TYPE);
    const f = decodeMotionFrame(frames[2]!);
    expect(f).toMatchObject({ seq: m, stamp: 3, step: 2, n: 200, holding: [true] });
    expect(Array.from(f.tools)).toEqual([0, 0, 3]);
    const after = server.liveStats();
    expect(after.motionPublished - before.motionPublished).toBe(3);
    expect(after.lastMotionBytes).toBe(32 + 201 * 12);
    expect(after.dropped - before.dropped).toBeGreaterThanOrEqual(2); // plus any for the earlier test's paused client
    // A client that subscribes now is shown the latest cloud (with its decision), not a motion frame.
    const c2 = await connect(server.url, tokens.op!);
    const first = new Promise<Buffer>((resolve) => c2.ws.on('message', (d, bin) => bin && resolve(d as Buffer)));
    await c2.request({ op: 'live', subscribe: true });
    const r = await first;
    const rf = decodeLiveFrame(r.buffer.slice(r.byteOffset, r.byteOffset + r.byteLength) as ArrayBuffer);
    expect(rf).toMatchObject({ seq: b, replay: true });
    expect(server.liveWatched()).toBe(true);
    c.close();
    c2.close();
  });
});
